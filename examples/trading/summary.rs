//! The end-of-run summary, computed from what is really in the topics (this run's events only:
//! those whose correlation id is one of this run's ticks).

use std::collections::{BTreeMap, HashMap, HashSet};

use rdkafka::Message;
use rust_decimal::Decimal;
use streamkit::envelope::codec::RawEnvelope;
use streamkit::kafka::config::KafkaConfig;
use uuid::Uuid;

use super::events::{OrderFilled, PnlSnapshot};
use super::portfolio::Book;

/// The pipeline's topics, without the broker prefix, in flow order.
pub const FLOW: [&str; 7] = [
    "market.ticks",
    "signals.raw",
    "signals.validated",
    "signals.rejected",
    "orders.placed",
    "orders.filled",
    "pnl.snapshots",
];

/// Every event of this run, per topic.
#[derive(Debug, Default)]
pub struct Summary {
    /// Events per full topic name.
    pub per_topic: BTreeMap<String, Vec<RawEnvelope>>,
}

impl Summary {
    /// Reads every topic of `brokers` and keeps the events of this run.
    pub async fn read(config: &KafkaConfig, brokers: &[&str], ticks: &HashSet<Uuid>) -> Self {
        let mut per_topic = BTreeMap::new();
        for broker in brokers {
            for name in FLOW {
                let topic = format!("{broker}.{name}");
                let records = streamkit::testing::read_all_from(config, &topic).await;
                let events: Vec<RawEnvelope> = records
                    .iter()
                    .filter_map(|r| RawEnvelope::decode(r.payload()?).ok())
                    .filter(|e| ticks.contains(&e.correlation_id))
                    .collect();
                per_topic.insert(topic, events);
            }
        }
        Summary { per_topic }
    }

    /// The events of one topic.
    pub fn events(&self, topic: &str) -> &[RawEnvelope] {
        self.per_topic
            .get(topic)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The book of `broker` rebuilt from its fills in the topic.
    pub fn book_from_fills(&self, broker: &str) -> Book {
        let mut book = Book::default();
        let mut fills: Vec<OrderFilled> = self
            .events(&format!("{broker}.orders.filled"))
            .iter()
            .filter_map(|e| e.to_typed::<OrderFilled>().ok().map(|e| e.data))
            .collect();
        // Per-symbol order is what matters for the last price; the topic keeps it per key.
        fills.sort_by(|a, b| a.symbol.cmp(&b.symbol));
        for f in fills {
            book.fills += 1;
            book.cash -= f.side.sign() * f.quantity * f.fill_price;
            *book.positions.entry(f.symbol.clone()).or_default() += f.side.sign() * f.quantity;
            book.last_price.insert(f.symbol.clone(), f.fill_price);
        }
        book
    }

    /// The latest P&L snapshot of `broker` (the one with the most fills).
    pub fn last_snapshot(&self, broker: &str) -> Option<PnlSnapshot> {
        self.events(&format!("{broker}.pnl.snapshots"))
            .iter()
            .filter_map(|e| e.to_typed::<PnlSnapshot>().ok().map(|e| e.data))
            .max_by_key(|s| s.fills)
    }

    /// The chain of events from one fill back to its tick: (topic, event) from tick to fill.
    pub fn chain_of_first_fill(&self, broker: &str) -> Vec<(String, RawEnvelope)> {
        let by_id: HashMap<Uuid, (String, &RawEnvelope)> = self
            .per_topic
            .iter()
            .flat_map(|(t, es)| es.iter().map(move |e| (e.id, (t.clone(), e))))
            .collect();
        let Some(fill) = self.events(&format!("{broker}.orders.filled")).first() else {
            return Vec::new();
        };
        let mut chain = vec![(format!("{broker}.orders.filled"), fill.clone())];
        let mut cursor = fill.causation_id;
        while let Some(id) = cursor {
            let Some((topic, e)) = by_id.get(&id) else {
                break;
            };
            chain.push((topic.clone(), (*e).clone()));
            cursor = e.causation_id;
        }
        chain.reverse();
        chain
    }

    /// Prints the summary.
    pub fn print(&self, brokers: &[&str]) {
        println!("\n== events per topic (this run)");
        for broker in brokers {
            for name in FLOW {
                let t = format!("{broker}.{name}");
                println!("  {t:<28} {:>6}", self.events(&t).len());
            }
        }
        println!("\n== per broker");
        for broker in brokers {
            let book = self.book_from_fills(broker);
            let rejected = self.events(&format!("{broker}.signals.rejected")).len();
            let positions: Vec<String> = book
                .positions
                .iter()
                .map(|(s, q)| format!("{s} {q}"))
                .collect();
            println!(
                "  {broker:<8} rejected signals {rejected:>4}   fills {:>4}   P&L {:>12}   positions: {}",
                book.fills,
                book.pnl().round_dp(2),
                positions.join(", ")
            );
        }
        for broker in brokers.iter().take(1) {
            println!("\n== correlation chain of one {broker} order, tick to fill");
            for (topic, e) in self.chain_of_first_fill(broker) {
                println!(
                    "  {:<28} {} {:<17} correlation {} caused by {}",
                    topic,
                    e.id,
                    e.event_type.as_str(),
                    e.correlation_id,
                    e.causation_id
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "-".into())
                );
            }
        }
    }
}

/// Whether two P&L figures agree to the cent.
pub fn same_money(a: Decimal, b: Decimal) -> bool {
    a.round_dp(2) == b.round_dp(2)
}
