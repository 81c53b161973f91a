//! The fast reader held to the derived path, record by record.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::envelope;
use crate::envelope::event_envelope::EventEnvelope;

#[derive(Debug, PartialEq, Deserialize)]
struct Payload {
    price: rust_decimal::Decimal,
}

const ID: &str = "0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b11";
const CORRELATION: &str = "0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b00";

fn record(extra: &str, data: &str) -> String {
    format!(
        r#"{{"id":"{ID}","correlation_id":"{CORRELATION}","causation_id":null,"broker":"paper","event_type":"trading_signal","source":"strategy","timestamp":"2026-11-26T19:28:45.123456Z","version":1{extra},"data":{data}}}"#
    )
}

/// Both paths on the same text: the fast one must agree with the derived one whenever it
/// answers, and must answer for the forms it is meant for.
fn agree<T>(text: &str) -> Option<EventEnvelope<T>>
where
    T: serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let fast = envelope::<T>(text);
    let derived = serde_json::from_str::<EventEnvelope<T>>(text).ok();
    if let Some(fast) = &fast {
        assert_eq!(Some(fast), derived.as_ref(), "{text}");
    }
    fast
}

/// The names the reader keeps per thread never stand in for other names. Envelopes whose
/// broker, event type and source change one at a time through every combination are each
/// read back as they were, by the straight-line reader whenever nothing in them is escaped
/// (so a cache that never matched would fail too). The names include ones of equal length
/// that differ only past their first four or eight bytes (one read in place of another would
/// fit, and only `same_short`'s second word tells them apart), prefixes of each other, and
/// ones shorter than four and longer than sixteen bytes (`same_short`'s other cases).
#[test]
fn the_names_kept_per_thread_never_leak_into_another_envelope() {
    use crate::envelope::codec::decode::decode;
    use crate::envelope::codec::encode::encode;
    use crate::envelope::service_name::ServiceName;
    use crate::topic::Broker;

    let brokers = ["paper", "kite1", "kite2", "paper2", "pa"].map(|b| Broker::new(b).unwrap());
    let types = [
        "order_filled",
        "order_failed",
        "margin_call",
        "margin_call_v2",
        "x",
    ];
    let sources = [
        "strategy-a",
        "strategy-b",
        "exec",
        "a-rather-long-service-name",
        "risk \"desk\"",
    ]
    .map(ServiceName::new);
    let (nb, nt, ns) = (brokers.len(), types.len(), sources.len());
    // Every combination, three times over: with the event type, then the source, then the
    // broker changing from one envelope to the next while the other two stay.
    let mut order = Vec::new();
    for (b, s) in (0..nb).flat_map(|b| (0..ns).map(move |s| (b, s))) {
        order.extend((0..nt).map(|t| (b, t, s)));
    }
    for (b, t) in (0..nb).flat_map(|b| (0..nt).map(move |t| (b, t))) {
        order.extend((0..ns).map(|s| (b, t, s)));
    }
    for (t, s) in (0..nt).flat_map(|t| (0..ns).map(move |s| (t, s))) {
        order.extend((0..nb).map(|b| (b, t, s)));
    }
    for (n, (b, t, s)) in order.into_iter().enumerate() {
        // Every other envelope makes its names anew (same text, another allocation).
        let (broker, source) = if n % 2 == 1 {
            let broker = Broker::new(brokers[b].as_str()).unwrap();
            (broker, ServiceName::new(sources[s].as_str()))
        } else {
            (brokers[b].clone(), sources[s].clone())
        };
        let env = EventEnvelope::builder(types[t], serde_json::json!({"n": n}))
            .broker(broker)
            .source(source)
            .build();
        let bytes = encode(&env).unwrap();
        assert_eq!(bytes, serde_json::to_vec(&env).unwrap());
        let text = std::str::from_utf8(&bytes).unwrap();
        let read = super::canonical::<serde_json::Value>(text);
        assert_eq!(read.is_some(), !sources[s].contains('"'), "{text}");
        if let Some(read) = read {
            assert_eq!(read, env, "{text}");
        }
        assert_eq!(decode::<serde_json::Value>(&bytes).unwrap(), env);
    }
}

