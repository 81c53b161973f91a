//! topics.toml: parsing, every error (with key, line and column), checks and "did you mean".

use stream_topics::{Catalog, Topic, TopicErrorKind, TopicPattern};

const TOPICS_TOML: &str = r#"
brokers = ["paper", "zerodha"]   # the namespaces that `*` in the first segment stands for

[topics."signals.raw"]           # the topic name without its broker prefix
event = "trading_signal"         # the event type every envelope on it carries
partitions = 6

[topics."signals.validated"]
event = "validated_signal"
partitions = 6

[topics."orders.placed"]
event = "order_placed"
partitions = 3
"#;

fn catalog() -> Catalog {
    Catalog::parse(TOPICS_TOML).unwrap()
}

fn t(s: &str) -> Topic {
    Topic::parse(s).unwrap()
}

fn p(s: &str) -> TopicPattern {
    TopicPattern::parse(s).unwrap()
}

/// The error for a catalog text, as (display, key).
fn parse_error(text: &str) -> (String, Option<String>) {
    let e = Catalog::parse(text).unwrap_err();
    (e.to_string(), e.key().map(str::to_owned))
}

#[test]
fn parses_the_architecture_example() {
    let c = catalog();
    let brokers: Vec<&str> = c.brokers().iter().map(|b| b.as_str()).collect();
    assert_eq!(brokers, ["paper", "zerodha"]);
    let topics: Vec<(&str, &str, i32)> = c
        .topics()
        .map(|s| (s.name(), s.event(), s.partitions()))
        .collect();
    assert_eq!(
        topics,
        [
            ("orders.placed", "order_placed", 3),
            ("signals.raw", "trading_signal", 6),
            ("signals.validated", "validated_signal", 6),
        ]
    );
    assert_eq!(
        c.all_topics(),
        [
            "paper.orders.placed",
            "paper.signals.raw",
            "paper.signals.validated",
            "zerodha.orders.placed",
            "zerodha.signals.raw",
            "zerodha.signals.validated",
        ]
    );
    assert_eq!(c.topic("signals.raw").unwrap().partitions(), 6);
    assert!(c.topic("paper.signals.raw").is_none());
}

#[test]
fn topics_table_is_optional() {
    let c: Catalog = r#"brokers = ["paper"]"#.parse().unwrap();
    assert_eq!(c.topics().len(), 0);
    assert!(c.all_topics().is_empty());
}

#[test]
fn event_types() {
    let c = catalog();
    assert_eq!(
        c.event_type_of(&t("zerodha.signals.raw")),
        Some("trading_signal")
    );
    assert_eq!(
        c.event_type_of(&t("paper.orders.placed")),
        Some("order_placed")
    );
    assert_eq!(c.event_type_of(&t("live.signals.raw")), None);
    assert_eq!(c.event_type_of(&t("paper.signals.other")), None);
    let types = |s: &str| c.event_types_of(&p(s)).into_iter().collect::<Vec<_>>();
    assert_eq!(types("*.signals.raw"), ["trading_signal"]);
    assert_eq!(
        types("paper.signals.*"),
        ["trading_signal", "validated_signal"]
    );
    assert_eq!(
        types("*.*.*"),
        ["order_placed", "trading_signal", "validated_signal"]
    );
    assert!(types("*.nothing.*").is_empty());
}

#[test]
fn expand() {
    let c = catalog();
    assert_eq!(
        c.expand(&p("*.signals.raw")),
        ["paper.signals.raw", "zerodha.signals.raw"]
    );
    assert_eq!(
        c.expand(&p("zerodha.signals.*")),
        ["zerodha.signals.raw", "zerodha.signals.validated"]
    );
    assert_eq!(c.expand(&p("paper.orders.placed")), ["paper.orders.placed"]);
    assert!(c.expand(&p("*.signals")).is_empty());
    assert!(c.expand(&p("live.signals.raw")).is_empty());
}

