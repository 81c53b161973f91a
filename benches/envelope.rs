//! Envelope codec and event-id benchmarks; the figures and what they mean are in
//! `docs/benchmarks.md`.
//!
//! Run: `cargo bench --bench envelope -- --warm-up-time 1 --measurement-time 3`
//!
//! The last line it prints is the envelope pair against the bare payload's, measured interleaved
//! (see [`interleaved_pairs`]):
//! `bench envelope_pair envelope_ns=<n> bare_ns=<n> ratio=<r> envelope_pairs_per_s_per_core=<n>`.
//!
//! Three codecs on the same trading signal, in one run so the ratios hold on any machine:
//! - `bare_payload`: plain serde_json on the payload struct alone (~70 bytes), the yardstick the
//!   target is stated against;
//! - `plain_mirror`: plain serde_json on a struct with the envelope's fields and default serde
//!   impls (uuid, chrono), giving the same ~320 bytes: what the envelope costs with no codec rules;
//! - `envelope`: `stream_core::envelope::codec`, with its timestamp, Decimal and error rules.
//!
//! And event-id generation: [`new_event_id`] (thread-local UUIDv7 context), `Uuid::now_v7()`
//! (process-wide mutex), and what 10 bytes from the OS cost (`getrandom`,
//! what uuid would call per id without its `fast-rng` feature), alone and with two threads.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use criterion::{Criterion, Throughput, criterion_group};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use stream_topics::Broker;
use streamkit::envelope::codec::{self, RawEnvelope};
use streamkit::envelope::id::new_event_id;
use streamkit::{EventEnvelope, EventType};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, streamkit::Event)]
struct TradingSignal {
    symbol: String,
    signal: Side,
    quantity: u64,
    price: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
enum Side {
    Buy,
    Sell,
}

/// The envelope's fields with default serde impls: no codec rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PlainMirror {
    id: Uuid,
    correlation_id: Uuid,
    causation_id: Option<Uuid>,
    broker: String,
    event_type: String,
    source: String,
    timestamp: DateTime<Utc>,
    version: u32,
    data: TradingSignal,
}

fn signal() -> TradingSignal {
    TradingSignal {
        symbol: "RELIANCE".into(),
        signal: Side::Buy,
        quantity: 100,
        price: "2450.55".parse().unwrap(),
    }
}

fn envelope() -> EventEnvelope<TradingSignal> {
    EventEnvelope::builder(EventType::TradingSignal, signal())
        .broker(Broker::new("paper").unwrap())
        .source("strategy-runner")
        .id("0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b11".parse().unwrap())
        .correlation_id("0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b00".parse().unwrap())
        .timestamp("2026-11-26T19:28:45.123456Z".parse().unwrap())
        .build()
}

fn mirror(env: &EventEnvelope<TradingSignal>) -> PlainMirror {
    PlainMirror {
        id: env.id,
        correlation_id: env.correlation_id,
        causation_id: env.causation_id,
        broker: env.broker.to_string(),
        event_type: env.event_type.to_string(),
        source: env.source.to_string(),
        timestamp: env.timestamp,
        version: env.version,
        data: env.data.clone(),
    }
}

