use streamkit::prelude::*;

#[stream_handler(topics = "*.signals.raw")]
async fn validate(_ctx: Context) -> Result<(), HandlerError> {
    Ok(())
}

fn main() {}
