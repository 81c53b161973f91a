//! Property tests: any envelope survives encode → decode → encode byte for byte, decodes to the
//! value it was made from, and Decimals keep every digit of their scale.

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use stream_core::envelope::codec::{self, RawEnvelope};
use stream_core::envelope::timestamp;
use stream_core::{EventEnvelope, EventType};
use stream_topics::Broker;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Leg {
    price: Decimal,
    quantity: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, stream_macros::Event)]
#[event(crate = "stream_core")]
struct TradingSignal {
    symbol: String,
    side: Side,
    price: Decimal,
    limit: Option<Decimal>,
    legs: Vec<Leg>,
    tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
enum Side {
    Buy,
    Sell,
}

/// Any Decimal: a 96-bit mantissa of either sign with a scale of 0 to 28.
fn decimal() -> impl Strategy<Value = Decimal> {
    let max = (1i128 << 96) - 1;
    (-max..=max, 0u32..=28).prop_map(|(m, scale)| Decimal::from_i128_with_scale(m, scale))
}

/// Any instant RFC 3339 can write (years 0000 to 9999), to the nanosecond.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    let first = -62_167_219_200i64; // 0000-01-01T00:00:00Z
    let last = 253_402_300_799i64; // 9999-12-31T23:59:59Z
    (first..=last, 0u32..1_000_000_000).prop_map(|(s, n)| DateTime::from_timestamp(s, n).unwrap())
}

fn event_type() -> impl Strategy<Value = EventType> {
    prop_oneof![
        proptest::sample::select(EventType::KNOWN).prop_map(EventType::from),
        "[a-z][a-z0-9_.]{0,24}".prop_map(EventType::from),
        any::<String>().prop_map(EventType::from),
    ]
}

fn payload() -> impl Strategy<Value = TradingSignal> {
    (
        any::<String>(),
        prop_oneof![Just(Side::Buy), Just(Side::Sell)],
        decimal(),
        proptest::option::of(decimal()),
        proptest::collection::vec((decimal(), any::<u64>()), 0..4),
        proptest::collection::vec(any::<String>(), 0..3),
    )
        .prop_map(|(symbol, side, price, limit, legs, tags)| TradingSignal {
            symbol,
            side,
            price,
            limit,
            legs: legs
                .into_iter()
                .map(|(price, quantity)| Leg { price, quantity })
                .collect(),
            tags,
        })
}

fn envelope() -> impl Strategy<Value = EventEnvelope<TradingSignal>> {
    (
        (
            any::<u128>(),
            any::<u128>(),
            proptest::option::of(any::<u128>()),
        ),
        "[a-zA-Z0-9_-]{1,16}",
        event_type(),
        any::<String>(),
        instant(),
        any::<u32>(),
        payload(),
    )
        .prop_map(
            |((id, corr, cause), broker, event_type, source, timestamp, version, data)| {
                EventEnvelope {
                    id: Uuid::from_u128(id),
                    correlation_id: Uuid::from_u128(corr),
                    causation_id: cause.map(Uuid::from_u128),
                    broker: Broker::new(broker).unwrap(),
                    event_type,
                    source: source.into(),
                    timestamp,
                    version,
                    data,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encode_decode_encode_is_byte_stable(env in envelope()) {
        let first = codec::encode(&env).unwrap();
        let decoded = codec::decode::<TradingSignal>(&first).unwrap();
        let second = codec::encode(&decoded).unwrap();
        prop_assert_eq!(&first, &second);

        // The raw path writes the same bytes too.
        let raw = RawEnvelope::decode(&first).unwrap();
        prop_assert_eq!(&codec::encode(&raw).unwrap(), &first);
        prop_assert_eq!(raw.lineage(), env.lineage());
    }

    #[test]
    fn timestamps_are_written_as_chrono_formats_them(t in instant()) {
        // The writer computes the calendar itself; chrono is the reference.
        let want = t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
        prop_assert_eq!(timestamp::format(&t), Some(want));
    }

    #[test]
    fn the_direct_writer_matches_the_derived_serialize(env in envelope()) {
        // codec::encode writes the metadata by hand; serde_json through the derive must agree,
        // so that an envelope serialized any other way is the same JSON.
        prop_assert_eq!(codec::encode(&env).unwrap(), serde_json::to_vec(&env).unwrap());
        let raw = RawEnvelope::decode(&codec::encode(&env).unwrap()).unwrap();
        prop_assert_eq!(codec::encode(&raw).unwrap(), serde_json::to_vec(&raw).unwrap());
    }

    #[test]
    fn decode_gives_back_the_value_to_the_microsecond(env in envelope()) {
        let decoded = codec::decode::<TradingSignal>(&codec::encode(&env).unwrap()).unwrap();
        let mut want = env.clone();
        want.timestamp = DateTime::from_timestamp_micros(env.timestamp.timestamp_micros()).unwrap();
        prop_assert_eq!(&decoded, &want);
        // Decimal equality ignores scale; the digits must match too.
        prop_assert_eq!(decoded.data.price.to_string(), env.data.price.to_string());
        prop_assert_eq!(decoded.data.price.scale(), env.data.price.scale());
    }

    #[test]
    fn raw_then_typed_equals_typed(env in envelope()) {
        let bytes = codec::encode(&env).unwrap();
        let direct = codec::decode::<TradingSignal>(&bytes).unwrap();
        let raw = RawEnvelope::decode(&bytes).unwrap();
        prop_assert_eq!(&raw.to_typed::<TradingSignal>().unwrap(), &direct);
        prop_assert_eq!(&raw.into_typed::<TradingSignal>().unwrap(), &direct);
    }

    #[test]
    fn decimals_with_28_digits_of_scale_survive_exactly(
        mantissa in -((1i128 << 96) - 1)..=((1i128 << 96) - 1),
    ) {
        let price = Decimal::from_i128_with_scale(mantissa, 28);
        let text = price.to_string();

        // Written as a string, read back with every digit and the scale.
        let json = serde_json::to_string(&Leg { price, quantity: 1 }).unwrap();
        prop_assert_eq!(&json, &format!(r#"{{"price":"{text}","quantity":1}}"#));
        let back: Leg = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back.price.mantissa(), mantissa);
        prop_assert_eq!(back.price.scale(), 28);

        // Sent as a JSON number (as some producers do), read without an f64 step.
        let number = format!(r#"{{"price":{text},"quantity":1}}"#);
        let back: Leg = serde_json::from_str(&number).unwrap();
        prop_assert_eq!(back.price.mantissa(), mantissa);
        prop_assert_eq!(back.price.scale(), 28);
    }
}

#[test]
fn a_number_that_f64_cannot_hold_is_read_exactly() {
    // f64 would read this as 0.30000000000000004 or 0.3; the Decimal keeps all 28 digits.
    let leg: Leg =
        serde_json::from_str(r#"{"price":0.3000000000000000000000000001,"quantity":1}"#).unwrap();
    assert_eq!(leg.price.to_string(), "0.3000000000000000000000000001");
    let leg: Leg =
        serde_json::from_str(r#"{"price":-79228162514264337593543950335,"quantity":1}"#).unwrap();
    assert_eq!(leg.price, Decimal::MIN);
    let leg: Leg = serde_json::from_str(r#"{"price":2.5e-3,"quantity":1}"#).unwrap();
    assert_eq!(leg.price.to_string(), "0.0025");
    let leg: Leg = serde_json::from_str(r#"{"price":"1E+2","quantity":1}"#).unwrap();
    assert_eq!(leg.price, Decimal::from(100));
}
