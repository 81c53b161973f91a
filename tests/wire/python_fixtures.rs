//! Envelopes written by Python services (pydantic v2, `isoformat()`) decode to the values they
//! carry; see `tests/fixtures/wire/generate.py`, which wrote them. Also the golden file: the
//! exact bytes streamkit writes for a known envelope.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use stream_topics::Broker;
use streamkit::envelope::codec::{self, RawEnvelope};
use streamkit::{Event, EventEnvelope, EventType};
use uuid::Uuid;

/// The Rust side of the payload in the fixtures. The default crate path (`::streamkit`) is
/// what this derive uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, streamkit::Event)]
struct TradingSignal {
    strategy_id: String,
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

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/wire")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn decode(name: &str) -> EventEnvelope<TradingSignal> {
    let bytes = fixture(name);
    let env = codec::decode::<TradingSignal>(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    // The raw path agrees with the typed one.
    let raw = RawEnvelope::decode(&bytes).unwrap();
    assert_eq!(raw.into_typed::<TradingSignal>().unwrap(), env, "{name}");
    env
}

fn uuid(s: &str) -> Uuid {
    s.parse().unwrap()
}

fn when() -> DateTime<Utc> {
    "2026-11-26T19:28:45.123456Z".parse().unwrap()
}

fn price(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// The envelope every fixture carries, with the given timestamp and price.
fn expected(timestamp: DateTime<Utc>, price: Decimal) -> EventEnvelope<TradingSignal> {
    EventEnvelope {
        id: uuid("0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b11"),
        correlation_id: uuid("0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b00"),
        causation_id: Some(uuid("0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8aff")),
        broker: Broker::new("paper").unwrap(),
        event_type: EventType::TradingSignal,
        source: "py-strategy".into(),
        timestamp,
        version: 1,
        data: TradingSignal {
            strategy_id: "momentum-01".into(),
            symbol: "RELIANCE".into(),
            signal: Side::Buy,
            quantity: 100,
            price,
        },
    }
}

#[test]
fn pydantic_utc_with_z() {
    assert_eq!(
        decode("pydantic_utc_z.json"),
        expected(when(), price("2450.55"))
    );
}

#[test]
fn pydantic_naive_timestamp_is_utc() {
    assert_eq!(
        decode("pydantic_naive.json"),
        expected(when(), price("2450.55"))
    );
}

#[test]
fn isoformat_plus_00_00() {
    assert_eq!(
        decode("isoformat_plus_00_00.json"),
        expected(when(), price("2450.55"))
    );
}

#[test]
fn isoformat_other_offset_is_converted_to_utc() {
    let env = decode("isoformat_plus_05_30.json");
    assert_eq!(env, expected(when(), price("2450.55")));
    assert_eq!(
        env.timestamp.to_rfc3339(),
        "2026-11-26T19:28:45.123456+00:00"
    );
}

#[test]
fn isoformat_without_fraction() {
    let whole = "2026-11-26T19:28:45Z".parse().unwrap();
    assert_eq!(
        decode("isoformat_whole_second.json"),
        expected(whole, price("2450.55"))
    );
}

#[test]
fn nanoseconds_are_truncated_to_microseconds() {
    assert_eq!(
        decode("nanosecond_z.json"),
        expected(when(), price("2450.55"))
    );
}

#[test]
fn unknown_fields_are_ignored_at_both_levels() {
    assert_eq!(
        decode("unknown_fields.json"),
        expected(when(), price("2450.55"))
    );
    // ...and a raw envelope keeps the payload's unknown fields for whoever reads it later.
    let raw = RawEnvelope::decode(&fixture("unknown_fields.json")).unwrap();
    let data = std::str::from_utf8(raw.data_bytes()).unwrap();
    assert!(data.contains(r#""venue":{"mic":"XNSE"}"#), "{data}");
}

#[test]
fn a_number_price_is_read_as_its_decimal_text() {
    let env = decode("number_price.json");
    assert_eq!(env, expected(when(), price("2450.55")));
    assert_eq!(env.data.price.to_string(), "2450.55");
}

#[test]
fn a_number_price_beyond_f64_is_read_exactly() {
    let env = decode("number_price_exact.json");
    assert_eq!(env.data.price.to_string(), "2450.550000000000000000000001");
    // Written back as a string.
    let out = String::from_utf8(codec::encode(&env).unwrap()).unwrap();
    assert!(
        out.contains(r#""price":"2450.550000000000000000000001""#),
        "{out}"
    );
}

#[test]
fn missing_causation_and_version_default() {
    let mut want = expected(when(), price("2450.55"));
    want.causation_id = None;
    assert_eq!(decode("minimal.json"), want);
}

#[test]
fn decimal_forms_python_writes() {
    assert_eq!(
        decode("decimal_exponent.json").data.price,
        Decimal::from(100)
    );
    let tiny = decode("decimal_tiny.json").data.price;
    assert_eq!(tiny, Decimal::new(-1, 27));
    assert_eq!(tiny.to_string(), "-0.000000000000000000000000001");
}

#[test]
fn every_fixture_re_encodes_to_the_canonical_form() {
    for name in [
        "pydantic_utc_z.json",
        "pydantic_naive.json",
        "isoformat_plus_00_00.json",
        "isoformat_plus_05_30.json",
        "nanosecond_z.json",
        "unknown_fields.json",
        "number_price.json",
    ] {
        let out = codec::encode(&decode(name)).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            String::from_utf8(fixture("rust_encoded.json"))
                .unwrap()
                .trim_end(),
            "{name}"
        );
    }
}

/// The golden file: the exact bytes streamkit writes (checked by pydantic in generate.py).
#[test]
fn golden_encoding() {
    let out = codec::encode(&expected(when(), price("2450.55"))).unwrap();
    let golden = fixture("rust_encoded.json");
    assert_eq!(
        String::from_utf8(out).unwrap(),
        String::from_utf8(golden).unwrap().trim_end()
    );
}

#[test]
fn derived_event_type() {
    assert_eq!(TradingSignal::EVENT_TYPE, "trading_signal");
    assert_eq!(TradingSignal::event_type(), EventType::TradingSignal);
}
