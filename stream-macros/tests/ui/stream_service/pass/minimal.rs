use streamkit::prelude::*;

#[stream_handler(topics = "*.signals.raw", group = "risk.signals")]
async fn validate(_ctx: Context) -> Result<(), HandlerError> {
    Ok(())
}

// The exact minimal form.
#[streamkit::stream_service(name = "risk-manager")]
async fn main() -> streamkit::Result<()> {
    Ok(())
}
