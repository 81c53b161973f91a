//! The payloads of the bench's service scenario, shared by `bench_service` and `bench_loop`: a
//! signal as a Python strategy writes it (pydantic: ids as strings, a `datetime`, a `Decimal` as a
//! string) and the checked signal written for each one.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The largest quantity the risk check lets through.
pub const QUANTITY_LIMIT: u32 = 900;

/// A strategy's signal (`<broker>.benchsvc.signals`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchSignal {
    pub strategy_id: String,
    pub symbol: String,
    pub side: String,
    pub quantity: u32,
    pub price: Decimal,
    pub generated_at: DateTime<Utc>,
}

/// The risk check's verdict on a signal (`<broker>.benchsvc.checked`): one per input.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckedSignal {
    pub strategy_id: String,
    pub symbol: String,
    pub side: String,
    pub quantity: u32,
    pub price: Decimal,
    pub generated_at: DateTime<Utc>,
    pub accepted: bool,
}

impl CheckedSignal {
    /// The verdict: accepted unless the quantity is over [`QUANTITY_LIMIT`] or the price is not
    /// positive.
    pub fn check(s: BenchSignal) -> Self {
        let accepted = s.quantity <= QUANTITY_LIMIT && s.price > Decimal::ZERO;
        Self {
            strategy_id: s.strategy_id,
            symbol: s.symbol,
            side: s.side,
            quantity: s.quantity,
            price: s.price,
            generated_at: s.generated_at,
            accepted,
        }
    }
}
