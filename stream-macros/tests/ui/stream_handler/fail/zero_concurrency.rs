use streamkit::prelude::*;

#[stream_handler(topics = "*.signals.raw", group = "risk-manager.signals", concurrency = 0)]
async fn validate(_ctx: Context) -> Result<(), HandlerError> {
    Ok(())
}

fn main() {}
