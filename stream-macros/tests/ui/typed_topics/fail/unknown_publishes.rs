use streamkit::prelude::*;

#[stream_handler(
    topics = "*.signals.raw",
    group = "risk.signals",
    publishes = ["signals.validatd", "binance.signals.validated", "*.orders.fild"]
)]
async fn validate(_ctx: Context) -> Result<(), HandlerError> {
    Ok(())
}

#[stream_handler(topics = "*.signals.raw", group = "risk.other", publishes = [])]
async fn empty(_ctx: Context) -> Result<(), HandlerError> {
    Ok(())
}

fn main() {}
