//! The trading pipeline example end to end on the real broker, for both trading brokers: the
//! summary's numbers are checked against what is in the topics. Fills never exceed validated
//! signals, P&L matches the fills, every fill's correlation id leads back to a tick.

#[allow(dead_code)]
#[path = "../../examples/trading/mod.rs"]
mod trading;

use std::collections::HashMap;

use stream_core::kafka::dev_cluster::DevCluster;
use stream_core::testing;
use trading::pipeline::BROKERS;
use trading::summary::same_money;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_runs_end_to_end_for_both_brokers() {
    testing::bootstrap_servers(); // a real broker, never the mock cluster, for this test
    let cluster = DevCluster::from_env().unwrap();
    assert!(!cluster.is_mock());
    let outcome = trading::pipeline::run(&cluster, 120, false).await.unwrap();
    let s = &outcome.summary;
    assert_eq!(outcome.ticks, 2 * 120);

    for broker in BROKERS {
        let n = |name: &str| s.events(&format!("{broker}.{name}")).len();
        assert_eq!(n("market.ticks"), 120, "{broker} ticks");
        assert!(
            n("signals.raw") > 0,
            "{broker}: the strategy produced no signal"
        );
        assert_eq!(
            n("signals.validated") + n("signals.rejected"),
            n("signals.raw"),
            "{broker}: every signal is validated or rejected"
        );
        assert!(
            n("signals.rejected") > 0,
            "{broker}: the position limit never bit"
        );
        assert_eq!(n("orders.placed"), n("signals.validated"), "{broker}");
        assert!(
            n("orders.filled") <= n("signals.validated"),
            "{broker}: more fills than validated signals"
        );
        assert_eq!(
            n("orders.filled"),
            n("orders.placed"),
            "{broker}: every order filled"
        );
        assert_eq!(n("pnl.snapshots"), n("orders.filled"), "{broker}");

        // P&L: the portfolio's book, the last snapshot, and the fills in the topic agree.
        let from_fills = s.book_from_fills(broker);
        let kept = outcome
            .books
            .0
            .lock()
            .unwrap()
            .get(broker)
            .cloned()
            .unwrap_or_default();
        assert_eq!(kept.fills, from_fills.fills);
        assert!(
            same_money(kept.pnl(), from_fills.pnl()),
            "{broker}: {} vs {}",
            kept.pnl(),
            from_fills.pnl()
        );
        assert_eq!(kept.positions, from_fills.positions);
        let last = s.last_snapshot(broker).expect("a snapshot");
        assert!(same_money(last.pnl, from_fills.pnl()));
        assert_eq!(last.fills, from_fills.fills);

        // Every fill leads back to a tick of the same broker through its causes.
        let by_id: HashMap<_, _> = s
            .per_topic
            .iter()
            .filter(|(t, _)| t.starts_with(&format!("{broker}.")))
            .flat_map(|(t, es)| es.iter().map(move |e| (e.id, (t.as_str(), e))))
            .collect();
        for fill in s.events(&format!("{broker}.orders.filled")) {
            let mut hops = vec!["orders.filled"];
            let mut cursor = fill.causation_id;
            let mut last = fill;
            while let Some(id) = cursor {
                let (topic, e) = by_id
                    .get(&id)
                    .unwrap_or_else(|| panic!("{broker}: broken chain at {id}"));
                hops.push(topic.split_once('.').unwrap().1);
                assert_eq!(
                    e.correlation_id, fill.correlation_id,
                    "correlation changed along the chain"
                );
                assert_eq!(e.broker.as_str(), broker);
                cursor = e.causation_id;
                last = e;
            }
            assert_eq!(
                last.id, fill.correlation_id,
                "the chain does not end at its tick"
            );
            assert_eq!(
                hops,
                [
                    "orders.filled",
                    "orders.placed",
                    "signals.validated",
                    "signals.raw",
                    "market.ticks"
                ]
            );
        }
    }
    for (group, r) in &outcome.report.groups {
        assert_eq!(r.stats.dead_lettered, 0, "{group}");
        assert!(r.unfinished.is_empty(), "{group}");
    }
}
