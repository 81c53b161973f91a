use streamkit::prelude::*;

#[stream_handler(topics = ["paper.sig*", "*.orders.*.x"], group = "risk.signals")]
async fn validate(_ctx: Context) -> Result<(), HandlerError> {
    Ok(())
}

fn main() {}
