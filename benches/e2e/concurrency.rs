//! Scenarios 6 and 7 of the e2e bench: concurrency inside a partition, and batch handlers.
//!
//! 6. `io`: a handler that awaits 1 ms (an I/O stand-in: a venue's REST call, a database write)
//!    on 6 partitions, with `concurrency` 1, 8 and 64 in key order. The input has 1,024 keys, so
//!    64 records of one partition rarely share a key. One at a time, a partition moves at one
//!    record per await; throughput should grow about N-fold until the CPU or the broker is the
//!    limit. Raw rdkafka has no equivalent short of writing the scheduler by hand (per-key
//!    queues, out-of-order completions, a contiguous commit watermark): the line reports the
//!    ideal instead, `N × 6 × 1,000 msg/s`. `--io-queue N` sets the consumer's
//!    `partition_queue` (default 1,024).
//! 7. `batch`: the same 1 ms of work done once per record (a handler of one record, one at a
//!    time per partition) against once per batch (a `Batch<T>` handler, up to 500 records,
//!    50 ms linger), and a raw `BaseConsumer` doing the batch by hand: poll up to 500 records
//!    or 50 ms, decode each, sleep 1 ms, store the offsets, commit every 500 ms.

use std::sync::Arc;

use streamkit::consumer::{BatchOptions, ConsumerOptions, Order};
use streamkit::handler::{Batch, BatchResult, EventTypes, Incoming, TypedBatch};

use super::{
    Figure, KafkaConfig, MessageConsumer, MessageProducer, PARTITIONS, PlainEnvelope, Progress,
    TradingSignal, raw_consumer_config, signal, testing,
};
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use std::time::{Duration, Instant};

/// The concurrency levels of the `io` scenario.
pub(super) const LEVELS: [usize; 3] = [1, 8, 64];
/// Distinct keys of the `io` and `batch` inputs.
const IO_KEYS: usize = 1_024;
/// What the handler awaits per call.
const WORK: Duration = Duration::from_millis(1);

/// `n` signals on `topic` with `IO_KEYS` keys.
pub(super) async fn preproduce_keyed(kafka: &KafkaConfig, topic: &str, n: usize) {
    let producer = MessageProducer::new(kafka, "bench-upstream").expect("producer");
    let mut pending = Vec::with_capacity(n);
    for i in 0..n {
        let key = format!("account-{}", i % IO_KEYS);
        pending.push(
            producer
                .enqueue(topic, &key, &signal(i))
                .await
                .expect("enqueue"),
        );
    }
    for p in pending {
        p.await.expect("pre-produce delivery");
    }
}

/// `n` records through a handler awaiting `WORK`, `concurrency` of a partition at once, with
/// `queue` records queued per partition (`ConsumerOptions::partition_queue`).
pub(super) async fn io_streamkit(
    kafka: &KafkaConfig,
    topic: &str,
    n: usize,
    concurrency: usize,
    queue: usize,
) -> Figure {
    let progress = Progress::new(n);
    let options = ConsumerOptions {
        service: "bench-io".into(),
        partition_queue: queue,
        ..ConsumerOptions::default()
    };
    let consumer = MessageConsumer::new(kafka, &[topic], &testing::unique_name("bench-io"))
        .expect("consumer")
        .options(options)
        .concurrency(concurrency, Order::Key);
    let stop = consumer.shutdown_handle();
    let p = Arc::clone(&progress);
    let running = tokio::spawn(consumer.run(move |msg: Arc<Incoming>| {
        let progress = Arc::clone(&p);
        async move {
            progress.arrived();
            let signal = msg.typed::<TradingSignal>()?;
            std::hint::black_box(&signal.data);
            tokio::time::sleep(WORK).await;
            progress.finished();
            Ok::<(), streamkit::handler::HandlerError>(())
        }
    }));
    progress.wait("streamkit io").await;
    stop.shutdown();
    let report = running.await.expect("consumer task").expect("consumer run");
    assert!(report.stats.handled >= n as u64, "{:?}", report.stats);
    progress.figure()
}

/// `n` records, the work done once per batch.
pub(super) async fn batch_streamkit(kafka: &KafkaConfig, topic: &str, n: usize) -> Figure {
    let progress = Progress::new(n);
    let consumer = MessageConsumer::new(kafka, &[topic], &testing::unique_name("bench-batch"))
        .expect("consumer")
        .service("bench-batch");
    let stop = consumer.shutdown_handle();
    let p = Arc::clone(&progress);
    let handler = move |signals: Batch<TradingSignal>| {
        let progress = Arc::clone(&p);
        async move {
            progress.arrived();
            for s in signals.iter() {
                std::hint::black_box(&s.data);
            }
            tokio::time::sleep(WORK).await;
            for _ in 0..signals.len() {
                progress.finished();
            }
            BatchResult::all_ok()
        }
    };
    let handler = TypedBatch::new(handler, &EventTypes::only(["trading_signal"]));
    let running = tokio::spawn(consumer.run_batch(handler, BatchOptions::default()));
    progress.wait("streamkit batch").await;
    stop.shutdown();
    let report = running.await.expect("consumer task").expect("consumer run");
    assert!(report.stats.handled >= n as u64, "{:?}", report.stats);
    progress.figure()
}

/// The batch by hand on raw rdkafka: up to 500 records or 50 ms, decode each, the work once,
/// store the offsets, an async commit every 500 ms.
pub(super) fn batch_raw(servers: &str, topic: &str, n: usize) -> Figure {
    let progress = Progress::new(n);
    let consumer: BaseConsumer = raw_consumer_config(servers, &testing::unique_name("bench-rawb"))
        .create()
        .expect("raw consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let mut last_commit = Instant::now();
    let mut count = 0;
    while count < n {
        if last_commit.elapsed() >= Duration::from_millis(500) {
            let _ = consumer.commit_consumer_state(CommitMode::Async);
            last_commit = Instant::now();
        }
        let mut batch = Vec::with_capacity(500);
        let deadline = Instant::now() + Duration::from_millis(50);
        while batch.len() < 500 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() && !batch.is_empty() {
                break;
            }
            match consumer.poll(left.max(Duration::from_millis(1))) {
                None if !batch.is_empty() => break,
                None => continue,
                Some(Err(e)) => panic!("raw batch consume: {e}"),
                Some(Ok(m)) => batch.push(m),
            }
        }
        progress.arrived();
        for m in &batch {
            let env: PlainEnvelope<TradingSignal> =
                serde_json::from_slice(m.payload().unwrap_or_default()).expect("decode");
            std::hint::black_box(&env.data);
        }
        std::thread::sleep(WORK);
        for m in &batch {
            consumer.store_offset_from_message(m).expect("store offset");
            count += 1;
            progress.finished();
        }
    }
    let _ = consumer.commit_consumer_state(CommitMode::Sync);
    consumer.unsubscribe();
    progress.figure()
}

/// The ideal rate of `concurrency` records in flight per partition, each taking `WORK`.
pub(super) fn ideal(concurrency: usize) -> f64 {
    concurrency as f64 * PARTITIONS as f64 / WORK.as_secs_f64()
}
