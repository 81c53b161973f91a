use streamkit::prelude::*;

#[stream_handler(topics = "*.signals.raw", group = "risk.signals")]
async fn validate(ctx: Context, limit: u32) -> Result<(), HandlerError> {
    let _ = (ctx, limit);
    Ok(())
}

fn main() {}
