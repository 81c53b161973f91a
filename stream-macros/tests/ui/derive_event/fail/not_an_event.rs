#[derive(serde::Serialize, serde::Deserialize)]
struct TradingSignal;

fn main() {
    let broker = stream_topics::Broker::new("paper").unwrap();
    let _ = stream_core::EventEnvelope::new(broker, "svc", TradingSignal);
}
