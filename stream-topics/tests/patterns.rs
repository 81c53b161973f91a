//! Patterns: `*` as exactly one whole segment, matching, overlap, and every error message.

use stream_topics::{Topic, TopicErrorKind, TopicPattern};

fn p(s: &str) -> TopicPattern {
    TopicPattern::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn t(s: &str) -> Topic {
    Topic::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
fn valid_patterns() {
    for s in [
        "*.signals.raw",
        "paper.signals.*",
        "paper.*.raw",
        "*.*.*",
        "*.*",
        "paper.signals.raw",
    ] {
        assert_eq!(p(s).as_str(), s);
    }
}

#[test]
fn literal_patterns() {
    assert!(p("paper.signals.raw").is_literal());
    assert_eq!(
        p("paper.signals.raw").to_topic(),
        Some(t("paper.signals.raw"))
    );
    assert!(!p("*.signals.raw").is_literal());
    assert_eq!(p("*.signals.raw").to_topic(), None);
    assert_eq!(
        TopicPattern::from(t("paper.signals.raw")),
        p("paper.signals.raw")
    );
}

#[test]
fn broker_of_a_pattern() {
    assert_eq!(p("paper.*.raw").broker().unwrap().as_str(), "paper");
    assert_eq!(p("*.signals.raw").broker(), None);
}

#[test]
fn star_inside_a_segment() {
    let e = TopicPattern::parse("paper.sig*").unwrap_err();
    assert_eq!(e.kind(), TopicErrorKind::PartialWildcard);
    assert_eq!(
        e.to_string(),
        "pattern `paper.sig*` has `*` inside the segment `sig*`; `*` stands for exactly one whole \
         segment: did you mean `paper.*`?"
    );
    assert_eq!(e.suggestion(), Some("paper.*"));

    let e = TopicPattern::parse("**.signals.raw").unwrap_err();
    assert_eq!(
        e.to_string(),
        "pattern `**.signals.raw` has `*` inside the segment `**`; `*` stands for exactly one \
         whole segment: did you mean `*.signals.raw`?"
    );
    let e = TopicPattern::parse("paper.*signals*.raw").unwrap_err();
    assert_eq!(e.suggestion(), Some("paper.*.raw"));
}

#[test]
fn pattern_errors() {
    let msg = |s: &str| TopicPattern::parse(s).unwrap_err().to_string();
    assert_eq!(
        msg(""),
        "empty pattern; a pattern is a topic `<broker>.<domain>.<event>` in which `*` stands for \
         one whole segment, e.g. `*.signals.raw`"
    );
    assert_eq!(
        msg("*"),
        "pattern `*` has one segment, but needs at least two, the broker first; a pattern is a \
         topic `<broker>.<domain>.<event>` in which `*` stands for one whole segment, e.g. \
         `*.signals.raw`"
    );
    assert_eq!(
        msg("*.signals.>"),
        "pattern `*.signals.>` contains '>', which Kafka does not allow in topic names; use \
         letters, digits, `.`, `_` and `-`, and `*` for a whole segment"
    );
    assert_eq!(
        msg("*..raw"),
        "pattern `*..raw` has two dots in a row; did you mean `*.raw`?"
    );
    assert_eq!(
        msg("paper.signals.#"),
        "pattern `paper.signals.#` contains '#', which Kafka does not allow in topic names; use \
         letters, digits, `.`, `_` and `-`, and `*` for a whole segment"
    );
    let long = format!("*.{}", "x".repeat(248));
    assert_eq!(
        msg(&long),
        format!(
            "pattern `{long}` is 250 characters long; the topics it matches would be at least as \
             long, and Kafka allows at most 249"
        )
    );
}

#[test]
fn matching_is_segment_by_segment() {
    let raw = p("*.signals.raw");
    assert!(raw.matches(&t("paper.signals.raw")));
    assert!(raw.matches(&t("zerodha.signals.raw")));
    assert!(
        !raw.matches(&t("paper.signals.raw.dlq")),
        "one segment more"
    );
    assert!(
        !raw.matches(&t("a.b.signals.raw")),
        "`*` is one segment, not two"
    );
    assert!(!raw.matches(&t("paper.signals.rawx")));
    assert!(!raw.matches(&t("paper.signalsxraw.x")));
    assert!(!raw.matches(&t("signals.raw")));

    let paper = p("paper.signals.*");
    assert!(paper.matches(&t("paper.signals.validated")));
    assert!(!paper.matches(&t("zerodha.signals.validated")));
    assert!(!paper.matches(&t("paper.signals.raw.dlq")));

    assert!(p("paper.signals.raw").matches(&t("paper.signals.raw")));
    assert!(!p("paper.signals.raw").matches(&t("paper.signals.raw2")));
}

#[test]
fn overlap() {
    let overlaps = |a: &str, b: &str| {
        let (a, b) = (p(a), p(b));
        assert_eq!(a.overlaps(&b), b.overlaps(&a), "overlap is symmetric");
        a.overlaps(&b)
    };
    assert!(overlaps("*.signals.raw", "paper.signals.raw"));
    assert!(overlaps("*.signals.raw", "paper.*.raw"));
    assert!(overlaps("*.signals.raw", "*.signals.raw"));
    assert!(overlaps("*.*.*", "zerodha.orders.placed"));
    assert!(overlaps("paper.*.raw", "*.signals.*"));
    assert!(!overlaps("*.signals.raw", "*.signals.validated"));
    assert!(!overlaps("paper.*.raw", "zerodha.*.raw"));
    assert!(!overlaps("*.signals.raw", "*.signals.raw.dlq"));
    assert!(!overlaps("*.*", "*.*.*"));
    assert!(!overlaps("paper.signals.raw", "paper.signals.validated"));
}

#[test]
fn overlap_agrees_with_a_common_topic() {
    // Brute force over a small universe of topics: two patterns overlap exactly when some topic
    // matches both.
    let words = ["paper", "zerodha", "signals", "raw", "x"];
    let mut topics = Vec::new();
    for a in words {
        for b in words {
            topics.push(t(&format!("{a}.{b}")));
            for c in words {
                topics.push(t(&format!("{a}.{b}.{c}")));
            }
        }
    }
    let segs = ["*", "paper", "signals", "raw"];
    let mut patterns = Vec::new();
    for a in segs {
        for b in segs {
            patterns.push(p(&format!("{a}.{b}")));
            for c in segs {
                patterns.push(p(&format!("{a}.{b}.{c}")));
            }
        }
    }
    for a in &patterns {
        for b in &patterns {
            let common = topics.iter().any(|t| a.matches(t) && b.matches(t));
            assert_eq!(a.overlaps(b), common, "{a} and {b}");
        }
    }
}

#[test]
fn conversions() {
    let x: TopicPattern = "*.signals.raw".parse().unwrap();
    assert_eq!(x.to_string(), "*.signals.raw");
    assert_eq!(String::from(x.clone()), "*.signals.raw");
    assert_eq!(TopicPattern::try_from("*.signals.raw").unwrap(), x);
    assert!(TopicPattern::try_from(String::from("sig*.raw")).is_err());
    assert_eq!(x.segments().collect::<Vec<_>>(), ["*", "signals", "raw"]);
}
