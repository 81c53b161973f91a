//! topics.toml's topic settings: `retention`, `cleanup_policy`, `replication`, `dlq_retention`,
//! `[defaults]`, what they become on the cluster, and every error they can give.

use std::time::Duration;

use stream_topics::{Catalog, CleanupPolicy, Retention};

/// The error for a catalog text, as (display, key).
fn parse_error(text: &str) -> (String, Option<String>) {
    let e = Catalog::parse(text).unwrap_err();
    (e.to_string(), e.key().map(str::to_owned))
}

/// A catalog of one topic `signals.raw` whose table ends with `extra` (line 5 on).
fn with_topic(extra: &str) -> String {
    format!(
        "brokers = [\"paper\"]\n[topics.\"signals.raw\"]\nevent = \"trading_signal\"\n\
         partitions = 6\n{extra}"
    )
}

/// The first error of a topic whose table ends with `extra`.
fn topic_error(extra: &str) -> (String, Option<String>) {
    parse_error(&with_topic(extra))
}

#[test]
fn every_setting_is_read() {
    let catalog = Catalog::parse(&with_topic(
        "retention = \"12h\"\ncleanup_policy = \"compact,delete\"\nreplication = 3\n\
         dlq_retention = \"30d\"\n",
    ))
    .unwrap();
    let spec = catalog.topic("signals.raw").unwrap();
    assert_eq!(
        spec.retention(),
        Some(Retention::For(Duration::from_secs(12 * 3600)))
    );
    assert_eq!(spec.cleanup_policy(), Some(CleanupPolicy::CompactDelete));
    assert_eq!(spec.replication(), Some(3));
    assert_eq!(spec.dlq_retention().unwrap().millis(), 30 * 86_400_000);
    assert_eq!(
        spec.topic_configs(),
        [
            ("cleanup.policy", "compact,delete".to_owned()),
            ("retention.ms", "43200000".to_owned())
        ]
    );
    assert_eq!(
        spec.dlq_topic_configs(),
        [("retention.ms", "2592000000".to_owned())]
    );
}

#[test]
fn settings_are_optional() {
    let catalog = Catalog::parse(&with_topic("")).unwrap();
    let spec = catalog.topic("signals.raw").unwrap();
    assert_eq!(
        (
            spec.retention(),
            spec.cleanup_policy(),
            spec.replication(),
            spec.dlq_retention()
        ),
        (None, None, None, None)
    );
    assert!(spec.topic_configs().is_empty());
    assert!(spec.dlq_topic_configs().is_empty());
}

#[test]
fn defaults_fill_what_a_topic_does_not_set() {
    let catalog = Catalog::parse(
        "brokers = [\"paper\"]\n\
         [defaults]\nretention = \"7d\"\nreplication = 3\ncleanup_policy = \"delete\"\n\
         dlq_retention = \"14d\"\n\
         [topics.\"signals.raw\"]\nevent = \"x\"\npartitions = 6\nretention = \"forever\"\n\
         [topics.\"orders.filled\"]\nevent = \"y\"\npartitions = 3\nreplication = 1\n",
    )
    .unwrap();
    let raw = catalog.topic("signals.raw").unwrap();
    assert_eq!(raw.retention(), Some(Retention::Forever));
    assert_eq!(raw.replication(), Some(3));
    assert_eq!(raw.cleanup_policy(), Some(CleanupPolicy::Delete));
    assert_eq!(raw.dlq_retention().unwrap().to_string(), "14d");
    let filled = catalog.topic("orders.filled").unwrap();
    assert_eq!(filled.retention().unwrap().to_string(), "7d");
    assert_eq!(filled.replication(), Some(1));
    assert_eq!(
        filled.topic_configs(),
        [
            ("cleanup.policy", "delete".to_owned()),
            ("retention.ms", "604800000".to_owned())
        ]
    );
}

#[test]
fn defaults_may_come_after_the_topics() {
    let catalog = Catalog::parse(
        "brokers = [\"paper\"]\n[topics.\"signals.raw\"]\nevent = \"x\"\npartitions = 6\n\
         [defaults]\nretention = \"30m\"\n",
    )
    .unwrap();
    assert_eq!(
        catalog
            .topic("signals.raw")
            .unwrap()
            .retention()
            .unwrap()
            .millis(),
        1_800_000
    );
}

#[test]
fn retention_units() {
    let ms = |text: &str| Retention::parse(text).map(|r| r.millis());
    assert_eq!(ms("500ms"), Some(500));
    assert_eq!(ms("90s"), Some(90_000));
    assert_eq!(ms("30m"), Some(1_800_000));
    assert_eq!(ms("12h"), Some(43_200_000));
    assert_eq!(ms("7d"), Some(604_800_000));
    assert_eq!(ms("2w"), Some(1_209_600_000));
    assert_eq!(ms("forever"), Some(-1));
    for bad in [
        "",
        "7",
        "d",
        "7 d",
        "7D",
        "-1d",
        "1.5h",
        "0ms",
        "Forever",
        "99999999999999w",
    ] {
        assert_eq!(ms(bad), None, "{bad:?}");
    }
    let shown = |text: &str| Retention::parse(text).unwrap().to_string();
    assert_eq!(shown("36h"), "36h");
    assert_eq!(shown("1440m"), "1d");
    assert_eq!(shown("1500ms"), "1500ms");
}

