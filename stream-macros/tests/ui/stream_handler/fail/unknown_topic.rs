use streamkit::prelude::*;

#[stream_handler(topics = "paper.signal.raw", group = "risk.signals")]
async fn validate(_ctx: Context) -> Result<(), HandlerError> {
    Ok(())
}

fn main() {}
