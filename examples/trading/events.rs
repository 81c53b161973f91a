//! The events of the trading pipeline. Prices and quantities are `Decimal`: never floats. Each
//! derives `JsonSchema` too, so the AsyncAPI document and the generated schemas describe its data.

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use streamkit::Event;

/// A synthetic market tick (`<broker>.market.ticks`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Event)]
pub struct MarketTick {
    pub symbol: String,
    pub price: Decimal,
    pub seq: u64,
}

/// What a strategy wants to do (`<broker>.signals.raw`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Event)]
pub struct TradingSignal {
    pub strategy: String,
    pub symbol: String,
    pub side: Side,
    pub quantity: Decimal,
    pub price: Decimal,
}

/// Buy or sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    /// +1 for a buy, -1 for a sell.
    pub fn sign(self) -> Decimal {
        match self {
            Side::Buy => Decimal::ONE,
            Side::Sell => Decimal::NEGATIVE_ONE,
        }
    }
}

/// A signal the risk manager let through (`<broker>.signals.validated`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Event)]
pub struct ValidatedSignal {
    pub signal: TradingSignal,
    pub position_after: Decimal,
}

/// A signal the risk manager stopped (`<broker>.signals.rejected`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Event)]
pub struct RejectedSignal {
    pub signal: TradingSignal,
    pub reason: String,
}

/// An order sent to the (simulated) venue (`<broker>.orders.placed`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Event)]
pub struct OrderPlaced {
    pub order_id: String,
    pub symbol: String,
    pub side: Side,
    pub quantity: Decimal,
    pub limit_price: Decimal,
}

/// A (simulated) execution (`<broker>.orders.filled`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Event)]
pub struct OrderFilled {
    pub order_id: String,
    pub symbol: String,
    pub side: Side,
    pub quantity: Decimal,
    pub fill_price: Decimal,
}

/// Profit and loss of one trading broker after a fill (`<broker>.pnl.snapshots`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Event)]
#[event(type = "pnl_snapshot")]
pub struct PnlSnapshot {
    pub fills: u64,
    /// Cash after every fill: sells add, buys subtract.
    pub cash: Decimal,
    /// Open position per symbol.
    pub positions: std::collections::BTreeMap<String, Decimal>,
    /// Cash plus positions at the last fill price of each symbol.
    pub pnl: Decimal,
}
