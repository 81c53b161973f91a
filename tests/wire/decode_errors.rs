//! Records that must not decode give an error that names the field and says why, keeps the
//! record's bytes for the dead-letter topic, and never panics.

use std::path::PathBuf;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use streamkit::envelope::codec::{self, CodecError, RawEnvelope};

#[derive(Debug, Serialize, Deserialize)]
struct TradingSignal {
    strategy_id: String,
    symbol: String,
    signal: String,
    quantity: u64,
    price: Decimal,
}

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/wire")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn error(name: &str) -> CodecError {
    let bytes = fixture(name);
    let err = codec::decode::<TradingSignal>(&bytes).expect_err(name);
    assert_eq!(err.kind(), "decode", "{name}");
    assert_eq!(
        err.bytes(),
        Some(&bytes[..]),
        "{name}: the record is kept for the DLQ"
    );
    err
}

#[test]
fn missing_id() {
    let err = error("error_missing_id.json");
    assert_eq!(err.field(), Some("id"));
    assert_eq!(
        err.to_string(),
        "cannot decode envelope: missing field `id`"
    );
    // The raw path reports the same.
    let raw = RawEnvelope::decode(&fixture("error_missing_id.json")).unwrap_err();
    assert_eq!(raw.field(), Some("id"));
}

#[test]
fn timestamp_not_rfc_3339() {
    let err = error("error_bad_timestamp.json");
    assert_eq!(err.field(), Some("timestamp"));
    assert_eq!(
        err.to_string(),
        "cannot decode envelope field `timestamp`: expected an RFC 3339 timestamp such as \
         `2026-11-26T19:28:45.123456Z`, got `26/11/2026 19:28`"
    );
}

#[test]
fn data_does_not_match_the_payload_type_at_data_price() {
    let err = error("error_price_type.json");
    assert_eq!(err.field(), Some("data.price"));
    assert_eq!(
        err.message(),
        "invalid type: map, expected a decimal as a string or number"
    );
    assert!(
        err.to_string()
            .starts_with("cannot decode envelope field `data.price`: "),
        "{err}"
    );

    let err = error("error_price_text.json");
    assert_eq!(err.field(), Some("data.price"));
    assert!(err.message().contains("two thousand"), "{err}");
}

#[test]
fn the_raw_path_decodes_metadata_and_names_data_fields_later() {
    let raw = RawEnvelope::decode(&fixture("error_price_type.json")).unwrap();
    let err = raw.to_typed::<TradingSignal>().unwrap_err();
    assert_eq!(err.field(), Some("data.price"));
    assert_eq!(err.kind(), "decode");
    // The position would be one inside `data` alone, so it is left out.
    assert!(!err.message().contains("line"), "{err}");
}

#[test]
fn missing_payload_field_is_named_with_its_path() {
    let text = String::from_utf8(fixture("pydantic_utc_z.json"))
        .unwrap()
        .replace(r#","quantity":100"#, "");
    let err = codec::decode::<TradingSignal>(text.as_bytes()).unwrap_err();
    assert_eq!(err.field(), Some("data.quantity"));
    assert_eq!(
        err.to_string(),
        "cannot decode envelope: missing field `data.quantity`"
    );
}

#[test]
fn other_malformed_fields() {
    let good = String::from_utf8(fixture("pydantic_utc_z.json")).unwrap();
    for (from, to, field) in [
        (
            r#""id":"0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b11""#,
            r#""id":"abc""#,
            "id",
        ),
        (r#""broker":"paper""#, r#""broker":"pa.per""#, "broker"),
        (r#""broker":"paper""#, r#""broker":7"#, "broker"),
        (r#""version":1"#, r#""version":-1"#, "version"),
        (r#""version":1"#, r#""version":"1""#, "version"),
        (
            r#""event_type":"trading_signal""#,
            r#""event_type":null"#,
            "event_type",
        ),
        (
            r#""timestamp":"2026-11-26T19:28:45.123456Z""#,
            r#""timestamp":"2026-02-30T00:00:00Z""#,
            "timestamp",
        ),
        (r#""quantity":100"#, r#""quantity":-100"#, "data.quantity"),
        (r#""quantity":100"#, r#""quantity":1.5"#, "data.quantity"),
    ] {
        let bad = good.replace(from, to);
        assert_ne!(bad, good, "{from}");
        let err = codec::decode::<TradingSignal>(bad.as_bytes()).unwrap_err();
        assert_eq!(err.field(), Some(field), "{to}: {err}");
    }
}

#[test]
fn not_json_has_no_field_but_a_position() {
    for bad in [&b""[..], b"{", b"[1,2]", b" \n\"x\"", b"\xff\xfe", b"null"] {
        let err = codec::decode::<TradingSignal>(bad).unwrap_err();
        assert_eq!(
            err.field(),
            None,
            "{:?}: {err}",
            String::from_utf8_lossy(bad)
        );
        assert!(
            err.to_string().starts_with("cannot decode envelope: "),
            "{err}"
        );
    }
    // Malformed JSON inside a field: the field and the position.
    let err = codec::decode::<TradingSignal>(b"{\"id\": }").unwrap_err();
    assert_eq!(err.field(), Some("id"));
    assert_eq!(err.message(), "expected value at line 1 column 8");
}

#[test]
fn trailing_bytes_are_an_error() {
    let mut bytes = fixture("pydantic_utc_z.json");
    bytes.extend_from_slice(b"{}");
    let err = codec::decode::<TradingSignal>(&bytes).unwrap_err();
    assert!(err.message().contains("trailing characters"), "{err}");
}

#[test]
fn codec_errors_convert_into_the_crate_error() {
    let err: streamkit::Error = error("error_missing_id.json").into();
    assert_eq!(
        err.to_string(),
        "cannot decode envelope: missing field `id`"
    );
}

#[test]
fn an_array_is_not_an_envelope() {
    // serde would read a struct from an array of its fields; the wire format has no such form.
    let array = br#"["0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b11","0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b00",null,"paper","heartbeat","s","2026-11-26T19:28:45Z",1,{}]"#;
    let err = codec::decode::<serde_json::Value>(array).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot decode envelope: an envelope is a JSON object, found an array"
    );
    assert!(RawEnvelope::decode(array).is_err());
}
