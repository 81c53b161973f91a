#[derive(serde::Serialize, serde::Deserialize, stream_macros::Event)]
#[event(type = "", crate = "stream_core")]
#[event(type = "trading_signal", crate = "stream_core")]
struct TradingSignal;

fn main() {}
