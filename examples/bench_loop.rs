//! The hand-written side of the e2e bench's `service` scenario: the plainest at-least-once loop a
//! user would write with rdkafka for the work `bench_service` does. One `StreamConsumer`; batches
//! of up to 1,000 records or 50 ms; serde_json into plain structs; a new envelope per input
//! (`Uuid::now_v7()`, `Utc::now()`) written with `serde_json::to_writer` into a reused buffer;
//! `FutureProducer::send_result` per record; every delivery of the batch awaited, then
//! `commit_consumer_state(Async)`. No dedup, no retries, no dead letters, no health server, no
//! logs.
//!
//! ```sh
//! cargo run --release --example bench_loop -- [--headers] [INPUT_TOPIC] [OUTPUT_TOPIC] [GROUP]
//! ```
//!
//! Defaults: `paper.benchsvc.signals`, `paper.benchloop.checked`, `bench.loop`. It stops on
//! SIGTERM or Ctrl-C between batches, after a synchronous commit. With `--headers` each output
//! also carries the six headers streamkit writes on a caused record (`event_type`, `event_id`,
//! `correlation_id`, `content-type`, `causation_id`, a new `traceparent`): the same record as
//! the service's, so the bench can tell the cost of the wire format from the framework's.

mod bench {
    pub mod signals;
}

use std::time::Duration;

use bench::signals::{BenchSignal, CheckedSignal};
use chrono::{DateTime, Utc};
use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde::{Deserialize, Serialize};
use tokio::signal::unix::{SignalKind, signal};
use uuid::Uuid;

const BATCH: usize = 1_000;
const LINGER: Duration = Duration::from_millis(50);

#[derive(Deserialize)]
#[allow(dead_code)] // read as a user's struct would be; not every field is used
struct InEnvelope {
    id: String,
    correlation_id: String,
    causation_id: Option<String>,
    broker: String,
    event_type: String,
    source: String,
    timestamp: DateTime<Utc>,
    version: u32,
    data: BenchSignal,
}

#[derive(Serialize)]
struct OutEnvelope<'a> {
    id: Uuid,
    correlation_id: &'a str,
    causation_id: &'a str,
    broker: &'a str,
    event_type: &'a str,
    source: &'a str,
    timestamp: DateTime<Utc>,
    version: u32,
    data: CheckedSignal,
}

#[tokio::main]
async fn main() {
    let with_headers = std::env::args().any(|a| a == "--headers");
    let mut args = std::env::args().skip(1).filter(|a| a != "--headers");
    let input = args
        .next()
        .unwrap_or_else(|| "paper.benchsvc.signals".into());
    let output = args
        .next()
        .unwrap_or_else(|| "paper.benchloop.checked".into());
    let group = args.next().unwrap_or_else(|| "bench.loop".into());
    let servers =
        std::env::var("KAFKA_BOOTSTRAP_SERVERS").unwrap_or_else(|_| "127.0.0.1:19092".into());

    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &servers)
        .set("group.id", &group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    consumer.subscribe(&[&input]).expect("subscribe");
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &servers)
        .set("enable.idempotence", "true")
        .create()
        .expect("producer");

    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut buf = Vec::with_capacity(1024);
    let mut deliveries = Vec::with_capacity(BATCH);
    let mut span = 0x9e37_79b9_7f4a_7c15_u64;
    loop {
        let deadline = tokio::time::Instant::now() + LINGER;
        let mut stop = false;
        while deliveries.len() < BATCH {
            let message = tokio::select! {
                m = consumer.recv() => m.expect("consume"),
                _ = tokio::time::sleep_until(deadline) => break,
                _ = term.recv() => { stop = true; break }
                _ = tokio::signal::ctrl_c() => { stop = true; break }
            };
            let input: InEnvelope =
                serde_json::from_slice(message.payload().unwrap_or_default()).expect("envelope");
            let envelope = OutEnvelope {
                id: Uuid::now_v7(),
                correlation_id: &input.correlation_id,
                causation_id: &input.id,
                broker: &input.broker,
                event_type: "checked_signal",
                source: "bench-loop",
                timestamp: Utc::now(),
                version: 1,
                data: CheckedSignal::check(input.data),
            };
            buf.clear();
            serde_json::to_writer(&mut buf, &envelope).expect("encode");
            let mut record = FutureRecord::to(&output)
                .key(envelope.data.strategy_id.as_str())
                .payload(&buf);
            if with_headers {
                record = record.headers(streamkit_headers(&envelope, &mut span));
            }
            match producer.send_result(record) {
                Ok(delivery) => deliveries.push(delivery),
                Err((e, _)) => panic!("send: {e}"),
            }
        }
        let had_records = !deliveries.is_empty();
        for result in futures::future::join_all(deliveries.drain(..)).await {
            result.expect("delivery canceled").expect("delivery");
        }
        if stop {
            let _ = consumer.commit_consumer_state(CommitMode::Sync);
            return;
        }
        if had_records {
            consumer
                .commit_consumer_state(CommitMode::Async)
                .expect("commit");
        }
    }
}

/// The headers streamkit writes on a record caused by another, written by hand: the input
/// carries no `traceparent`, so the trace is the correlation id's, under a new span id.
fn streamkit_headers(envelope: &OutEnvelope<'_>, span: &mut u64) -> OwnedHeaders {
    use std::io::Write as _;
    let mut id = Uuid::encode_buffer();
    let correlation = envelope.correlation_id;
    // A new span id (xorshift: any non-zero 64 bits do).
    *span ^= *span << 13;
    *span ^= *span >> 7;
    *span ^= *span << 17;
    let mut traceparent = [0u8; 55];
    let trace = Uuid::parse_str(correlation).unwrap_or_default();
    write!(&mut traceparent[..], "00-{}-{span:016x}-01", trace.simple()).expect("55 bytes");
    OwnedHeaders::new_with_capacity(7)
        .insert(Header {
            key: "event_type",
            value: Some(envelope.event_type),
        })
        .insert(Header {
            key: "event_id",
            value: Some(&*envelope.id.hyphenated().encode_lower(&mut id)),
        })
        .insert(Header {
            key: "correlation_id",
            value: Some(correlation),
        })
        .insert(Header {
            key: "content-type",
            value: Some("application/json"),
        })
        .insert(Header {
            key: "causation_id",
            value: Some(envelope.causation_id),
        })
        .insert(Header {
            key: "traceparent",
            value: Some(&traceparent[..]),
        })
}
