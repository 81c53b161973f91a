//! Headers any producer can write, read by the consumer without trouble: a header name that is
//! not UTF-8 (rdkafka's own header reader panics on one) is read lossily, on the handler's path
//! and on the dead-letter path, and the partition keeps going.

use std::ffi::c_void;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::message::{Headers as _, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message};
use serde::{Deserialize, Serialize};
use stream_core::consumer::MessageConsumer;
use stream_core::envelope::codec;
use stream_core::handler::{HandlerError, Incoming};
use stream_core::reliability::dlq::dlq_topic;
use stream_core::{Event, EventEnvelope, testing};

/// The headers a handler saw, as owned pairs.
type Headers = Vec<(String, Vec<u8>)>;

#[derive(Debug, Serialize, Deserialize)]
struct Tick {
    seq: u64,
}

impl Event for Tick {
    const EVENT_TYPE: &'static str = "market_tick";
}

/// Headers with one named `tr\xffce` (not UTF-8), which rdkafka's `OwnedHeaders::insert` cannot
/// write: added through librdkafka's C API.
fn odd_headers() -> OwnedHeaders {
    let headers = OwnedHeaders::new_with_capacity(1);
    let name = b"tr\xffce";
    let value = b"x";
    // rdkafka's `BorrowedHeaders` is the native list pointer itself.
    let list = headers.as_borrowed() as *const _ as *mut rdkafka::bindings::rd_kafka_headers_t;
    // SAFETY: `list` is the live header list owned by `headers`; name and value are copied.
    let err = unsafe {
        rdkafka::bindings::rd_kafka_header_add(
            list,
            name.as_ptr().cast(),
            name.len() as isize,
            value.as_ptr().cast::<c_void>(),
            value.len() as isize,
        )
    };
    assert_eq!(
        err,
        rdkafka::bindings::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR
    );
    headers
}

/// A consumer of `topic` in a new group, and the group.
fn consumer_of(topic: &str) -> (MessageConsumer, String) {
    let group = testing::unique_name("headers");
    let consumer = MessageConsumer::new(&testing::kafka_config(), &[topic], &group)
        .unwrap()
        .service("headers-test");
    (consumer, group)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_name_that_is_not_utf8_is_read_lossily_everywhere() {
    let topic = testing::unique_topic("paper", "headers", "ticks");
    testing::create_topic(&topic, 1).await;
    let raw: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", testing::bootstrap_servers())
        .create()
        .unwrap();
    let env = EventEnvelope::new(
        stream_core::Broker::new("paper").unwrap(),
        "headers-test",
        Tick { seq: 1 },
    );
    let good = codec::encode(&env).unwrap();
    for value in [&good[..], b"not an envelope"] {
        let record = FutureRecord::to(&topic)
            .key("k")
            .payload(value)
            .headers(odd_headers());
        raw.send(record, Duration::from_secs(10)).await.unwrap();
    }

    let seen: Arc<Mutex<Headers>> = Arc::default();
    let (consumer, group) = consumer_of(&topic);
    let stats = consumer.stats();
    let stop = consumer.shutdown_handle();
    let s = Arc::clone(&seen);
    let run = tokio::spawn(consumer.run(move |msg: Arc<Incoming>| {
        let seen = Arc::clone(&s);
        async move {
            assert_eq!(msg.typed::<Tick>()?.data.seq, 1);
            seen.lock().unwrap().extend(msg.record.headers().to_vec());
            Ok::<(), HandlerError>(())
        }
    }));
    testing::wait_until(Duration::from_secs(60), "both records finished", || {
        let s = stats.snapshot();
        async move { s.handled + s.dead_lettered >= 2 }
    })
    .await;
    stop.shutdown();
    let report = run.await.unwrap().unwrap();

    let lossy = "tr\u{FFFD}ce".to_owned();
    assert_eq!(*seen.lock().unwrap(), [(lossy.clone(), b"x".to_vec())]);
    assert_eq!((report.stats.handled, report.stats.dead_lettered), (1, 1));
    // The undecodable record's dead letter carries its headers, the odd name read lossily.
    let dead = testing::read_all(&dlq_topic(&topic)).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].payload(), Some(&b"not an envelope"[..]));
    let headers = dead[0].headers().expect("headers");
    let odd = headers
        .iter()
        .find(|h| h.key == lossy)
        .expect("the odd header");
    assert_eq!(odd.value, Some(&b"x"[..]));
    let committed = testing::committed_offsets(&group, &topic).await;
    assert_eq!(
        committed.get(&0).copied().flatten(),
        Some(2),
        "both committed"
    );
}