/// A record's long names are read, but not kept for the thread's lifetime.
#[test]
fn long_names_are_not_kept() {
    let long = "s".repeat(2_000);
    let text = record("", r#"{"price":"1"}"#)
        .replace(r#""source":"strategy""#, &format!(r#""source":"{long}""#));
    let env = agree::<Payload>(&text).expect("fast path");
    assert_eq!(env.source.len(), 2_000);
    super::LAST.with_borrow(|last| {
        assert!(last.all.is_none());
        assert!(
            last.text.capacity() <= 2 * super::KEPT,
            "{}",
            last.text.capacity()
        );
        assert!(last.source.as_ref().is_none_or(|s| s.len() <= super::KEPT));
    });
    // The next ordinary record is kept again.
    agree::<Payload>(&record("", r#"{"price":"1"}"#)).expect("fast path");
    super::LAST.with_borrow(|last| assert!(last.all.is_some()));
}

#[test]
fn reads_what_the_encoder_writes() {
    let text = record("", r#"{"price":"2450.55"}"#);
    let env = agree::<Payload>(&text).expect("fast path");
    assert!(
        super::canonical::<Payload>(&text).is_some(),
        "the straight-line reader"
    );
    assert_eq!(env.data.price.to_string(), "2450.55");
    assert_eq!(env.id.to_string(), ID);
    assert_eq!(env.causation_id, None);
    // The payload runs to the closing brace: what follows it decides which reader answers,
    // never what is read.
    for (tail, straight_line) in [(" }", true), (r#","later":1}"#, false), ("}}", false)] {
        let text = format!("{}{tail}", &text[..text.len() - 1]);
        let fast = agree::<Payload>(&text);
        assert_eq!(fast.is_some(), tail != "}}", "{text}");
        assert_eq!(
            super::canonical::<Payload>(&text).is_some(),
            straight_line,
            "{text}"
        );
    }
    for version in ["7", "12", "0"] {
        let text = text.replace(r#""version":1"#, &format!(r#""version":{version}"#));
        let env = agree::<Payload>(&text).expect("fast path");
        assert_eq!(env.version.to_string(), version);
    }
}

#[test]
fn reads_pydantic_forms_and_any_order() {
    let spaced = format!(
        "{{ \"data\" : {{\"price\": 2450.550000000000000001}},\n\t\"extra\": [1, {{\"a\": null}}], \
         \"timestamp\": \"2026-11-26T19:28:45.123456+00:00\", \"source\": \"py\", \
         \"event_type\": \"x\", \"broker\": \"zerodha\", \"causation_id\": \"{ID}\", \
         \"correlation_id\": \"{CORRELATION}\", \"id\": \"{ID}\" }}\r\n"
    );
    let env = agree::<Payload>(&spaced).expect("fast path");
    assert_eq!(env.data.price.to_string(), "2450.550000000000000001");
    assert_eq!(env.version, 1, "a missing version reads as 1");
    assert!(env.causation_id.is_some());
    let raw = envelope::<Box<RawValue>>(&spaced).expect("fast path");
    let derived: EventEnvelope<Box<RawValue>> = serde_json::from_str(&spaced).unwrap();
    assert_eq!(raw.data.get(), r#"{"price": 2450.550000000000000001}"#);
    assert_eq!(raw.data.get(), derived.data.get());
    assert_eq!(raw.map(|_| ()), derived.map(|_| ()));
}

#[test]
fn leaves_everything_else_to_the_derived_path() {
    let ok = record("", r#"{"price":"1"}"#);
    for text in [
        ok.replace(r#""source":"strategy""#, r#""source":"str\u0061tegy""#),
        ok.replace(r#""id":"#, r#""\u0069d":"#),
        ok.replace(r#""version":1"#, r#""version":1.0"#),
        ok.replace(r#""version":1"#, r#""version":-1"#),
        ok.replace(r#""version":1"#, r#""version":01"#),
        ok.replace(r#""version":1"#, r#""version":4294967296"#),
        ok.replace(r#""broker":"paper""#, r#""broker":"pa.per""#),
        ok.replace(r#""source":"strategy""#, "\"source\":\"a\tb\""),
        ok.replace("2026-11-26T19:28:45.123456Z", "yesterday"),
        ok.replace(ID, "not-a-uuid"),
        ok.replace(r#""causation_id":null"#, r#""causation_id":nul"#),
        ok.replace(r#","version":1"#, r#","version":1,"version":1"#),
        ok.replace(
            r#","version":1"#,
            r#","id":"0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b11""#,
        ),
        ok.replace(r#""data":{"price":"1"}"#, r#""data":{"price":true}"#),
        ok.replace(r#""data":{"price":"1"}"#, r#""nodata":1"#),
        format!("{ok} x"),
        format!("{ok}}}"),
        ok[..ok.len() - 1].to_owned(),
        ok.replace(r#","data""#, r#""data""#),
        "{}".to_owned(),
        "[]".to_owned(),
        String::new(),
    ] {
        assert!(agree::<Payload>(&text).is_none(), "{text}");
    }
}

#[test]
fn other_uuid_forms_and_timestamps_go_the_long_way_round() {
    let text = record("", r#"{"price":"1"}"#)
        .replace(ID, "0193a8e27c1e7b3f9a546f2d1c0e8b11")
        .replace(CORRELATION, &format!("urn:uuid:{CORRELATION}"))
        .replace("2026-11-26T19:28:45.123456Z", "2026-11-26T19:28:45");
    let env = agree::<Payload>(&text).expect("fast path");
    assert_eq!(env.id.to_string(), ID);
    assert_eq!(env.correlation_id.to_string(), CORRELATION);
    assert_eq!(env.timestamp.to_rfc3339(), "2026-11-26T19:28:45+00:00");
}

#[test]
fn the_recursion_limit_counts_from_the_payload() {
    let nested = |depth: usize| record("", &format!("{}{}", "[".repeat(depth), "]".repeat(depth)));
    assert!(envelope::<serde_json::Value>(&nested(126)).is_some());
    // One level deeper than the derived path takes (it counts the envelope's own object).
    assert!(envelope::<serde_json::Value>(&nested(127)).is_some());
    assert!(serde_json::from_str::<EventEnvelope<serde_json::Value>>(&nested(127)).is_err());
    assert!(envelope::<serde_json::Value>(&nested(128)).is_none());
}

#[test]
fn unknown_fields_and_a_missing_causation_are_fine() {
    let text = record(
        r#","trace":{"span":[1,2,"}"]},"n":-1.5e3,"s":"a\"b""#,
        r#"{"price":"1"}"#,
    )
    .replace(r#""causation_id":null,"#, "");
    let env = agree::<Payload>(&text).expect("fast path");
    assert_eq!(env.causation_id, None);
}
