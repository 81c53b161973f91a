use streamkit::prelude::*;

#[stream_handler(topics = "*.signals.raw", group = "risk-manager.signals", retry = 0)]
async fn validate(_ctx: Context) -> Result<(), HandlerError> {
    Ok(())
}

#[stream_handler(
    topics = "*.signals.validated",
    group = "trading-engine.signals",
    retry(attempts = 0, backoff_ms = 50)
)]
async fn place(_ctx: Context) -> Result<(), HandlerError> {
    Ok(())
}

fn main() {}
