//! Property tests: no input makes the decoder panic, every failure is a decode error that keeps
//! the bytes it was given, and the decoder's fast reader agrees with the derived `Deserialize`
//! (the authority) on every input.

use proptest::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use stream_core::EventEnvelope;
use stream_core::envelope::codec::{self, RawEnvelope};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Signal {
    symbol: String,
    price: Decimal,
    quantity: u64,
    limit: Option<Decimal>,
}

const VALID: &str = r#"{"id":"0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b11","correlation_id":"0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b00","causation_id":null,"broker":"paper","event_type":"trading_signal","source":"strategy-runner","timestamp":"2026-11-26T19:28:45.123456Z","version":1,"data":{"symbol":"RELIANCE","price":"2450.55","quantity":100,"limit":2451.5}}"#;

fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let derived = std::str::from_utf8(bytes)
        .ok()
        .and_then(|text| serde_json::from_str::<EventEnvelope<Signal>>(text).ok());
    match codec::decode::<Signal>(bytes) {
        Ok(env) => prop_assert_eq!(Some(env), derived),
        Err(err) => {
            // The derived path also takes the array form, which the wire format refuses.
            if bytes.trim_ascii_start().starts_with(b"{") {
                prop_assert!(derived.is_none(), "decode refused what serde accepts");
            }
            prop_assert_eq!(err.kind(), "decode");
            prop_assert_eq!(err.bytes(), Some(bytes));
            prop_assert!(!err.to_string().is_empty());
        }
    }
    match RawEnvelope::decode(bytes) {
        Ok(raw) => {
            // A record whose metadata decodes may still have a payload that does not.
            if let Err(err) = raw.to_typed::<Signal>() {
                prop_assert!(err.field().is_some_and(|f| f.starts_with("data")), "{err}");
            }
        }
        Err(err) => prop_assert_eq!(err.bytes(), Some(bytes)),
    }
    let _ = codec::decode::<serde_json::Value>(bytes);
    Ok(())
}

/// A mutation of the valid record: bytes replaced, inserted or removed.
#[derive(Debug, Clone)]
enum Edit {
    Set(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let len = VALID.len();
    let byte = prop_oneof![
        any::<u8>(),
        proptest::sample::select(b"{}[]\":,0123456789.-eE+ntfalsru\\ ".to_vec())
    ];
    let edit = prop_oneof![
        (0..len, byte.clone()).prop_map(|(i, b)| Edit::Set(i, b)),
        (0..len, byte).prop_map(|(i, b)| Edit::Insert(i, b)),
        (0..len).prop_map(Edit::Remove),
        (0..len).prop_map(Edit::Truncate),
    ];
    proptest::collection::vec(edit, 1..6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        check(&bytes)?;
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,300}") {
        check(text.as_bytes())?;
    }

    #[test]
    fn mutated_envelopes_never_panic(edits in edits()) {
        let mut bytes = VALID.as_bytes().to_vec();
        for edit in edits {
            let len = bytes.len();
            if len == 0 {
                break;
            }
            match edit {
                Edit::Set(i, b) => bytes[i % len] = b,
                Edit::Insert(i, b) => bytes.insert(i % (len + 1), b),
                Edit::Remove(i) => { bytes.remove(i % len); }
                Edit::Truncate(i) => bytes.truncate(i % len),
            }
        }
        check(&bytes)?;
    }
}

#[test]
fn the_unmutated_record_decodes() {
    let env = codec::decode::<Signal>(VALID.as_bytes()).unwrap();
    assert_eq!(env.data.limit, Some(Decimal::new(24515, 1)));
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!(
        r#"{{"id":"0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b11","data":{}{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let err = codec::decode::<serde_json::Value>(deep.as_bytes()).unwrap_err();
    assert!(err.message().contains("recursion limit"), "{err}");
    assert!(RawEnvelope::decode(deep.as_bytes()).is_err());
}
