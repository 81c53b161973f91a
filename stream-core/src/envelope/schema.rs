//! JSON Schema of the wire: the envelope every record carries (`docs/envelope.schema.json` is
//! [`envelope_schema`], generated), and each event's `data` from its Rust type through
//! [`schemars`], with the wire's rules: a `Decimal` is a string (`"format": "decimal"`), a
//! timestamp an RFC 3339 string (`"format": "date-time"`), a UUID a string (`"format": "uuid"`).
//!
//! An event type's data schema is known when its type derives both `Event` and
//! `schemars::JsonSchema` ([`registry`]); the AsyncAPI document of a service
//! ([`service::asyncapi`](crate::service::asyncapi)) wraps each in the envelope.
//!
//! ```
//! #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
//! struct Fill { qty: rust_decimal::Decimal, at: chrono::DateTime<chrono::Utc> }
//!
//! let schema = stream_core::envelope::schema::data_schema::<Fill>();
//! assert_eq!(schema["properties"]["qty"]["type"], "string");
//! assert_eq!(schema["properties"]["qty"]["format"], "decimal");
//! assert_eq!(schema["properties"]["at"]["format"], "date-time");
//! let envelope = stream_core::envelope::schema::envelope_schema_of("order_filled", schema);
//! assert_eq!(envelope["properties"]["event_type"]["const"], "order_filled");
//! ```

pub mod envelope_json;
pub mod registry;

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

pub use envelope_json::envelope_schema;

/// The pattern schemars gives a serialized `rust_decimal::Decimal`.
const DECIMAL_PATTERN: &str = r"^-?\d+(\.\d+)?$";

/// The JSON Schema (draft 07, subschemas inlined, no `$schema`) of how `T` is written: what a
/// reader in another language finds in `data`. Decimals are marked `"format": "decimal"` (code
/// generators map that to an exact decimal type, e.g. Python's `Decimal`).
pub fn data_schema<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::draft07()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .for_serialize()
        .into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    mark_decimals(&mut schema);
    schema
}

/// Adds `"format": "decimal"` to every schema of a serialized `Decimal`.
fn mark_decimals(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            let is_decimal = map.get("type") == Some(&json!("string"))
                && map.get("pattern") == Some(&json!(DECIMAL_PATTERN));
            if is_decimal {
                map.insert("format".into(), json!("decimal"));
                map.entry("description").or_insert_with(|| {
                    json!("An exact decimal, written as a string (never a binary float).")
                });
            }
            map.values_mut().for_each(mark_decimals);
        }
        Value::Array(items) => items.iter_mut().for_each(mark_decimals),
        _ => {}
    }
}

/// The envelope of one event type: [`envelope_schema`] with `event_type` fixed to `event_type`
/// and `data` given by `data` (a [`data_schema`], or `{}` when it is unknown).
pub fn envelope_schema_of(event_type: &str, data: Value) -> Value {
    let mut schema = envelope_schema();
    let root = schema
        .as_object_mut()
        .expect("the envelope schema is an object");
    root.insert(
        "title".into(),
        json!(format!("streamkit event envelope of `{event_type}`")),
    );
    root.remove("$id");
    let properties = root["properties"]
        .as_object_mut()
        .expect("the envelope schema has properties");
    properties.insert(
        "event_type".into(),
        json!({ "description": "The event's type name.", "type": "string", "const": event_type }),
    );
    let mut data = data;
    if let Value::Object(map) = &mut data {
        map.remove("$schema");
        map.entry("description")
            .or_insert_with(|| json!(format!("The payload of a `{event_type}` event.")));
    }
    properties.insert("data".into(), data);
    schema
}

/// `schema` with every local `$ref` to `#/$defs/...` replaced by the definition (its other
/// keywords kept beside it) and `$defs`, `$schema` and `$id` removed: a schema that can sit
/// anywhere in another document (an AsyncAPI component).
pub fn inlined(schema: &Value) -> Value {
    let defs = schema
        .get("$defs")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut out = schema.clone();
    if let Value::Object(root) = &mut out {
        for key in ["$defs", "$schema", "$id"] {
            root.remove(key);
        }
    }
    inline_refs(&mut out, &defs);
    out
}

fn inline_refs(schema: &mut Value, defs: &Map<String, Value>) {
    match schema {
        Value::Object(map) => {
            let target = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/$defs/"))
                .and_then(|name| defs.get(name));
            if let Some(Value::Object(def)) = target.cloned() {
                map.remove("$ref");
                for (k, v) in def {
                    map.entry(k).or_insert(v);
                }
            }
            map.values_mut().for_each(|v| inline_refs(v, defs));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| inline_refs(v, defs)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Order {
        id: uuid::Uuid,
        qty: rust_decimal::Decimal,
        prices: Vec<rust_decimal::Decimal>,
        at: chrono::DateTime<chrono::Utc>,
        side: Side,
    }

    #[derive(serde::Serialize, schemars::JsonSchema)]
    #[serde(rename_all = "UPPERCASE")]
    #[allow(dead_code)]
    enum Side {
        Buy,
        Sell,
    }

    #[test]
    fn data_schemas_follow_the_wire_rules() {
        let s = data_schema::<Order>();
        let p = &s["properties"];
        assert_eq!(p["id"]["format"], "uuid");
        assert_eq!(p["qty"]["format"], "decimal");
        assert_eq!(p["qty"]["type"], "string");
        assert_eq!(p["prices"]["items"]["format"], "decimal");
        assert_eq!(p["at"]["format"], "date-time");
        // Inlined: no definitions to resolve.
        assert_eq!(p["side"]["enum"], json!(["BUY", "SELL"]));
        assert!(
            s.get("$defs").is_none() && s.get("definitions").is_none(),
            "{s}"
        );
        assert!(s.get("$schema").is_none(), "{s}");
    }

    #[test]
    fn the_envelope_of_an_event_fixes_its_type_and_data() {
        let s = envelope_schema_of("order_placed", data_schema::<Order>());
        assert_eq!(s["properties"]["event_type"]["const"], "order_placed");
        assert_eq!(
            s["properties"]["data"]["properties"]["qty"]["format"],
            "decimal"
        );
        let inline = inlined(&s);
        assert!(inline.get("$defs").is_none());
        assert_eq!(inline["properties"]["id"]["type"], "string");
        assert!(!inline.to_string().contains("#/$defs/"), "{inline}");
    }
}
