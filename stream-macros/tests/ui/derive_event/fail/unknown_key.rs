#[derive(serde::Serialize, serde::Deserialize, stream_macros::Event)]
#[event(typ = "trading_signal", crate = "stream_core")]
struct TradingSignal;

fn main() {}