#[test]
fn check_declared_topic() {
    let c = catalog();
    let spec = c.check_topic(&t("zerodha.signals.validated")).unwrap();
    assert_eq!(
        (spec.name(), spec.event()),
        ("signals.validated", "validated_signal")
    );
}

#[test]
fn unknown_topic_with_a_suggestion() {
    let e = catalog().check_topic(&t("paper.signal.raw")).unwrap_err();
    assert_eq!(e.kind(), TopicErrorKind::UnknownTopic);
    assert_eq!(
        e.to_string(),
        "unknown topic `paper.signal.raw`; did you mean `paper.signals.raw`? topics are declared \
         in topics.toml"
    );
    assert_eq!(e.suggestion(), Some("paper.signals.raw"));
    // the same broker wins over the same name on another broker
    let e = catalog()
        .check_topic(&t("zerodha.signals.validate"))
        .unwrap_err();
    assert_eq!(e.suggestion(), Some("zerodha.signals.validated"));
}

#[test]
fn unknown_topic_without_a_suggestion() {
    let e = catalog()
        .check_topic(&t("paper.positions.closed"))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "unknown topic `paper.positions.closed`; topics are declared in topics.toml"
    );
    assert_eq!(e.suggestion(), None);
}

#[test]
fn unknown_broker() {
    let e = catalog().check_topic(&t("live.signals.raw")).unwrap_err();
    assert_eq!(e.kind(), TopicErrorKind::UnknownBroker);
    assert_eq!(
        e.to_string(),
        "unknown broker `live` in `live.signals.raw`; declared brokers: paper, zerodha"
    );
    let e = catalog()
        .check_topic(&t("zerodah.signals.raw"))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "unknown broker `zerodah` in `zerodah.signals.raw`; did you mean `zerodha.signals.raw`? \
         declared brokers: paper, zerodha"
    );
    assert_eq!(e.suggestion(), Some("zerodha.signals.raw"));
}

#[test]
fn check_patterns() {
    let c = catalog();
    assert_eq!(
        c.check_pattern(&p("*.signals.raw")).unwrap(),
        ["paper.signals.raw", "zerodha.signals.raw"]
    );
    assert_eq!(
        c.check_pattern(&p("paper.signals.raw")).unwrap(),
        ["paper.signals.raw"]
    );
    // a literal pattern is checked as a topic
    assert_eq!(
        c.check_pattern(&p("paper.signal.raw"))
            .unwrap_err()
            .to_string(),
        "unknown topic `paper.signal.raw`; did you mean `paper.signals.raw`? topics are declared \
         in topics.toml"
    );
}

#[test]
fn pattern_matching_nothing() {
    let c = catalog();
    let e = c.check_pattern(&p("*.foo.*")).unwrap_err();
    assert_eq!(e.kind(), TopicErrorKind::NoMatch);
    assert_eq!(
        e.to_string(),
        "pattern `*.foo.*` matches no declared topic; `*` stands for exactly one segment, and \
         topics are declared in topics.toml"
    );
    assert_eq!(e.suggestion(), None);

    let e = c.check_pattern(&p("*.signal.raw")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "pattern `*.signal.raw` matches no declared topic; did you mean `*.signals.raw`? `*` \
         stands for exactly one segment, and topics are declared in topics.toml"
    );
    assert_eq!(e.suggestion(), Some("*.signals.raw"));

    // `*` is one segment: `paper.*` does not reach `paper.signals.raw`
    assert_eq!(
        c.check_pattern(&p("paper.*")).unwrap_err().kind(),
        TopicErrorKind::NoMatch
    );
}

#[test]
fn pattern_with_unknown_broker() {
    let c = catalog();
    assert_eq!(
        c.check_pattern(&p("live.signals.*"))
            .unwrap_err()
            .to_string(),
        "unknown broker `live` in `live.signals.*`; declared brokers: paper, zerodha"
    );
    let e = c.check_pattern(&p("papr.signals.*")).unwrap_err();
    assert_eq!(e.kind(), TopicErrorKind::UnknownBroker);
    assert_eq!(
        e.to_string(),
        "unknown broker `papr` in `papr.signals.*`; did you mean `paper.signals.*`? declared \
         brokers: paper, zerodha"
    );
}

