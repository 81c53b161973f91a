use streamkit::prelude::*;

#[derive(serde::Serialize, serde::Deserialize, Event)]
struct TradingSignal {
    qty: rust_decimal::Decimal,
}

#[derive(serde::Serialize, serde::Deserialize, Event)]
struct ValidatedSignal {
    qty: rust_decimal::Decimal,
}

#[derive(serde::Serialize, serde::Deserialize, Event)]
struct OrderFilled {
    qty: rust_decimal::Decimal,
}

#[derive(Clone)]
struct Limits;

streamkit::topics!();

#[stream_handler(topics = "*.signals.raw", group = "risk.signals")]
async fn validate(signal: Envelope<TradingSignal>, ctx: Context) -> Result<(), HandlerError> {
    let out = topics::signals_validated::on(ctx.broker());
    ctx.send(&out, &ValidatedSignal { qty: signal.data.qty }).await?;
    Ok(())
}

#[stream_handler(
    topics = ["paper.signals.validated", "zerodha.signals.validated"],
    group = "engine.signals",
    retry(attempts = 5, backoff_ms = 10, max_backoff_ms = 1000),
    dlq = true,
    dedup = false,
    concurrency = 4,
    order = "none",
    accept = ["manual_signal", "validated_signal_v2"]
)]
async fn place(Data(_s): Data<ValidatedSignal>, _b: Broker, _k: Key, _h: Headers, State(_l): State<Limits>) {}

// A `serde_json::Value` payload reads any event type, so it is not checked against the catalog;
// a raw identifier registers under its name.
#[stream_handler(topics = "*.orders.filled", group = "audit.fills", exactly_once)]
async fn r#match(Envelope(raw): Envelope<serde_json::Value>) -> Result<(), HandlerError> {
    let _ = raw;
    Ok(())
}

// A batch handler: up to 200 fills of one partition at a time.
#[stream_handler(topics = "*.orders.filled", group = "ledger.fills", batch_max = 200, batch_linger_ms = 20)]
async fn insert_fills(fills: Batch<OrderFilled>) -> BatchResult {
    let mut result = BatchResult::all_ok();
    for (i, fill) in fills.iter().enumerate() {
        if fill.data.qty.is_zero() {
            result = result.permanent(i, "a fill of nothing");
        }
    }
    result
}

fn main() {
    assert_eq!(topics::PAPER_SIGNALS_RAW, "paper.signals.raw");
    assert_eq!(topics::signals_raw::EVENT, "trading_signal");
    assert_eq!(topics::BROKERS, &["paper", "zerodha"]);
    let mut names: Vec<&str> = streamkit::service::registry::registered().map(|h| h.name).collect();
    names.sort();
    assert_eq!(names, ["insert_fills", "match", "place", "validate"]);
    let place_spec = streamkit::service::registry::registered().find(|h| h.name == "place").map(|h| (h.make)()).unwrap();
    let reads = place_spec.event_types();
    assert!(reads.allows("validated_signal") && reads.allows("manual_signal"), "{reads}");
    assert!(!reads.allows("trading_signal"), "{reads}");
    let spec = |name: &str| streamkit::service::registry::registered().find(|h| h.name == name).map(|h| (h.make)()).unwrap();
    assert!(spec("match").is_exactly_once());
    assert_eq!(spec("place").concurrency_limit(), 4);
    assert_eq!(spec("validate").concurrency_limit(), 1);
    assert!(spec("insert_fills").is_batch());
    assert!(!spec("place").is_batch());
    let _ = insert_fills;
    assert!(!spec("validate").is_exactly_once());
    // The functions stay callable as written.
    let _ = validate;
    let _ = place;
    let _ = r#match;
}