const RETENTION_EXPECTED: &str = "expected a duration of at least 1ms as a whole number and a \
     unit (ms, s, m, h, d or w), e.g. \"7d\", \"12h\" or \"30m\", or \"forever\"";

#[test]
fn retention_errors() {
    assert_eq!(
        topic_error("retention = \"7 days\"\n"),
        (
            format!(
                "topics.toml:5:13: `retention` of topic `signals.raw` is the string \"7 days\"; \
                 {RETENTION_EXPECTED}"
            ),
            Some("topics.\"signals.raw\".retention".into())
        )
    );
    assert_eq!(
        topic_error("retention = 7\n").0,
        format!(
            "topics.toml:5:13: `retention` of topic `signals.raw` is the integer 7; \
             {RETENTION_EXPECTED}"
        )
    );
    assert_eq!(
        topic_error("retention = \"0s\"\n").0,
        format!(
            "topics.toml:5:13: `retention` of topic `signals.raw` is the string \"0s\"; \
             {RETENTION_EXPECTED}"
        )
    );
}

#[test]
fn dlq_retention_errors() {
    assert_eq!(
        topic_error("dlq_retention = \"never\"\n"),
        (
            format!(
                "topics.toml:5:17: `dlq_retention` of topic `signals.raw` is the string \
                 \"never\"; {RETENTION_EXPECTED}"
            ),
            Some("topics.\"signals.raw\".dlq_retention".into())
        )
    );
}

#[test]
fn cleanup_policy_errors() {
    assert_eq!(
        topic_error("cleanup_policy = \"compacted\"\n"),
        (
            "topics.toml:5:18: `cleanup_policy` of topic `signals.raw` is the string \
             \"compacted\"; did you mean \"compact\"? expected \"delete\", \"compact\" or \
             \"compact,delete\""
                .into(),
            Some("topics.\"signals.raw\".cleanup_policy".into())
        )
    );
    assert_eq!(
        topic_error("cleanup_policy = [\"compact\", \"delete\"]\n").0,
        "topics.toml:5:18: `cleanup_policy` of topic `signals.raw` is an array; expected \
         \"delete\", \"compact\" or \"compact,delete\""
    );
}

#[test]
fn replication_errors() {
    let expected = "expected the number of copies of each partition, a whole number from 1 to \
                    32767 and at most the cluster's broker count";
    assert_eq!(
        topic_error("replication = 0\n"),
        (
            format!(
                "topics.toml:5:15: `replication` of topic `signals.raw` is the integer 0; \
                 {expected}"
            ),
            Some("topics.\"signals.raw\".replication".into())
        )
    );
    assert_eq!(
        topic_error("replication = \"3\"\n").0,
        format!(
            "topics.toml:5:15: `replication` of topic `signals.raw` is the string \"3\"; \
             {expected}"
        )
    );
    assert_eq!(
        topic_error("replication = 32768\n").0,
        format!(
            "topics.toml:5:15: `replication` of topic `signals.raw` is the integer 32768; \
             {expected}"
        )
    );
}

#[test]
fn defaults_errors() {
    let with = |body: &str| parse_error(&format!("brokers = [\"paper\"]\n{body}"));
    assert_eq!(
        with("[defaults]\nretention = \"1y\"\n"),
        (
            format!(
                "topics.toml:3:13: `retention` in `[defaults]` is the string \"1y\"; \
                 {RETENTION_EXPECTED}"
            ),
            Some("defaults.retention".into())
        )
    );
    assert_eq!(
        with("[defaults]\nretension = \"1d\"\n"),
        (
            "topics.toml:3:1: unknown key `retension` in `[defaults]`; did you mean \
             `retention`? expected `retention`, `cleanup_policy`, `replication` or \
             `dlq_retention`"
                .into(),
            Some("defaults.retension".into())
        )
    );
    assert_eq!(
        with("[defaults]\npartitions = 6\n").0,
        "topics.toml:3:1: unknown key `partitions` in `[defaults]`; expected `retention`, \
         `cleanup_policy`, `replication` or `dlq_retention`; `partitions` is declared by each \
         topic, in its `[topics.\"<name>\"]` table"
    );
    assert_eq!(
        with("defaults = 3\n"),
        (
            "topics.toml:2:12: `defaults` is the integer 3; expected a table of the settings \
             every topic takes unless it sets its own, e.g. `[defaults]` then \
             `retention = \"7d\"`"
                .into(),
            Some("defaults".into())
        )
    );
    assert_eq!(
        with("[defaults]\nreplication = -1\n").0,
        "topics.toml:3:15: `replication` in `[defaults]` is the integer -1; expected the \
         number of copies of each partition, a whole number from 1 to 32767 and at most the \
         cluster's broker count"
    );
}

#[test]
fn a_bad_default_is_reported_even_when_every_topic_overrides_it() {
    let text = "brokers = [\"paper\"]\n[defaults]\ncleanup_policy = \"keep\"\n\
                [topics.\"signals.raw\"]\nevent = \"x\"\npartitions = 1\n\
                cleanup_policy = \"delete\"\n";
    assert_eq!(Catalog::parse(text).unwrap_err().line(), Some(3));
}
