//! The reusable parts of the AsyncAPI document: one message and two schemas per event type
//! (`<event>` the envelope, `<event>.data` its payload), and the dead-letter message.

use serde_json::{Map, Value, json};

use crate::envelope::schema::registry::data_schema_of;
use crate::envelope::schema::{envelope_schema_of, inlined};
use crate::reliability::dlq::headers;

/// The name of the dead-letter message in `components.messages`.
pub(super) const DEAD_LETTER: &str = "dead_letter";

/// `components.messages` and `components.schemas` for `event_types` and the dead letter.
pub(super) fn components<'a>(event_types: impl IntoIterator<Item = &'a str>) -> Value {
    let mut messages = Map::new();
    let mut schemas = Map::new();
    for event in event_types {
        let data = data_schema_of(event);
        let known = data.is_some();
        let mut data = data.unwrap_or_else(|| json!({}));
        if let Value::Object(map) = &mut data {
            map.remove("$schema");
            if !known {
                map.insert(
                    "description".into(),
                    json!(format!(
                        "The payload of `{event}`: its Rust type is not linked into this \
                         service, or does not derive `schemars::JsonSchema`."
                    )),
                );
            }
        }
        let data_ref = json!({ "$ref": format!("#/components/schemas/{event}.data") });
        let envelope = inlined(&envelope_schema_of(event, data_ref));
        schemas.insert(format!("{event}.data"), data);
        schemas.insert(event.to_owned(), envelope);
        messages.insert(event.to_owned(), message(event));
    }
    messages.insert(DEAD_LETTER.into(), dead_letter());
    json!({ "messages": messages, "schemas": schemas })
}

fn message(event: &str) -> Value {
    json!({
        "name": event,
        "title": event,
        "summary": format!("A streamkit envelope whose `event_type` is `{event}`."),
        "contentType": "application/json",
        "payload": { "$ref": format!("#/components/schemas/{event}") },
        "bindings": { "kafka": { "key": { "type": "string", "description": "The partition key." }, "bindingVersion": "0.5.0" } },
    })
}

/// The dead letter: the original record (key and value bytes unchanged, headers kept) plus the
/// `dlq.*` headers.
fn dead_letter() -> Value {
    let text = |description: &str| json!({ "type": "string", "description": description });
    let mut properties = Map::new();
    for (name, description) in [
        (
            headers::ORIGINAL_TOPIC,
            "The topic the message was read from.",
        ),
        (headers::ORIGINAL_PARTITION, "Its partition, decimal."),
        (headers::ORIGINAL_OFFSET, "Its offset, decimal."),
        (headers::ERROR, "The error text."),
        (
            headers::ERROR_KIND,
            "retryable, permanent, decode, contract or panic.",
        ),
        (
            headers::ATTEMPTS,
            "Handler attempts made (0 when it could not be decoded or broke the contract).",
        ),
        (
            headers::FIRST_FAILURE,
            "Time of the first failure, RFC 3339 UTC.",
        ),
        (
            headers::LAST_FAILURE,
            "Time of the last failure, RFC 3339 UTC.",
        ),
        (headers::SERVICE, "The service that gave up on it."),
        (headers::GROUP, "The consumer group that gave up on it."),
        (
            headers::VALUE_TRUNCATED,
            "`true` on a reference dead letter: the value is cut to its first bytes.",
        ),
        (
            headers::ORIGINAL_VALUE_BYTES,
            "On a reference dead letter: the original value's size in bytes.",
        ),
        (
            headers::VALUE_TRUNCATED_REASON,
            "On a reference dead letter: which limit refused the whole record, and how to raise it.",
        ),
    ] {
        properties.insert(name.into(), text(description));
    }
    if let Some(kind) = properties.get_mut(headers::ERROR_KIND) {
        kind["enum"] = json!(["retryable", "permanent", "decode", "contract", "panic"]);
    }
    json!({
        "name": DEAD_LETTER,
        "title": "Dead letter",
        "summary": concat!(
            "A message a handler gave up on: the original record, unchanged, with headers ",
            "that say what happened.",
        ),
        "description": concat!(
            "The original key and value bytes (a tombstone stays a tombstone), the original ",
            "headers kept, plus the `dlq.*` headers. A record too large to be written again is ",
            "a reference: the same key and `dlq.*` headers, `dlq.value_truncated = true`, and ",
            "the first bytes of the value.",
        ),
        "headers": {
            "type": "object",
            "required": [
                headers::ORIGINAL_TOPIC, headers::ORIGINAL_PARTITION, headers::ORIGINAL_OFFSET,
                headers::ERROR, headers::ERROR_KIND, headers::ATTEMPTS, headers::SERVICE, headers::GROUP,
            ],
            "properties": properties,
        },
        "payload": { "description": "The original record value, unchanged (or its first bytes, on a reference dead letter)." },
        "bindings": { "kafka": { "key": { "type": "string", "description": "The original key." }, "bindingVersion": "0.5.0" } },
    })
}
