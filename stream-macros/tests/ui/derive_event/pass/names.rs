use serde::{Deserialize, Serialize};
use stream_core::Event;

#[derive(Serialize, Deserialize, stream_macros::Event)]
#[event(crate = "stream_core")]
struct TradingSignal {
    symbol: String,
}

#[derive(Serialize, Deserialize, stream_macros::Event)]
#[event(type = "validated_signal", crate = "stream_core")]
struct RiskChecked;

#[derive(Serialize, Deserialize, stream_macros::Event)]
#[event(crate = "::stream_core")]
#[event(type = "order.placed.v2")]
enum OrderPlaced {
    Market { qty: u64 },
    Limit { qty: u64, price: String },
}

fn main() {
    assert_eq!(TradingSignal::EVENT_TYPE, "trading_signal");
    assert_eq!(RiskChecked::EVENT_TYPE, "validated_signal");
    assert_eq!(OrderPlaced::EVENT_TYPE, "order.placed.v2");
}
