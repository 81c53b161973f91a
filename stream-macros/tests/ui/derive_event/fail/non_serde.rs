// An event must be serializable: the derive on a type without serde says so at the type.
#[derive(streamkit::Event)]
struct TradingSignal {
    qty: u32,
}

fn main() {}
