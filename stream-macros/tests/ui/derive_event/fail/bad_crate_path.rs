#[derive(serde::Serialize, serde::Deserialize, stream_macros::Event)]
#[event(crate = "stream core")]
struct TradingSignal;

fn main() {}
