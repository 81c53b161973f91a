use streamkit::prelude::*;

#[derive(serde::Serialize, serde::Deserialize, Event)]
struct OrderFilled {
    qty: u32,
}

// Batch settings without a `Batch<T>`.
#[stream_handler(topics = "*.orders.filled", group = "ledger.a", batch_max = 100)]
async fn a(_ctx: Context) -> Result<(), HandlerError> {
    Ok(())
}

// No batch of nothing.
#[stream_handler(topics = "*.orders.filled", group = "ledger.b", batch_max = 0)]
async fn b(_fills: Batch<OrderFilled>) {}

// The batch alone.
#[stream_handler(topics = "*.orders.filled", group = "ledger.c")]
async fn c(_fills: Batch<OrderFilled>, _ctx: Context) {}

// Batches of a partition run one at a time.
#[stream_handler(topics = "*.orders.filled", group = "ledger.d", concurrency = 4)]
async fn d(_fills: Batch<OrderFilled>) {}

// Not a number.
#[stream_handler(topics = "*.orders.filled", group = "ledger.e", batch_linger_ms = "50")]
async fn e(_fills: Batch<OrderFilled>) {}

fn main() {}
