#[derive(serde::Serialize, serde::Deserialize, stream_macros::Event)]
#[event(type = "trading signal", crate = "stream_core")]
struct TradingSignal;

fn main() {}
