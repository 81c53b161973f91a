//! A service binary's logs as they land in a file: the risk-manager example, run on librdkafka's
//! in-process mock cluster (no broker named, so nothing shared), its stderr a file. In text
//! format the lines carry no ANSI colour codes; with `STREAMKIT_LOG_FORMAT=json` every line is a
//! JSON object with a level, a target and fields.

// Uses part of the shared module.
#[allow(dead_code)]
#[path = "../support/risk_manager_example.rs"]
mod risk_manager_example;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use risk_manager_example::{risk_manager, signal};

/// Runs the example until its consumers joined (or 30 s), stops it with SIGTERM, returns stderr.
fn run(format: Option<&str>) -> String {
    let log = std::env::temp_dir().join(format!("service-logs-{}.log", uuid::Uuid::now_v7()));
    let mut cmd = Command::new(risk_manager());
    cmd.env_remove("KAFKA_BOOTSTRAP_SERVERS")
        .env_remove("STREAMKIT_CONFIG")
        .env_remove("STREAMKIT_REDIS_URL")
        .env_remove("NO_COLOR")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    match format {
        Some(f) => cmd.env("STREAMKIT_LOG_FORMAT", f),
        None => cmd.env_remove("STREAMKIT_LOG_FORMAT"),
    };
    let mut child = cmd.spawn().expect("start the risk_manager example");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("partitions assigned") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    signal(&child, libc::SIGTERM);
    let status = child.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    assert!(status.success(), "the service failed: {text}");
    assert!(text.contains("partitions assigned"), "{text}");
    text
}

#[test]
fn text_logs_off_a_terminal_have_no_colour_codes() {
    let text = run(None);
    assert!(text.contains("service starting"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "ANSI escape codes in a log file:\n{text}"
    );
}

#[test]
fn json_logs_are_one_object_a_line() {
    let text = run(Some("json"));
    let mut lines = 0;
    for line in text.lines().filter(|l| l.starts_with('{')) {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v["level"].is_string() && v["target"].is_string(), "{line}");
        assert!(v["fields"].is_object(), "{line}");
        lines += 1;
    }
    // Lines not from the subscriber: the mock cluster's banner, printed before logging starts.
    let others: Vec<&str> = text.lines().filter(|l| !l.starts_with('{')).collect();
    assert!(lines >= 3, "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("\"message\":\"service starting\"")),
        "{text}"
    );
    assert!(
        others
            .iter()
            .all(|l| !l.contains(" INFO ") && !l.contains(" WARN ")),
        "text log lines in JSON mode: {others:?}"
    );
}
