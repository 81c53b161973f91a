//! `streamkit config`: the client settings in use, secrets redacted.

use serde_json::json;
use stream_core::kafka::config::is_secret_key;

use crate::connection::Connection;
use crate::failure::Outcome;
use crate::output::Output;

/// Prints each librdkafka property the command sets, `<redacted>` for secret values.
pub fn run(conn: &Connection, out: Output) -> Outcome {
    for (key, value) in conn.kafka.iter() {
        let value = if is_secret_key(key) {
            "<redacted>"
        } else {
            value
        };
        out.emit(
            || format!("{key} = {value}"),
            || json!({ "key": key, "value": value }),
        );
    }
    Ok(())
}
