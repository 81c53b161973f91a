use streamkit::prelude::*;

#[stream_handler(topics = "*.signals.raw", group = "risk.signals")]
fn validate(_ctx: Context) -> Result<(), HandlerError> {
    Ok(())
}

fn main() {}