fn codecs(c: &mut Criterion) {
    let env = envelope();
    let bytes = codec::encode(&env).unwrap();
    let plain = mirror(&env);
    let plain_bytes = serde_json::to_vec(&plain).unwrap();
    let payload = signal();
    let payload_bytes = serde_json::to_vec(&payload).unwrap();
    eprintln!(
        "envelope: {} bytes, plain mirror: {} bytes, bare payload: {} bytes",
        bytes.len(),
        plain_bytes.len(),
        payload_bytes.len()
    );
    assert_eq!(codec::decode::<TradingSignal>(&bytes).unwrap(), env);

    let mut g = c.benchmark_group("bare_payload");
    g.throughput(Throughput::Elements(1));
    let mut buf = Vec::with_capacity(512);
    g.bench_function("encode", |b| {
        b.iter(|| {
            buf.clear();
            serde_json::to_writer(&mut buf, black_box(&payload)).unwrap();
        })
    });
    g.bench_function("decode", |b| {
        b.iter(|| serde_json::from_slice::<TradingSignal>(black_box(&payload_bytes)).unwrap())
    });
    g.bench_function("pair", |b| {
        b.iter(|| {
            buf.clear();
            serde_json::to_writer(&mut buf, black_box(&payload)).unwrap();
            serde_json::from_slice::<TradingSignal>(&buf).unwrap()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("plain_mirror");
    g.throughput(Throughput::Elements(1));
    g.bench_function("encode", |b| {
        b.iter(|| {
            buf.clear();
            serde_json::to_writer(&mut buf, black_box(&plain)).unwrap();
        })
    });
    g.bench_function("decode", |b| {
        b.iter(|| serde_json::from_slice::<PlainMirror>(black_box(&plain_bytes)).unwrap())
    });
    g.bench_function("pair", |b| {
        b.iter(|| {
            buf.clear();
            serde_json::to_writer(&mut buf, black_box(&plain)).unwrap();
            serde_json::from_slice::<PlainMirror>(&buf).unwrap()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("envelope");
    g.throughput(Throughput::Elements(1));
    g.bench_function("encode_into", |b| {
        b.iter(|| {
            buf.clear();
            codec::encode_into(black_box(&env), &mut buf).unwrap();
        })
    });
    g.bench_function("encode", |b| {
        b.iter(|| codec::encode(black_box(&env)).unwrap())
    });
    g.bench_function("decode", |b| {
        b.iter(|| codec::decode::<TradingSignal>(black_box(&bytes)).unwrap())
    });
    g.bench_function("pair", |b| {
        b.iter(|| {
            buf.clear();
            codec::encode_into(black_box(&env), &mut buf).unwrap();
            codec::decode::<TradingSignal>(&buf).unwrap()
        })
    });
    g.bench_function("raw_decode", |b| {
        b.iter(|| RawEnvelope::decode(black_box(&bytes)).unwrap())
    });
    g.bench_function("raw_decode_then_typed", |b| {
        b.iter(|| {
            RawEnvelope::decode(black_box(&bytes))
                .unwrap()
                .into_typed::<TradingSignal>()
                .unwrap()
        })
    });
    // A number-valued price (what a Python float field writes): the arbitrary_precision path.
    let number_bytes = String::from_utf8(bytes.clone())
        .unwrap()
        .replace(r#""price":"2450.55""#, r#""price":2450.55"#)
        .into_bytes();
    g.bench_function("decode_number_price", |b| {
        b.iter(|| codec::decode::<TradingSignal>(black_box(&number_bytes)).unwrap())
    });
    // The error path: re-read with the field path tracked, and the record copied.
    let bad = String::from_utf8(bytes.clone())
        .unwrap()
        .replace(r#""price":"2450.55""#, r#""price":true"#)
        .into_bytes();
    g.bench_function("decode_error", |b| {
        b.iter(|| codec::decode::<TradingSignal>(black_box(&bad)).unwrap_err())
    });
    g.bench_function("new_envelope", |b| {
        b.iter(|| {
            EventEnvelope::new(
                Broker::new("paper").unwrap(),
                "strategy-runner",
                black_box(signal()),
            )
        })
    });
    g.finish();
}

/// Time per id with `threads` threads generating at once (wall time / ids made).
fn contended(threads: usize, iters: u64, make: fn() -> Uuid) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(move || {
                for _ in 0..iters {
                    black_box(make());
                }
            });
        }
    });
    start.elapsed() / threads as u32
}

fn ids(c: &mut Criterion) {
    let mut g = c.benchmark_group("id");
    g.throughput(Throughput::Elements(1));
    g.bench_function("new_event_id", |b| b.iter(new_event_id));
    g.bench_function("uuid_now_v7", |b| b.iter(Uuid::now_v7));
    g.bench_function("getrandom_10_bytes", |b| {
        b.iter(|| {
            let mut bytes = [0u8; 10];
            getrandom::fill(&mut bytes).unwrap();
            bytes
        })
    });
    g.bench_function("system_time_now", |b| b.iter(std::time::SystemTime::now));
    g.bench_function("new_event_id_2_threads", |b| {
        b.iter_custom(|iters| contended(2, iters, new_event_id))
    });
    g.bench_function("uuid_now_v7_2_threads", |b| {
        b.iter_custom(|iters| contended(2, iters, Uuid::now_v7))
    });
    g.finish();
}

/// The encode+decode pair of the envelope against the bare payload's, interleaved: rounds of
/// `pairs` envelope pairs then `pairs` bare pairs, back to back, so that whatever else the
/// machine does hits both; the ratio is the median of the rounds' own ratios. Criterion measures
/// one function after the other, minutes apart, and on a shared machine its two medians can move
/// by a third between runs.
fn interleaved_pairs(rounds: usize, pairs: u32) {
    let env = envelope();
    let payload = signal();
    let mut buf = Vec::with_capacity(512);
    let mut ratios = Vec::with_capacity(rounds);
    let (mut env_ns, mut bare_ns) = (Vec::new(), Vec::new());
    // Each side in a function of its own, as criterion runs each closure: inlined together in
    // one loop body the two compile differently (the envelope side measured 30% slower so).
    #[inline(never)]
    fn envelope_pairs(env: &EventEnvelope<TradingSignal>, buf: &mut Vec<u8>, pairs: u32) {
        for _ in 0..pairs {
            buf.clear();
            codec::encode_into(black_box(env), buf).unwrap();
            black_box(codec::decode::<TradingSignal>(buf).unwrap());
        }
    }
    #[inline(never)]
    fn bare_pairs(payload: &TradingSignal, buf: &mut Vec<u8>, pairs: u32) {
        for _ in 0..pairs {
            buf.clear();
            serde_json::to_writer(&mut *buf, black_box(payload)).unwrap();
            black_box(serde_json::from_slice::<TradingSignal>(buf).unwrap());
        }
    }
    for _ in 0..rounds {
        let start = Instant::now();
        envelope_pairs(&env, &mut buf, pairs);
        let e = start.elapsed().as_nanos() as f64 / f64::from(pairs);
        let start = Instant::now();
        bare_pairs(&payload, &mut buf, pairs);
        let b = start.elapsed().as_nanos() as f64 / f64::from(pairs);
        ratios.push(e / b);
        env_ns.push(e);
        bare_ns.push(b);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (e, b, r) = (
        median(&mut env_ns),
        median(&mut bare_ns),
        median(&mut ratios),
    );
    println!(
        "bench envelope_pair envelope_ns={e:.0} bare_ns={b:.0} ratio={r:.2} \
         envelope_pairs_per_s_per_core={:.0}",
        1e9 / e
    );
}

criterion_group!(benches, codecs, ids);

fn main() {
    // Under `cargo test` (no `--bench`), a token run: it only shows the code still works.
    let measuring = std::env::args().any(|a| a == "--bench");
    benches();
    if measuring {
        interleaved_pairs(31, 20_000);
    } else {
        interleaved_pairs(1, 100);
    }
    Criterion::default().configure_from_args().final_summary();
}