#[test]
fn unknown_keys_are_named() {
    assert_eq!(
        parse_error("brokers = [\"paper\"]\nbrokerz = []\n"),
        (
            "topics.toml:2:1: unknown key `brokerz`; did you mean `brokers`? expected `brokers`, \
             `defaults` or `topics`"
                .into(),
            Some("brokerz".into())
        )
    );
    assert_eq!(
        parse_error(
            "brokers = [\"paper\"]\n[topics.\"signals.raw\"]\nevent = \"trading_signal\"\n\
             partiton = 6\n"
        ),
        (
            "topics.toml:4:1: unknown key `partiton` in topic `signals.raw`; did you mean \
             `partitions`? expected `event`, `partitions`, `retention`, `cleanup_policy`, \
             `replication` or `dlq_retention`"
                .into(),
            Some("topics.\"signals.raw\".partiton".into())
        )
    );
    assert_eq!(
        parse_error(
            "brokers = [\"paper\"]\n[topics.\"signals.raw\"]\nevent = \"x\"\npartitions = 6\n\
             retension = \"7d\"\n"
        )
        .0,
        "topics.toml:5:1: unknown key `retension` in topic `signals.raw`; did you mean \
         `retention`? expected `event`, `partitions`, `retention`, `cleanup_policy`, \
         `replication` or `dlq_retention`"
    );
}

#[test]
fn unquoted_dotted_name_is_explained() {
    assert_eq!(
        parse_error("brokers = [\"paper\"]\n[topics.signals.raw]\nevent = \"x\"\npartitions = 6\n"),
        (
            "topics.toml:2:17: unknown key `raw` in topic `signals`; expected `event`, \
             `partitions`, `retention`, `cleanup_policy`, `replication` or `dlq_retention`, and \
             a topic name with dots is quoted, as `[topics.\"signals.raw\"]`"
                .into(),
            Some("topics.signals.raw".into())
        )
    );
}

#[test]
fn missing_keys() {
    assert_eq!(
        parse_error("[topics.\"signals.raw\"]\nevent = \"x\"\npartitions = 6\n"),
        (
            "topics.toml: missing `brokers`; declare the broker namespaces, e.g. \
             `brokers = [\"paper\", \"zerodha\"]`"
                .into(),
            Some("brokers".into())
        )
    );
    assert_eq!(
        parse_error("brokers = [\"paper\"]\n[topics.\"signals.raw\"]\nevent = \"x\"\n"),
        (
            "topics.toml:2:9: topic `signals.raw` has no `partitions`; add its partition count, \
             e.g. `partitions = 6`"
                .into(),
            Some("topics.\"signals.raw\"".into())
        )
    );
    assert_eq!(
        parse_error("brokers = [\"paper\"]\n[topics.\"signals.raw\"]\npartitions = 6\n").0,
        "topics.toml:2:9: topic `signals.raw` has no `event`; add the event type its envelopes \
         carry, e.g. `event = \"trading_signal\"`"
    );
}

#[test]
fn brokers_errors() {
    assert_eq!(
        parse_error("brokers = []\n"),
        (
            "topics.toml:1:11: `brokers` is empty; declare the broker namespaces, e.g. \
             `brokers = [\"paper\", \"zerodha\"]`"
                .into(),
            Some("brokers".into())
        )
    );
    assert_eq!(
        parse_error("brokers = \"paper\"\n").0,
        "topics.toml:1:11: `brokers` is the string \"paper\"; expected a list of broker \
         namespaces, e.g. `brokers = [\"paper\", \"zerodha\"]`"
    );
    assert_eq!(
        parse_error("brokers = [\"paper\", 7]\n").0,
        "topics.toml:1:21: `brokers` holds the integer 7; expected broker names as strings, e.g. \
         `brokers = [\"paper\", \"zerodha\"]`"
    );
    assert_eq!(
        parse_error("brokers = [\"paper\", \"pa.per\"]\n").0,
        "topics.toml:1:21: invalid broker `pa.per`: a broker is one topic segment of letters, \
         digits, `_` or `-`"
    );
    assert_eq!(
        parse_error("brokers = [\"paper\", \"paper\"]\n").0,
        "topics.toml:1:21: broker `paper` is listed twice in `brokers`; remove one"
    );
}

