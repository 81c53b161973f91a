use streamkit::prelude::*;

#[stream_handler(topics = "*.signals.raw", group = "a", group = "b", grop = "c", retry = "often")]
async fn validate(_ctx: Context) -> Result<(), HandlerError> {
    Ok(())
}

fn main() {}
