//! What the workspace's choice of `rust_decimal/serde-with-arbitrary-precision` (and so
//! `serde_json/arbitrary_precision`) means for payload types; docs/wire-format.md explains it.
//! If one of these starts failing, a dependency changed under us: update the docs with it.

use rust_decimal::Decimal;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Plain {
    price: Decimal,
    ratio: f64,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Tagged {
    Limit { price: Decimal },
    Scored { score: f64 },
}

#[test]
fn a_plain_decimal_field_reads_strings_and_numbers_exactly() {
    let p: Plain =
        serde_json::from_str(r#"{"price":"0.1000000000000000000000000001","ratio":0.5}"#).unwrap();
    assert_eq!(p.price.to_string(), "0.1000000000000000000000000001");
    let p: Plain =
        serde_json::from_str(r#"{"price":0.1000000000000000000000000001,"ratio":0.5}"#).unwrap();
    assert_eq!(p.price.to_string(), "0.1000000000000000000000000001");
    assert_eq!(p.ratio, 0.5, "f64 in a plain struct is unaffected");
}

#[test]
fn a_plain_decimal_field_is_written_as_a_string() {
    // Fails if some crate in the build turns on rust_decimal's `serde-float`.
    let d: Decimal = "2450.550".parse().unwrap();
    assert_eq!(serde_json::to_string(&d).unwrap(), r#""2450.550""#);
}

#[test]
fn a_decimal_inside_a_tagged_enum_reads_a_number_exactly() {
    let t: Tagged =
        serde_json::from_str(r#"{"kind":"limit","price":2450.550000000000000000000001}"#).unwrap();
    match t {
        Tagged::Limit { price } => assert_eq!(price.to_string(), "2450.550000000000000000000001"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_known_cost_an_f64_inside_a_tagged_enum_cannot_read_a_fraction() {
    // serde-rs/json#1046, #1108: with arbitrary_precision, serde buffers the number as a map.
    let err = serde_json::from_str::<Tagged>(r#"{"kind":"scored","score":0.82}"#).unwrap_err();
    assert!(
        err.to_string().contains("invalid type: map, expected f64"),
        "{err}"
    );
    // Integers still work.
    let t: Tagged = serde_json::from_str(r#"{"kind":"scored","score":1}"#).unwrap();
    assert!(matches!(t, Tagged::Scored { score } if score == 1.0));
}
