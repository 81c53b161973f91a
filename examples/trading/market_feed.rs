//! Market feed: synthetic ticks for each trading broker (`<broker>.market.ticks`).
//!
//! Not a handler: a producer loop. Prices follow a deterministic zig-zag per symbol so the run
//! is the same every time; each broker gets its own prices.

use rust_decimal::Decimal;
use streamkit::kafka::producer::MessageProducer;
use uuid::Uuid;

use super::events::MarketTick;

/// The symbols traded, with their starting prices in paise-free rupees.
pub const SYMBOLS: [(&str, i64); 3] = [("RELIANCE", 245_055), ("TCS", 390_010), ("INFY", 150_025)];

/// The price of `symbol` at tick `seq` on `broker`: a zig-zag of ±0.05..0.35 around the start.
pub fn price(broker_index: usize, symbol_index: usize, seq: u64) -> Decimal {
    let base = SYMBOLS[symbol_index].1 + broker_index as i64 * 100;
    let wave = [0i64, 5, 15, 35, 20, 10, 25, 30, 5, -10, -25, -5];
    let step = wave[((seq as usize) + symbol_index * 3 + broker_index * 5) % wave.len()];
    Decimal::new(base + step, 2)
}

/// Publishes `ticks` ticks per broker, round-robin over symbols and brokers, and returns the ids
/// of the ticks (every event downstream carries one of them as its correlation id). `progress`
/// is called after each tick with (broker, ticks sent for it).
pub async fn run(
    producer: &MessageProducer,
    brokers: &[&str],
    ticks: u64,
    mut progress: impl FnMut(&str, u64),
) -> streamkit::Result<Vec<Uuid>> {
    let mut ids = Vec::new();
    let mut pending = Vec::new();
    for seq in 0..ticks {
        for (bi, broker) in brokers.iter().enumerate() {
            let si = (seq % SYMBOLS.len() as u64) as usize;
            let tick = MarketTick {
                symbol: SYMBOLS[si].0.to_owned(),
                price: price(bi, si, seq),
                seq,
            };
            let topic = format!("{broker}.market.ticks");
            pending.push(producer.enqueue(&topic, &tick.symbol, &tick).await?);
            progress(broker, seq + 1);
        }
        if pending.len() >= 64 {
            for p in pending.drain(..) {
                ids.push(p.await?);
            }
        }
    }
    for p in pending {
        ids.push(p.await?);
    }
    Ok(ids)
}
