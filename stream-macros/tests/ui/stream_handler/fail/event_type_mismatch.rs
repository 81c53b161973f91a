use streamkit::prelude::*;

#[derive(serde::Serialize, serde::Deserialize, Event)]
struct OrderFilled {
    qty: u32,
}

#[stream_handler(topics = "*.signals.raw", group = "risk.signals")]
async fn validate(fill: Envelope<OrderFilled>) -> Result<(), HandlerError> {
    let _ = fill;
    Ok(())
}

fn main() {}
