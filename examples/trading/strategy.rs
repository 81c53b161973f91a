//! Strategy: turns ticks into signals. Momentum on each symbol: a rise buys, a fall sells.
//! Subscribes to every broker's ticks (`*.market.ticks`) and answers on the same broker.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rust_decimal::Decimal;
use streamkit::prelude::*;

use super::events::{MarketTick, Side, TradingSignal};

/// The last price seen per (broker, symbol), shared by every partition.
#[derive(Clone, Default)]
pub struct LastPrices(Arc<Mutex<HashMap<(String, String), Decimal>>>);

// The catalog's topics as typed publish targets (`topics::signals_validated::on(broker)`).
streamkit::topics!();

/// `*.market.ticks` → `<broker>.signals.raw`.
#[stream_handler(
    topics = "*.market.ticks",
    group = "strategy.ticks",
    publishes = "signals.raw"
)]
pub async fn momentum(
    Envelope(tick): Envelope<MarketTick>,
    ctx: Context,
    State(last): State<LastPrices>,
) -> Result<(), HandlerError> {
    let key = (ctx.broker().to_string(), tick.data.symbol.clone());
    let previous = last.0.lock().unwrap().insert(key, tick.data.price);
    let Some(previous) = previous else {
        return Ok(());
    };
    if previous == tick.data.price {
        return Ok(());
    }
    let side = if tick.data.price > previous {
        Side::Buy
    } else {
        Side::Sell
    };
    // Size grows with the tick number, so some signals exceed the risk limit.
    let quantity = Decimal::from(10 * (1 + tick.data.seq % 60));
    let signal = TradingSignal {
        strategy: "momentum".into(),
        symbol: tick.data.symbol.clone(),
        side,
        quantity,
        price: tick.data.price,
    };
    let out = topics::signals_raw::on(ctx.broker());
    ctx.publish_keyed(&out, &tick.data.symbol, &signal).await?;
    Ok(())
}