#[test]
fn topic_value_errors() {
    let with = |body: &str| parse_error(&format!("brokers = [\"paper\"]\n{body}"));
    assert_eq!(
        with("[topics.\"signals.raw\"]\nevent = \"trading_signal\"\npartitions = \"6\"\n"),
        (
            "topics.toml:4:14: `partitions` of topic `signals.raw` is the string \"6\"; expected \
             a whole number from 1 to 2147483647"
                .into(),
            Some("topics.\"signals.raw\".partitions".into())
        )
    );
    assert_eq!(
        with("[topics.\"signals.raw\"]\nevent = \"trading_signal\"\npartitions = 0\n").0,
        "topics.toml:4:14: `partitions` of topic `signals.raw` is the integer 0; expected a \
         whole number from 1 to 2147483647"
    );
    assert_eq!(
        with("[topics.\"signals.raw\"]\nevent = \"x\"\npartitions = 2147483648\n").0,
        "topics.toml:4:14: `partitions` of topic `signals.raw` is the integer 2147483648; \
         expected a whole number from 1 to 2147483647"
    );
    assert_eq!(
        with("[topics.\"signals.raw\"]\nevent = \"x\"\npartitions = 1.5\n").0,
        "topics.toml:4:14: `partitions` of topic `signals.raw` is the float 1.5; expected a \
         whole number from 1 to 2147483647"
    );
    assert_eq!(
        with("[topics.\"signals.raw\"]\nevent = \"\"\npartitions = 6\n"),
        (
            "topics.toml:3:9: `event` of topic `signals.raw` is the string \"\"; expected the \
             event type its envelopes carry, without spaces around it, e.g. \
             `event = \"trading_signal\"`"
                .into(),
            Some("topics.\"signals.raw\".event".into())
        )
    );
    assert_eq!(
        with("[topics.\"signals.raw\"]\nevent = \" x\"\npartitions = 6\n").0,
        "topics.toml:3:9: `event` of topic `signals.raw` is the string \" x\"; expected the \
         event type its envelopes carry, without spaces around it, e.g. \
         `event = \"trading_signal\"`"
    );
    assert_eq!(
        with("[topics.\"signals.raw\"]\nevent = true\npartitions = 6\n").0,
        "topics.toml:3:9: `event` of topic `signals.raw` is the boolean true; expected the \
         event type its envelopes carry, without spaces around it, e.g. \
         `event = \"trading_signal\"`"
    );
    assert_eq!(
        with("[topics]\nsignals = 3\n"),
        (
            "topics.toml:3:11: topic `signals` is the integer 3; expected a table with `event` \
             and `partitions`, e.g. `[topics.\"signals.raw\"]`"
                .into(),
            Some("topics.signals".into())
        )
    );
    assert_eq!(
        with("topics = [1]\n").0,
        "topics.toml:2:10: `topics` is an array; expected one table per topic, e.g. \
         `[topics.\"signals.raw\"]`"
    );
}

