//! The validation rules shared by [`Topic`](crate::Topic), [`TopicPattern`](crate::TopicPattern)
//! and the topic names of the catalog. One function, so the three never disagree.

use crate::error::{TopicError, TopicErrorKind};

/// Kafka's longest topic name.
pub(crate) const MAX_LEN: usize = 249;

/// The shape of a streamkit topic, quoted in errors.
pub(crate) const SHAPE: &str = "a topic is `<broker>.<domain>.<event>`, e.g. `paper.signals.raw`";

/// What is being validated: decides the noun in messages and which rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A concrete topic: `paper.signals.raw`.
    Topic,
    /// A pattern: `*.signals.raw`.
    Pattern,
    /// A topic name without its broker, as declared in topics.toml: `signals.raw`.
    Name,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Topic => "topic",
            Kind::Pattern => "pattern",
            Kind::Name => "topic name",
        }
    }

    fn min_segments(self) -> usize {
        match self {
            Kind::Topic | Kind::Pattern => 2,
            Kind::Name => 1,
        }
    }

    fn shape(self) -> &'static str {
        match self {
            Kind::Topic => SHAPE,
            Kind::Pattern => {
                "a pattern is a topic `<broker>.<domain>.<event>` in which `*` stands for one whole \
                 segment, e.g. `*.signals.raw`"
            }
            Kind::Name => {
                "topics.toml declares a topic without its broker, as `<domain>.<event>`, e.g. \
                 `signals.raw`"
            }
        }
    }
}

fn is_kafka_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// Checks `s` against Kafka's rules and streamkit's shape. The order of the checks puts the most
/// actionable message first: a wrong character before a wrong length.
pub(crate) fn validate(s: &str, kind: Kind) -> Result<(), TopicError> {
    let noun = kind.noun();
    if s.is_empty() {
        return Err(TopicError::new(
            TopicErrorKind::Empty,
            s,
            format!("empty {noun}; {}", kind.shape()),
        ));
    }
    if let Some(c) = s.chars().find(|&c| !is_kafka_char(c) && c != '*') {
        let allowed = if kind == Kind::Pattern {
            "use letters, digits, `.`, `_` and `-`, and `*` for a whole segment"
        } else {
            "use letters, digits, `.`, `_` and `-`"
        };
        return Err(TopicError::new(
            TopicErrorKind::InvalidCharacter,
            s,
            format!(
                "{noun} `{s}` contains {c:?}, which Kafka does not allow in topic names; {allowed}"
            ),
        ));
    }
    if s.contains('*') {
        match kind {
            Kind::Topic => {
                return Err(TopicError::new(
                    TopicErrorKind::Wildcard,
                    s,
                    format!(
                        "topic `{s}` contains `*`, which only patterns may; name one concrete topic, \
                         or use a pattern to match several"
                    ),
                ));
            }
            Kind::Name => {
                return Err(TopicError::new(
                    TopicErrorKind::Wildcard,
                    s,
                    format!(
                        "topic name `{s}` contains `*`; topics.toml declares concrete topics, and `*` \
                         belongs in patterns"
                    ),
                ));
            }
            Kind::Pattern => {}
        }
    }
    if s.split('.').any(str::is_empty) {
        let what = if s.starts_with('.') {
            "starts with a dot"
        } else if s.ends_with('.') {
            "ends with a dot"
        } else {
            "has two dots in a row"
        };
        let cleaned: Vec<&str> = s.split('.').filter(|seg| !seg.is_empty()).collect();
        let fix = cleaned.join(".");
        return Err(
            if cleaned.len() >= kind.min_segments() && validate(&fix, kind).is_ok() {
                TopicError::new(
                    TopicErrorKind::EmptySegment,
                    s,
                    format!("{noun} `{s}` {what}; did you mean `{fix}`?"),
                )
                .with_suggestion(Some(fix))
            } else {
                TopicError::new(
                    TopicErrorKind::EmptySegment,
                    s,
                    format!("{noun} `{s}` {what}; {}", kind.shape()),
                )
            },
        );
    }
    if let Some(seg) = s.split('.').find(|seg| seg.contains('*') && *seg != "*") {
        let fix: Vec<&str> = s
            .split('.')
            .map(|x| if x.contains('*') { "*" } else { x })
            .collect();
        let fix = fix.join(".");
        return Err(TopicError::new(
            TopicErrorKind::PartialWildcard,
            s,
            format!(
                "pattern `{s}` has `*` inside the segment `{seg}`; `*` stands for exactly one whole \
                 segment: did you mean `{fix}`?"
            ),
        )
        .with_suggestion(Some(fix)));
    }
    if s.split('.').count() < kind.min_segments() {
        return Err(TopicError::new(
            TopicErrorKind::Shape,
            s,
            format!(
                "{noun} `{s}` has one segment, but needs at least two, the broker first; {}",
                kind.shape()
            ),
        ));
    }
    let len = s.len();
    if len > MAX_LEN {
        let why = if kind == Kind::Pattern {
            "the topics it matches would be at least as long, and "
        } else {
            ""
        };
        return Err(TopicError::new(
            TopicErrorKind::TooLong,
            s,
            format!("{noun} `{s}` is {len} characters long; {why}Kafka allows at most {MAX_LEN}"),
        ));
    }
    Ok(())
}
