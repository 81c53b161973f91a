//! Portfolio: P&L per trading broker from the fills.
//! `*.orders.filled` → `<broker>.pnl.snapshots`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use rust_decimal::Decimal;
use streamkit::prelude::*;

use super::events::{OrderFilled, PnlSnapshot};

/// The book of one broker.
#[derive(Debug, Clone, Default)]
pub struct Book {
    pub fills: u64,
    pub cash: Decimal,
    pub positions: BTreeMap<String, Decimal>,
    pub last_price: BTreeMap<String, Decimal>,
}

impl Book {
    /// Cash plus open positions marked at their last fill price.
    pub fn pnl(&self) -> Decimal {
        self.cash
            + self
                .positions
                .iter()
                .map(|(sym, qty)| *qty * self.last_price.get(sym).copied().unwrap_or_default())
                .sum::<Decimal>()
    }
}

/// Books per broker, shared by every partition.
#[derive(Clone, Default)]
pub struct Books(pub Arc<Mutex<HashMap<String, Book>>>);

// The catalog's topics as typed publish targets (`topics::signals_validated::on(broker)`).
streamkit::topics!();

#[stream_handler(
    topics = "*.orders.filled",
    group = "portfolio.fills",
    publishes = "pnl.snapshots"
)]
pub async fn book_fill(
    Envelope(fill): Envelope<OrderFilled>,
    ctx: Context,
    State(books): State<Books>,
) -> Result<(), HandlerError> {
    let f = &fill.data;
    let snapshot = {
        let mut books = books.0.lock().unwrap();
        let book = books.entry(ctx.broker().to_string()).or_default();
        book.fills += 1;
        book.cash -= f.side.sign() * f.quantity * f.fill_price;
        *book.positions.entry(f.symbol.clone()).or_default() += f.side.sign() * f.quantity;
        book.last_price.insert(f.symbol.clone(), f.fill_price);
        PnlSnapshot {
            fills: book.fills,
            cash: book.cash,
            positions: book.positions.clone(),
            pnl: book.pnl(),
        }
    };
    let out = topics::pnl_snapshots::on(ctx.broker());
    ctx.publish_keyed(&out, ctx.broker().as_str(), &snapshot)
        .await?;
    Ok(())
}