#[test]
fn topic_name_errors() {
    let with = |name: &str| {
        parse_error(&format!(
            "brokers = [\"paper\", \"zerodha\"]\n[topics.\"{name}\"]\nevent = \"x\"\npartitions = 1\n"
        ))
    };
    assert_eq!(
        with("signals..raw"),
        (
            "topics.toml:2:9: topic name `signals..raw` has two dots in a row; did you mean \
             `signals.raw`?"
                .into(),
            Some("topics.\"signals..raw\"".into())
        )
    );
    assert_eq!(
        with("signals.*").0,
        "topics.toml:2:9: topic name `signals.*` contains `*`; topics.toml declares concrete \
         topics, and `*` belongs in patterns"
    );
    assert_eq!(
        with("signals raw").0,
        "topics.toml:2:9: topic name `signals raw` contains ' ', which Kafka does not allow in \
         topic names; use letters, digits, `.`, `_` and `-`"
    );
    assert_eq!(
        with("").0,
        "topics.toml:2:9: empty topic name; topics.toml declares a topic without its broker, as \
         `<domain>.<event>`, e.g. `signals.raw`"
    );
    assert_eq!(
        with("zerodha.signals.raw"),
        (
            "topics.toml:2:9: topic `zerodha.signals.raw` starts with the broker `zerodha`; \
             declare topics without their broker, as `[topics.\"signals.raw\"]`"
                .into(),
            Some("topics.\"zerodha.signals.raw\"".into())
        )
    );
    // one segment is fine: with its broker it makes `paper.heartbeats`
    assert!(
        Catalog::parse(
            "brokers = [\"paper\"]\n[topics.heartbeats]\nevent = \"x\"\npartitions = 1\n"
        )
        .is_ok()
    );
    // with the longest broker, the full topic must fit in 249 characters
    let name = "x".repeat(249 - "zerodha.".len() + 1);
    assert_eq!(
        with(&name).0,
        format!(
            "topics.toml:2:9: topic name `{name}` is too long: on broker `zerodha` it makes a \
             topic of 250 characters, and Kafka allows at most 249"
        )
    );
    assert!(
        Catalog::parse(&format!(
            "brokers = [\"zerodha\"]\n[topics.\"{}\"]\nevent = \"x\"\npartitions = 1\n",
            &name[1..]
        ))
        .is_ok()
    );
}

#[test]
fn names_that_kafka_would_confuse() {
    assert_eq!(
        parse_error(
            "brokers = [\"paper\"]\n[topics.\"signals.raw\"]\nevent = \"x\"\npartitions = 1\n\
             [topics.signals_raw]\nevent = \"x\"\npartitions = 1\n"
        ),
        (
            "topics.toml:5:9: topic names `signals.raw` and `signals_raw` collide: Kafka reads `.` \
             and `_` alike in metric names and refuses to create both; rename one"
                .into(),
            Some("topics.signals_raw".into())
        )
    );
}

#[test]
fn first_mistake_in_the_file_is_reported() {
    // `zzz` sorts last but comes first in the file
    let text = "brokers = [\"paper\"]\n[topics.\"zzz\"]\nevent = \"\"\npartitions = 1\n\
                [topics.\"aaa\"]\nevent = \"x\"\npartitions = 0\n";
    assert_eq!(Catalog::parse(text).unwrap_err().line(), Some(3));
}

#[test]
fn toml_syntax_errors_have_a_position() {
    let e = Catalog::parse("brokers = [\"paper\"\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "topics.toml:1:19: unclosed array, expected `]`"
    );
    assert_eq!((e.line(), e.column(), e.key()), (Some(1), Some(19), None));
    assert_eq!(
        parse_error("brokers = [\"paper\"]\nbrokers = [\"paper\"]\n").0,
        "topics.toml:2:1: duplicate key `brokers`; each key and each table appears once"
    );
    assert_eq!(
        parse_error(
            "brokers = [\"paper\"]\n[topics.\"a.b\"]\nevent = \"x\"\npartitions = 1\n\
             [topics.\"a.b\"]\nevent = \"x\"\npartitions = 1\n"
        )
        .0,
        "topics.toml:5:9: duplicate key `\"a.b\"`; each key and each table appears once"
    );
}

#[test]
fn inline_tables_and_other_layouts() {
    let c = Catalog::parse(
        r#"
        brokers = ["paper"]
        topics = { "signals.raw" = { event = "trading_signal", partitions = 0x6 } }
        "#,
    )
    .unwrap();
    assert_eq!(c.topic("signals.raw").unwrap().partitions(), 6);
}
