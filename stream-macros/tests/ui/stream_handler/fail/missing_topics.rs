use streamkit::prelude::*;

#[stream_handler(group = "risk-manager.signals")]
async fn validate(_ctx: Context) -> Result<(), HandlerError> {
    Ok(())
}

fn main() {}
