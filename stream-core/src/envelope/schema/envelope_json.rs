//! The schema of the envelope itself, whatever its `data`: what `docs/envelope.schema.json`
//! holds (generated from [`envelope_schema`]; a test fails when the checked-in copy differs).

use serde_json::{Value, json};

/// The JSON Schema (draft 2020-12) of every envelope: it accepts what a reader accepts, and each
/// field's description gives the canonical form streamkit writes. `data` is any JSON value
/// here; [`envelope_schema_of`](super::envelope_schema_of) gives it an event's data schema.
pub fn envelope_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://example.invalid/streamkit/envelope.schema.json",
        "title": "streamkit event envelope, version 1",
        "description": "The value of every Kafka record a streamkit service writes or reads (see docs/wire-format.md). This schema accepts what a reader accepts; streamkit itself writes the canonical forms given in each field's description. Unknown fields are allowed and ignored, so older readers read newer envelopes.",
        "type": "object",
        "required": [
            "id",
            "correlation_id",
            "broker",
            "event_type",
            "source",
            "timestamp",
            "data"
        ],
        "properties": {
            "id": {
                "description": "This event's id and dedup key: a UUIDv7 (time-ordered), written lowercase and hyphenated.",
                "$ref": "#/$defs/uuid_v7"
            },
            "correlation_id": {
                "description": "Shared by every event of one chain: the id of the chain's first event.",
                "$ref": "#/$defs/uuid"
            },
            "causation_id": {
                "description": "The id of the event whose handler produced this one; null (or absent) for the first event of a chain.",
                "oneOf": [
                    {
                        "$ref": "#/$defs/uuid"
                    },
                    {
                        "type": "null"
                    }
                ],
                "default": null
            },
            "broker": {
                "description": "The trading-broker namespace: the first segment of the topic (`paper`, `zerodha`).",
                "type": "string",
                "pattern": "^[A-Za-z0-9_-]+$"
            },
            "event_type": {
                "description": "The event's type name. Known: market_tick, trading_signal, validated_signal, rejected_signal, order_placed, order_filled, order_failed, order_cancelled, pnl_snapshot, system_error, heartbeat; any other name is a custom type.",
                "type": "string",
                "minLength": 1,
                "examples": [
                    "trading_signal",
                    "order_filled"
                ]
            },
            "source": {
                "description": "The name of the service that produced the event.",
                "type": "string"
            },
            "timestamp": {
                "description": "When the event was made. Written RFC 3339 in UTC with `Z` and six fraction digits (2026-11-26T19:28:45.123456Z); read with `Z`, any offset (converted to UTC) or none (UTC), and zero to nine fraction digits.",
                "$ref": "#/$defs/timestamp"
            },
            "version": {
                "description": "The envelope schema version; 1 when absent.",
                "type": "integer",
                "minimum": 1,
                "maximum": u32::MAX,
                "default": 1
            },
            "data": {
                "description": "The payload: any JSON value, whose shape the event_type determines. Decimal amounts in it follow #/$defs/decimal."
            }
        },
        "additionalProperties": true,
        "$defs": {
            "uuid": {
                "type": "string",
                "pattern": "^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
            },
            "uuid_v7": {
                "type": "string",
                "pattern": "^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-7[0-9A-Fa-f]{3}-[89ABab][0-9A-Fa-f]{3}-[0-9A-Fa-f]{12}$"
            },
            "timestamp": {
                "type": "string",
                "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})?$",
                "examples": [
                    "2026-11-26T19:28:45.123456Z",
                    "2026-11-26T19:28:45.123456+00:00",
                    "2026-11-26T19:28:45.123456"
                ]
            },
            "decimal": {
                "description": "An exact decimal (rust_decimal::Decimal, Python decimal.Decimal): written as a JSON string, read from a string or a number, never through a binary float. At most 28 fraction digits and a magnitude below 2^96.",
                "oneOf": [
                    {
                        "type": "string",
                        "pattern": "^-?[0-9]+(\\.[0-9]+)?([eE][+-]?[0-9]+)?$"
                    },
                    {
                        "type": "number"
                    }
                ],
                "examples": [
                    "2450.55",
                    "0.0000000000000000000000000001",
                    "1E+2"
                ]
            }
        }
    })
}
