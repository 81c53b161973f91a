//! What a valid concrete topic is, how the broker is read from it, and every error message.

use stream_topics::{Broker, Topic, TopicErrorKind};

fn topic(s: &str) -> Topic {
    Topic::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn error(s: &str) -> (TopicErrorKind, String, Option<String>) {
    let e = Topic::parse(s).expect_err(s);
    assert_eq!(e.input(), s);
    assert_eq!(e.message(), e.to_string());
    (e.kind(), e.to_string(), e.suggestion().map(str::to_owned))
}

#[test]
fn valid_topics() {
    for s in [
        "paper.signals.raw",
        "zerodha.signals.validated",
        "paper.heartbeats",               // two segments: broker and name
        "paper.signals.raw.dlq",          // more than three
        "Paper-1.orders_v2.placed-EOD.x", // every allowed character class
        "a.b",
    ] {
        assert_eq!(topic(s).as_str(), s);
    }
    let longest = format!("paper.{}", "x".repeat(249 - 6));
    assert_eq!(longest.len(), 249);
    assert_eq!(topic(&longest).as_str(), longest);
}

#[test]
fn empty() {
    assert_eq!(
        error(""),
        (
            TopicErrorKind::Empty,
            "empty topic; a topic is `<broker>.<domain>.<event>`, e.g. `paper.signals.raw`".into(),
            None
        )
    );
}

#[test]
fn characters_kafka_rejects() {
    assert_eq!(
        error("paper.signals raw"),
        (
            TopicErrorKind::InvalidCharacter,
            "topic `paper.signals raw` contains ' ', which Kafka does not allow in topic names; \
             use letters, digits, `.`, `_` and `-`"
                .into(),
            None
        )
    );
    assert_eq!(
        error("paper/signals/raw").1,
        "topic `paper/signals/raw` contains '/', which Kafka does not allow in topic names; \
         use letters, digits, `.`, `_` and `-`"
    );
    assert_eq!(
        error("paper.sígnals.raw").1,
        "topic `paper.sígnals.raw` contains 'í', which Kafka does not allow in topic names; \
         use letters, digits, `.`, `_` and `-`"
    );
    assert_eq!(
        error("paper.signals.raw\n").0,
        TopicErrorKind::InvalidCharacter
    );
}

#[test]
fn wildcard_is_for_patterns() {
    assert_eq!(
        error("paper.*.raw"),
        (
            TopicErrorKind::Wildcard,
            "topic `paper.*.raw` contains `*`, which only patterns may; name one concrete topic, \
             or use a pattern to match several"
                .into(),
            None
        )
    );
}

#[test]
fn empty_segments() {
    assert_eq!(
        error("paper..signals.raw"),
        (
            TopicErrorKind::EmptySegment,
            "topic `paper..signals.raw` has two dots in a row; did you mean `paper.signals.raw`?"
                .into(),
            Some("paper.signals.raw".into())
        )
    );
    assert_eq!(
        error(".paper.signals"),
        (
            TopicErrorKind::EmptySegment,
            "topic `.paper.signals` starts with a dot; did you mean `paper.signals`?".into(),
            Some("paper.signals".into())
        )
    );
    assert_eq!(
        error("paper.signals."),
        (
            TopicErrorKind::EmptySegment,
            "topic `paper.signals.` ends with a dot; did you mean `paper.signals`?".into(),
            Some("paper.signals".into())
        )
    );
    // no suggestion when removing the empty segments leaves no valid topic
    assert_eq!(
        error("signals."),
        (
            TopicErrorKind::EmptySegment,
            "topic `signals.` ends with a dot; a topic is `<broker>.<domain>.<event>`, \
             e.g. `paper.signals.raw`"
                .into(),
            None
        )
    );
}

#[test]
fn kafka_reserved_dot_names() {
    // Kafka forbids `.` and `..`; they are caught as empty segments.
    assert_eq!(
        error("."),
        (
            TopicErrorKind::EmptySegment,
            "topic `.` starts with a dot; a topic is `<broker>.<domain>.<event>`, \
             e.g. `paper.signals.raw`"
                .into(),
            None
        )
    );
    assert_eq!(
        error("..").1,
        "topic `..` starts with a dot; a topic is `<broker>.<domain>.<event>`, \
         e.g. `paper.signals.raw`"
    );
}

#[test]
fn shape_needs_a_broker() {
    assert_eq!(
        error("signals"),
        (
            TopicErrorKind::Shape,
            "topic `signals` has one segment, but needs at least two, the broker first; \
             a topic is `<broker>.<domain>.<event>`, e.g. `paper.signals.raw`"
                .into(),
            None
        )
    );
}

#[test]
fn too_long() {
    let name = format!("paper.{}", "x".repeat(250 - 6));
    assert_eq!(name.len(), 250);
    assert_eq!(
        error(&name),
        (
            TopicErrorKind::TooLong,
            format!("topic `{name}` is 250 characters long; Kafka allows at most 249"),
            None
        )
    );
}

#[test]
fn broker_and_name() {
    let t = topic("zerodha.signals.raw");
    assert_eq!(t.broker(), Broker::new("zerodha").unwrap());
    assert_eq!(t.broker_str(), "zerodha");
    assert_eq!(t.name_without_broker(), "signals.raw");
    assert_eq!(
        t.segments().collect::<Vec<_>>(),
        ["zerodha", "signals", "raw"]
    );
    let t = topic("paper.signals.raw.dlq");
    assert_eq!(t.broker_str(), "paper");
    assert_eq!(t.name_without_broker(), "signals.raw.dlq");
}

#[test]
fn answering_on_the_same_broker() {
    let incoming = topic("zerodha.signals.raw");
    assert_eq!(
        incoming.sibling("signals.validated").unwrap(),
        topic("zerodha.signals.validated")
    );
    let zerodha = Broker::new("zerodha").unwrap();
    assert_eq!(
        Topic::for_broker(&zerodha, "signals.validated").unwrap(),
        topic("zerodha.signals.validated")
    );
    let paper = Broker::new("paper").unwrap();
    assert_eq!(
        incoming.with_broker(&paper).unwrap(),
        topic("paper.signals.raw")
    );
    // the rest is validated as part of the whole topic
    assert_eq!(
        incoming.sibling("signals.*").unwrap_err().to_string(),
        "topic `zerodha.signals.*` contains `*`, which only patterns may; name one concrete \
         topic, or use a pattern to match several"
    );
    assert_eq!(
        incoming.sibling("").unwrap_err().kind(),
        TopicErrorKind::EmptySegment
    );
    // a longer broker can push a long name past Kafka's limit
    let long = topic(&format!("a.{}", "x".repeat(247)));
    assert_eq!(
        long.with_broker(&paper).unwrap_err().kind(),
        TopicErrorKind::TooLong
    );
}

#[test]
fn broker_rules() {
    for ok in ["paper", "zerodha", "kite_2", "a-b"] {
        assert_eq!(Broker::new(ok).unwrap().as_str(), ok);
    }
    for bad in ["", "pa.per", "*", "pa per", "páper"] {
        let e = Broker::new(bad).unwrap_err();
        assert_eq!(e.kind(), TopicErrorKind::InvalidBroker);
        assert_eq!(
            e.to_string(),
            format!(
                "invalid broker `{bad}`: a broker is one topic segment of letters, digits, `_` or `-`"
            )
        );
    }
    let long = "b".repeat(248);
    assert_eq!(
        Broker::new(long.clone()).unwrap_err().to_string(),
        format!(
            "invalid broker `{long}`: a broker is at most 247 characters, so that \
             `<broker>.<name>` fits in Kafka's 249"
        )
    );
    assert!(Broker::new("b".repeat(247)).is_ok());
}

#[test]
fn conversions() {
    let t: Topic = "paper.signals.raw".parse().unwrap();
    assert_eq!(t, "paper.signals.raw");
    assert_eq!(t.to_string(), "paper.signals.raw");
    assert_eq!(String::from(t.clone()), "paper.signals.raw");
    assert_eq!(Topic::try_from("paper.signals.raw").unwrap(), t);
    assert!(Topic::try_from(String::from("signals")).is_err());
    let set: std::collections::HashSet<Topic> = [t.clone()].into();
    assert!(set.contains("paper.signals.raw")); // Borrow<str>
}

#[test]
fn serde_validates() {
    #[derive(serde::Deserialize, serde::Serialize, Debug)]
    struct Conf {
        topic: Topic,
        broker: Broker,
    }
    let conf: Conf = toml::from_str("topic = \"paper.signals.raw\"\nbroker = \"paper\"").unwrap();
    assert_eq!(conf.topic, "paper.signals.raw");
    assert_eq!(conf.broker.as_str(), "paper");
    assert_eq!(
        toml::to_string(&conf).unwrap(),
        "topic = \"paper.signals.raw\"\nbroker = \"paper\"\n"
    );
    let err = toml::from_str::<Conf>("topic = \"signals\"\nbroker = \"paper\"").unwrap_err();
    assert!(
        err.message().starts_with("topic `signals` has one segment"),
        "{err}"
    );
}