/// What a handler saw of one record: its sequence number, headers and trace id.
type Seen = Vec<(u64, Headers, String)>;

/// Records with and without headers, written plainly and lz4-compressed (the consumer reads
/// values from the decompressed batch then): each handler sees exactly the headers its record
/// carries, and a `traceparent` among them continues its trace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_with_and_without_headers_read_as_written() {
    let topic = testing::unique_topic("paper", "headers", "mixed");
    testing::create_topic(&topic, 1).await;
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let traceparent = format!("00-{trace}-00f067aa0ba902b7-01");
    let mut seq = 0;
    for compression in ["none", "lz4"] {
        let raw: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", testing::bootstrap_servers())
            .set("compression.type", compression)
            .create()
            .unwrap();
        for with_headers in [false, true, false] {
            seq += 1;
            let env = EventEnvelope::new(
                stream_core::Broker::new("paper").unwrap(),
                "headers-test",
                Tick { seq },
            );
            let value = codec::encode(&env).unwrap();
            let mut record = FutureRecord::to(&topic).key("k").payload(&value);
            if with_headers {
                let headers = OwnedHeaders::new()
                    .insert(rdkafka::message::Header {
                        key: "traceparent",
                        value: Some(&traceparent),
                    })
                    .insert(rdkafka::message::Header {
                        key: "origin",
                        value: Some("python"),
                    });
                record = record.headers(headers);
            }
            raw.send(record, Duration::from_secs(10)).await.unwrap();
        }
        // An empty value (dead-lettered: not an envelope), with a header and without.
        for (key, headers) in [
            (
                "empty-with",
                Some(OwnedHeaders::new().insert(rdkafka::message::Header {
                    key: "origin",
                    value: Some("python"),
                })),
            ),
            ("empty-without", None),
        ] {
            let mut record = FutureRecord::to(&topic).key(key).payload(&b""[..]);
            if let Some(headers) = headers {
                record = record.headers(headers);
            }
            raw.send(record, Duration::from_secs(10)).await.unwrap();
        }
    }

    let seen: Arc<Mutex<Seen>> = Arc::default();
    let (consumer, _) = consumer_of(&topic);
    let stats = consumer.stats();
    let stop = consumer.shutdown_handle();
    let s = Arc::clone(&seen);
    let run = tokio::spawn(consumer.run(move |msg: Arc<Incoming>| {
        let seen = Arc::clone(&s);
        async move {
            let seq = msg.typed::<Tick>()?.data.seq;
            let trace = msg.trace().parent.trace_id_hex();
            let headers = msg.record.headers().to_vec();
            seen.lock().unwrap().push((seq, headers, trace));
            Ok::<(), HandlerError>(())
        }
    }));
    testing::wait_until(Duration::from_secs(60), "every record finished", || {
        let s = stats.snapshot();
        async move { s.handled >= 6 && s.dead_lettered >= 4 }
    })
    .await;
    stop.shutdown();
    run.await.unwrap().unwrap();

    // The dead letters of the empty values carry exactly their records' headers.
    let dead = testing::read_all(&dlq_topic(&topic)).await;
    assert_eq!(dead.len(), 4);
    for letter in &dead {
        let key = String::from_utf8_lossy(letter.key().unwrap()).into_owned();
        let origin = letter
            .headers()
            .and_then(|h| h.iter().find(|h| h.key == "origin").and_then(|h| h.value))
            .map(<[u8]>::to_vec);
        let expected = (key == "empty-with").then(|| b"python".to_vec());
        assert_eq!(origin, expected, "{key}");
    }

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 6);
    for (seq, headers, trace_id) in seen.iter() {
        if seq % 3 == 2 {
            let expected = [
                ("traceparent".to_owned(), traceparent.as_bytes().to_vec()),
                ("origin".to_owned(), b"python".to_vec()),
            ];
            assert_eq!(headers[..], expected, "record {seq}");
            assert_eq!(trace_id, trace, "record {seq} continues its trace");
        } else {
            assert!(
                headers.is_empty(),
                "record {seq} has no headers: {headers:?}"
            );
            assert_ne!(trace_id, trace, "record {seq}");
        }
    }
}
