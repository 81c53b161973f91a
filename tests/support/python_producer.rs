//! Records written the way a Python service writes them: `tests/python/produce.py raw` (aiokafka,
//! raw bytes, acks=all, in order), never through streamkit's encoder.
// Each test file includes this module and uses part of it.
#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

/// One record for `produce.py raw`.
pub struct Raw {
    pub topic: String,
    pub key: Option<String>,
    /// `value`, `value_repeat` or a null `value`, as produce.py reads them.
    pub value: Value,
    pub partition: i32,
    pub headers: Vec<(String, String)>,
}

impl Raw {
    /// A record with a UTF-8 value (`None`: a tombstone).
    pub fn text(topic: &str, key: &str, partition: i32, value: Option<&str>) -> Self {
        Self {
            topic: topic.to_owned(),
            key: Some(key.to_owned()),
            value: json!({ "value": value }),
            partition,
            headers: Vec::new(),
        }
    }

    /// A record whose value is `text` repeated `n` times.
    pub fn repeated(topic: &str, key: &str, partition: i32, text: &str, n: usize) -> Self {
        Self {
            value: json!({ "value_repeat": [text, n] }),
            ..Self::text(topic, key, partition, None)
        }
    }

    /// The same record with a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    fn line(&self) -> String {
        let mut rec = json!({
            "topic": self.topic,
            "key": self.key,
            "partition": self.partition,
            "headers": self.headers.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
        });
        for (k, v) in self.value.as_object().expect("a value object") {
            rec[k] = v.clone();
        }
        rec.to_string()
    }
}

/// Writes `records` with produce.py, in order; panics unless every one was acknowledged.
pub async fn produce(records: Vec<Raw>) {
    tokio::task::spawn_blocking(move || {
        let python = stream_core::testing::script("pyenv", &[]);
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/produce.py");
        let mut child = Command::new(python)
            .arg(script)
            .arg("raw")
            .env(
                "KAFKA_BOOTSTRAP_SERVERS",
                stream_core::testing::bootstrap_servers(),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("produce.py starts");
        {
            let mut stdin = child.stdin.take().expect("stdin");
            for r in &records {
                writeln!(stdin, "{}", r.line()).expect("write to produce.py");
            }
        }
        let out = child.wait_with_output().expect("produce.py ends");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success()
                && stdout
                    .trim_end()
                    .ends_with(&format!("sent {}", records.len())),
            "produce.py failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    })
    .await
    .expect("produce task");
}

/// A trading-signal envelope as a Python service writes it (pydantic's `model_dump_json`,
/// `isoformat()` timestamps), with `id` and the fields given.
pub fn signal_json(id: &str, broker: &str, event_type: &str, quantity: &str) -> String {
    format!(
        r#"{{"id":"{id}","correlation_id":"{id}","causation_id":null,"broker":"{broker}","event_type":"{event_type}","source":"py-strategy","timestamp":"2026-11-26T19:28:45.123456+00:00","version":1,"data":{{"symbol":"RELIANCE","quantity":{quantity},"price":"2450.55"}}}}"#
    )
}
