//! `docs/envelope.schema.json` accepts what streamkit writes and what the Python fixtures carry,
//! and rejects what the decoder rejects for a missing or malformed envelope field.
//!
//! Validated with the `jsonschema` crate (a dev-dependency, default features off: no HTTP or
//! file resolving, which this self-contained schema does not need).

use std::path::PathBuf;

use rust_decimal::Decimal;
use serde_json::Value;
use stream_topics::Broker;
use streamkit::EventEnvelope;
use streamkit::envelope::codec;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn validator() -> jsonschema::Validator {
    let schema: Value =
        serde_json::from_slice(&std::fs::read(root().join("docs/envelope.schema.json")).unwrap())
            .unwrap();
    jsonschema::draft202012::new(&schema).expect("the schema is valid draft 2020-12")
}

fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[derive(serde::Serialize, serde::Deserialize, streamkit::Event)]
struct TradingSignal {
    symbol: String,
    price: Decimal,
}

#[test]
fn what_we_write_is_valid() {
    let v = validator();
    let env = EventEnvelope::new(
        Broker::new("paper").unwrap(),
        "strategy-runner",
        TradingSignal {
            symbol: "RELIANCE".into(),
            price: "2450.55".parse().unwrap(),
        },
    );
    let caused = EventEnvelope::caused_by(
        env.lineage(),
        Broker::new("zerodha").unwrap(),
        "risk-manager",
        TradingSignal {
            symbol: "TCS".into(),
            price: Decimal::new(-1, 28),
        },
    );
    for bytes in [
        codec::encode(&env).unwrap(),
        codec::encode(&caused).unwrap(),
    ] {
        let doc: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(errors(&v, &doc), Vec::<String>::new(), "{doc}");
    }
}

#[test]
fn the_python_fixtures_are_valid() {
    let v = validator();
    let dir = root().join("tests/fixtures/wire");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if !name.ends_with(".json") {
            continue;
        }
        let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let errs = errors(&v, &doc);
        if name.starts_with("error_price") {
            // The envelope is fine; only the payload does not fit its Rust type.
            assert!(errs.is_empty(), "{name}: {errs:?}");
        } else if name.starts_with("error_") {
            assert!(!errs.is_empty(), "{name} should be invalid");
        } else {
            assert!(errs.is_empty(), "{name}: {errs:?}");
        }
        seen += 1;
    }
    assert!(seen >= 15, "only {seen} fixtures");
}

#[test]
fn malformed_fields_are_invalid() {
    let v = validator();
    let good: Value = serde_json::from_slice(
        &std::fs::read(root().join("tests/fixtures/wire/rust_encoded.json")).unwrap(),
    )
    .unwrap();
    for (field, bad) in [
        ("id", Value::from("0193a8e2-7c1e-4b3f-9a54-6f2d1c0e8b11")), // a v4, not a v7
        ("id", Value::from("abc")),
        ("causation_id", Value::from(7)),
        ("broker", Value::from("pa.per")),
        ("event_type", Value::from("")),
        ("timestamp", Value::from("26/11/2026")),
        ("version", Value::from(0)),
        ("version", Value::from("1")),
    ] {
        let mut doc = good.clone();
        doc[field] = bad.clone();
        assert!(!v.is_valid(&doc), "{field} = {bad} should be invalid");
    }
    for field in [
        "id",
        "correlation_id",
        "broker",
        "event_type",
        "source",
        "timestamp",
        "data",
    ] {
        let mut doc = good.clone();
        doc.as_object_mut().unwrap().remove(field);
        assert!(!v.is_valid(&doc), "without {field} should be invalid");
    }
}

#[test]
fn the_decimal_definition() {
    let schema: Value =
        serde_json::from_slice(&std::fs::read(root().join("docs/envelope.schema.json")).unwrap())
            .unwrap();
    let decimal = serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": schema["$defs"],
        "$ref": "#/$defs/decimal",
    });
    let v = jsonschema::draft202012::new(&decimal).unwrap();
    for ok in [
        serde_json::json!("2450.55"),
        serde_json::json!("-1E-27"),
        serde_json::json!(2450.55),
    ] {
        assert!(v.is_valid(&ok), "{ok}");
    }
    for bad in [
        serde_json::json!("two"),
        serde_json::json!("1,5"),
        serde_json::json!(true),
    ] {
        assert!(!v.is_valid(&bad), "{bad}");
    }
}

/// `docs/envelope.schema.json` is generated from the code
/// (`streamkit::envelope::schema::envelope_schema`); `STREAMKIT_BLESS=1` rewrites it after a
/// change there.
#[test]
fn the_checked_in_schema_is_the_generated_one() {
    let path = root().join("docs/envelope.schema.json");
    let mut generated =
        serde_json::to_string_pretty(&streamkit::envelope::schema::envelope_schema()).unwrap();
    generated.push('\n');
    if std::env::var("STREAMKIT_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap();
    assert!(
        checked_in == generated,
        "docs/envelope.schema.json differs from the schema the code generates; run \
         `STREAMKIT_BLESS=1 cargo test --test wire_envelope_schema` and commit the file"
    );
}
