//! The regex librdkafka gets for a pattern matches exactly the topics the pattern stands for.
//!
//! librdkafka treats a subscription that starts with `^` as a regex and matches it against every
//! topic name in the cluster's metadata (POSIX `regcomp(REG_EXTENDED)` or its bundled engine).
//! Here the `regex` crate stands in for it: the regexes use only `^`, `$`, `\.` and `[^.]+`, which
//! all those engines read the same way.

use regex::Regex;
use stream_topics::{Topic, TopicPattern};

fn kafka_regex(pattern: &str) -> Regex {
    let p = TopicPattern::parse(pattern).unwrap();
    let re = p.to_kafka_regex();
    assert!(
        re.starts_with('^'),
        "librdkafka needs `^` to read a regex: {re}"
    );
    assert!(re.ends_with('$'), "anchored at the end: {re}");
    Regex::new(&re).unwrap()
}

/// Names a Kafka cluster may hold, including ones streamkit would not create itself.
const CLUSTER: &[&str] = &[
    "paper.signals.raw",
    "zerodha.signals.raw",
    "paper.signals.validated",
    "zerodha.signals.validated",
    "paper.signals.raw.dlq",
    "a.b.signals.raw",
    "signals.raw",
    "paper.signals.rawx",
    "xpaper.signals.raw",
    "paperxsignals.raw",
    "paper.signalsxraw",
    "paper-signals-raw",
    "paper_signals_raw",
    "paper..signals.raw",
    ".signals.raw",
    "paper.orders.placed",
    "__consumer_offsets",
    "paper.signals.raw.x.y",
];

fn matched(pattern: &str) -> Vec<&'static str> {
    let re = kafka_regex(pattern);
    CLUSTER.iter().copied().filter(|t| re.is_match(t)).collect()
}

#[test]
fn exact_strings() {
    let re = |s: &str| TopicPattern::parse(s).unwrap().to_kafka_regex();
    assert_eq!(re("*.signals.raw"), r"^[^.]+\.signals\.raw$");
    assert_eq!(re("paper.signals.*"), r"^paper\.signals\.[^.]+$");
    assert_eq!(re("paper.*.raw"), r"^paper\.[^.]+\.raw$");
    assert_eq!(re("*.*"), r"^[^.]+\.[^.]+$");
    assert_eq!(re("paper.signals.raw"), r"^paper\.signals\.raw$");
    assert_eq!(re("Pa_p-er.x-1.y_2"), r"^Pa_p-er\.x-1\.y_2$");
}

#[test]
fn star_broker() {
    assert_eq!(
        matched("*.signals.raw"),
        [
            "paper.signals.raw",
            "zerodha.signals.raw",
            "xpaper.signals.raw"
        ],
        "not paper.signals.raw.dlq, a.b.signals.raw, nor anything with `.` taken as any character"
    );
}

#[test]
fn star_event() {
    assert_eq!(
        matched("paper.signals.*"),
        [
            "paper.signals.raw",
            "paper.signals.validated",
            "paper.signals.rawx"
        ]
    );
}

#[test]
fn star_middle() {
    assert_eq!(matched("paper.*.raw"), ["paper.signals.raw"]);
}

#[test]
fn all_three_segment_topics() {
    assert_eq!(
        matched("*.*.*"),
        [
            "paper.signals.raw",
            "zerodha.signals.raw",
            "paper.signals.validated",
            "zerodha.signals.validated",
            "paper.signals.rawx",
            "xpaper.signals.raw",
            "paper.orders.placed",
        ]
    );
}

#[test]
fn literal_is_exact() {
    assert_eq!(matched("paper.signals.raw"), ["paper.signals.raw"]);
}

#[test]
fn regex_agrees_with_matches() {
    let patterns = [
        "*.signals.raw",
        "paper.signals.*",
        "paper.*.raw",
        "*.*.*",
        "*.*",
        "*.signals.raw.dlq",
        "*.*.*.*",
        "paper.signals.raw",
    ];
    for pattern in patterns {
        let re = kafka_regex(pattern);
        let p = TopicPattern::parse(pattern).unwrap();
        for name in CLUSTER {
            if let Ok(topic) = Topic::parse(name) {
                assert_eq!(re.is_match(name), p.matches(&topic), "{pattern} on {name}");
            } else {
                // a name streamkit would reject is never subscribed by a pattern
                assert!(!re.is_match(name), "{pattern} matched {name}");
            }
        }
    }
}

#[test]
fn only_portable_regex_syntax() {
    for pattern in ["*.signals.raw", "Pa_p-er.*.y_2", "*.*.*.*"] {
        let re = TopicPattern::parse(pattern).unwrap().to_kafka_regex();
        let rest = re
            .trim_start_matches('^')
            .trim_end_matches('$')
            .replace("[^.]+", "")
            .replace(r"\.", "");
        assert!(
            rest.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            "{re}"
        );
    }
}
