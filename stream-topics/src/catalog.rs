//! [`Catalog`]: the `topics.toml` file that declares a service's brokers and topics.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use crate::broker::Broker;
use crate::error::{TopicError, TopicErrorKind};
use crate::grammar::{self, Kind, MAX_LEN};
use crate::pattern::TopicPattern;
use crate::suggest::closest;
use crate::topic::Topic;

/// The declared broker namespaces and topics of a service: the parsed `topics.toml`.
///
/// ```toml
/// brokers = ["paper", "zerodha"]   # the namespaces that `*` in the first segment stands for
///
/// [topics."signals.raw"]           # the topic name without its broker prefix
/// event = "trading_signal"         # the event type every envelope on it carries
/// partitions = 6
/// ```
///
/// Every declared name exists on every declared broker: the catalog above declares
/// `paper.signals.raw` and `zerodha.signals.raw`. Unknown keys are errors, so a misspelt
/// `partiton` is caught rather than ignored.
///
/// ```
/// use stream_topics::{Catalog, Topic};
/// let catalog = Catalog::parse(r#"
///     brokers = ["paper", "zerodha"]
///     [topics."signals.raw"]
///     event = "trading_signal"
///     partitions = 6
/// "#).unwrap();
/// let topic = Topic::parse("zerodha.signals.raw").unwrap();
/// assert_eq!(catalog.event_type_of(&topic), Some("trading_signal"));
/// assert_eq!(
///     catalog.check_topic(&Topic::parse("paper.signal.raw").unwrap()).unwrap_err().to_string(),
///     "unknown topic `paper.signal.raw`; did you mean `paper.signals.raw`? \
///      topics are declared in topics.toml"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    brokers: Vec<Broker>,
    topics: BTreeMap<String, TopicSpec>,
}

/// One declared topic name (without broker), the event type it carries and its partition count.
///
/// ```
/// use stream_topics::Catalog;
/// let catalog = Catalog::parse(r#"
///     brokers = ["paper"]
///     [topics."signals.raw"]
///     event = "trading_signal"
///     partitions = 6
/// "#).unwrap();
/// let spec = catalog.topic("signals.raw").unwrap();
/// assert_eq!((spec.name(), spec.event(), spec.partitions()), ("signals.raw", "trading_signal", 6));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    name: String,
    event: String,
    partitions: i32,
}

impl TopicSpec {
    /// The name without broker, the key in topics.toml: `signals.raw`.
    ///
    /// ```
    /// # let catalog = stream_topics::Catalog::parse("brokers = [\"paper\"]\n[topics.\"signals.raw\"]\nevent = \"trading_signal\"\npartitions = 6").unwrap();
    /// assert_eq!(catalog.topics().next().unwrap().name(), "signals.raw");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The event type every envelope on this topic carries: `trading_signal`.
    ///
    /// ```
    /// # let catalog = stream_topics::Catalog::parse("brokers = [\"paper\"]\n[topics.\"signals.raw\"]\nevent = \"trading_signal\"\npartitions = 6").unwrap();
    /// assert_eq!(catalog.topics().next().unwrap().event(), "trading_signal");
    /// ```
    pub fn event(&self) -> &str {
        &self.event
    }

    /// The partition count, at least 1 (an `i32`, as Kafka and rdkafka's admin API count them).
    ///
    /// ```
    /// # let catalog = stream_topics::Catalog::parse("brokers = [\"paper\"]\n[topics.\"signals.raw\"]\nevent = \"trading_signal\"\npartitions = 6").unwrap();
    /// assert_eq!(catalog.topics().next().unwrap().partitions(), 6);
    /// ```
    pub fn partitions(&self) -> i32 {
        self.partitions
    }
}

/// A `topics.toml` that cannot be used: a TOML syntax error, a missing, unknown or wrongly typed
/// key, or a value the grammar rejects.
///
/// `Display` reads `topics.toml:<line>:<column>: <message>` when the position is known, where the
/// message names the key and what was expected.
///
/// ```
/// use stream_topics::Catalog;
/// let err = Catalog::parse("brokers = [\"paper\"]\n[topics.\"signals.raw\"]\nevent = \"trading_signal\"\npartiton = 6\n").unwrap_err();
/// assert_eq!(err.line(), Some(4));
/// assert_eq!(err.key(), Some("topics.\"signals.raw\".partiton"));
/// assert_eq!(
///     err.to_string(),
///     "topics.toml:4:1: unknown key `partiton` in topic `signals.raw`; did you mean `partitions`? \
///      expected `event` or `partitions`"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogError {
    message: String,
    key: Option<String>,
    line: Option<usize>,
    column: Option<usize>,
}

impl CatalogError {
    fn at(input: &str, span: Option<Range<usize>>, key: Option<String>, message: String) -> Self {
        let (line, column) = match span {
            Some(span) => {
                let (line, column) = line_column(input, span.start);
                (Some(line), Some(column))
            }
            None => (None, None),
        };
        Self {
            message,
            key,
            line,
            column,
        }
    }

    /// What is wrong and what was expected, without the position.
    ///
    /// ```
    /// let err = stream_topics::Catalog::parse("brokers = []").unwrap_err();
    /// assert_eq!(
    ///     err.message(),
    ///     "`brokers` is empty; declare the broker namespaces, e.g. `brokers = [\"paper\", \"zerodha\"]`"
    /// );
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The TOML key at fault, as a dotted path (`topics."signals.raw".partitions`), when known.
    ///
    /// ```
    /// let err = stream_topics::Catalog::parse("brokers = []").unwrap_err();
    /// assert_eq!(err.key(), Some("brokers"));
    /// ```
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The 1-based line of the fault, when known.
    ///
    /// ```
    /// let err = stream_topics::Catalog::parse("\nbrokers = []").unwrap_err();
    /// assert_eq!(err.line(), Some(2));
    /// ```
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// The 1-based column (in characters) of the fault, when known.
    ///
    /// ```
    /// let err = stream_topics::Catalog::parse("brokers = []").unwrap_err();
    /// assert_eq!(err.column(), Some(11));
    /// ```
    pub fn column(&self) -> Option<usize> {
        self.column
    }
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(f, "topics.toml:{line}:{column}: {}", self.message)
            }
            _ => write!(f, "topics.toml: {}", self.message),
        }
    }
}

impl std::error::Error for CatalogError {}

fn line_column(input: &str, offset: usize) -> (usize, usize) {
    let before = &input[..offset.min(input.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// `topics."signals.raw".partitions`: a TOML key path, quoting segments that need it.
fn key_path(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| {
            if !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                (*p).to_owned()
            } else {
                format!("{p:?}")
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

type Entry<'a, 'i> = (&'a Spanned<DeString<'i>>, &'a Spanned<DeValue<'i>>);

/// The entries of a table in the order they appear in the file, so the first mistake reported is
/// the first one in the file whatever order `toml::map::Map` keeps.
fn in_file_order<'a, 'i>(table: &'a DeTable<'i>) -> Vec<Entry<'a, 'i>> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    entries
}

/// `a string "x"`, `the integer 0`, `a table`: a value as an error message quotes it.
fn describe(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(s) => format!("the string {:?}", s.as_ref()),
        DeValue::Integer(i) if i.radix() == 10 => format!("the integer {}", i.as_str()),
        DeValue::Float(f) => format!("the float {}", f.as_str()),
        DeValue::Boolean(b) => format!("the boolean {b}"),
        DeValue::Integer(_) => "an integer".to_owned(),
        DeValue::Datetime(_) => "a datetime".to_owned(),
        DeValue::Array(_) => "an array".to_owned(),
        DeValue::Table(_) => "a table".to_owned(),
    }
}

/// `unknown key `x`; did you mean `y`? …`: shared by every table of the file.
fn unknown_key(key: &str, place: &str, expected: &[&str]) -> String {
    let suggestion = closest(key, expected.iter().copied());
    let expected: Vec<String> = expected.iter().map(|k| format!("`{k}`")).collect();
    format!(
        "unknown key `{key}`{place}; {}expected {}",
        did_you_mean(suggestion),
        expected.join(" or ")
    )
}

impl Catalog {
    /// Parses the text of a `topics.toml`.
    ///
    /// `brokers` must be a non-empty list of distinct [`Broker`]s; `topics` (optional) maps each
    /// name without broker to its `event` (a non-empty string) and `partitions` (an integer of at
    /// least 1). A name must be a valid topic once a broker is put in front of it, and must not
    /// itself start with a declared broker (declare `signals.raw`, not `paper.signals.raw`); no
    /// two names may differ only by `.` against `_`, which Kafka would refuse to create. Any
    /// other key is an error that names it (with a "did you mean" for a misspelt one).
    ///
    /// ```
    /// use stream_topics::Catalog;
    /// let catalog = Catalog::parse(r#"
    ///     brokers = ["paper", "zerodha"]
    ///     [topics."signals.raw"]
    ///     event = "trading_signal"
    ///     partitions = 6
    /// "#).unwrap();
    /// assert_eq!(catalog.all_topics(), ["paper.signals.raw", "zerodha.signals.raw"]);
    ///
    /// let err = Catalog::parse("brokers = [\"paper\"]\nbrokerz = []\n").unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "topics.toml:2:1: unknown key `brokerz`; did you mean `brokers`? expected `brokers` or `topics`"
    /// );
    /// ```
    pub fn parse(input: &str) -> Result<Self, CatalogError> {
        let document = DeTable::parse(input).map_err(|e| {
            let mut message = e.message().trim_end().to_owned();
            if let Some(key) = e
                .span()
                .and_then(|s| input.get(s))
                .filter(|_| message == "duplicate key")
            {
                message = format!("duplicate key `{key}`; each key and each table appears once");
            }
            CatalogError::at(input, e.span(), None, message)
        })?;
        let err = |span: Range<usize>, key: &[&str], message: String| {
            CatalogError::at(input, Some(span), Some(key_path(key)), message)
        };

        let mut raw_brokers = None;
        let mut raw_topics = None;
        for (key, value) in in_file_order(document.get_ref()) {
            match key.get_ref().as_ref() {
                "brokers" => raw_brokers = Some(value),
                "topics" => raw_topics = Some(value),
                other => {
                    return Err(err(
                        key.span(),
                        &[other],
                        unknown_key(other, "", &["brokers", "topics"]),
                    ));
                }
            }
        }

        let brokers = Self::parse_brokers(raw_brokers, &err)?;
        let longest_broker = brokers
            .iter()
            .max_by_key(|b| b.as_str().len())
            .expect("brokers is not empty");

        let mut topics = BTreeMap::new();
        let raw_topics = match raw_topics.map(|t| (t, t.get_ref())) {
            None => Vec::new(),
            Some((_, DeValue::Table(table))) => in_file_order(table),
            Some((value, other)) => {
                return Err(err(
                    value.span(),
                    &["topics"],
                    format!(
                        "`topics` is {}; expected one table per topic, e.g. \
                         `[topics.\"signals.raw\"]`",
                        describe(other)
                    ),
                ));
            }
        };
        for (name, spec) in raw_topics {
            let name_span = name.span();
            let name: &str = name.get_ref().as_ref();
            let key = ["topics", name];
            grammar::validate(name, Kind::Name)
                .map_err(|e| err(name_span.clone(), &key, e.to_string()))?;
            let prefix = name.split_once('.').and_then(|(first, rest)| {
                Some((brokers.iter().find(|b| b.as_str() == first)?, rest))
            });
            if let Some((broker, rest)) = prefix {
                return Err(err(
                    name_span,
                    &key,
                    format!(
                        "topic `{name}` starts with the broker `{broker}`; declare topics without \
                         their broker, as `[topics.\"{rest}\"]`"
                    ),
                ));
            }
            // Kafka refuses a topic that differs from an existing one only by `.` against `_`
            // (they are the same name in its metrics).
            let folded = name.replace('.', "_");
            if let Some(other) = topics
                .keys()
                .find(|other: &&String| other.replace('.', "_") == folded)
            {
                return Err(err(
                    name_span,
                    &key,
                    format!(
                        "topic names `{other}` and `{name}` collide: Kafka reads `.` and `_` \
                         alike in metric names and refuses to create both; rename one"
                    ),
                ));
            }
            let full = longest_broker.as_str().len() + 1 + name.len();
            if full > MAX_LEN {
                return Err(err(
                    name_span,
                    &key,
                    format!(
                        "topic name `{name}` is too long: on broker `{longest_broker}` it makes a \
                         topic of {full} characters, and Kafka allows at most {MAX_LEN}"
                    ),
                ));
            }
            let spec = Self::parse_topic(name, name_span, spec, &err)?;
            topics.insert(name.to_owned(), spec);
        }
        Ok(Self { brokers, topics })
    }

    /// The table of one topic: `event` and `partitions`, nothing else.
    fn parse_topic(
        name: &str,
        name_span: Range<usize>,
        spec: &Spanned<DeValue<'_>>,
        err: &impl Fn(Range<usize>, &[&str], String) -> CatalogError,
    ) -> Result<TopicSpec, CatalogError> {
        let DeValue::Table(fields) = spec.get_ref() else {
            return Err(err(
                spec.span(),
                &["topics", name],
                format!(
                    "topic `{name}` is {}; expected a table with `event` and `partitions`, \
                     e.g. `[topics.\"signals.raw\"]`",
                    describe(spec.get_ref())
                ),
            ));
        };
        let mut event = None;
        let mut partitions = None;
        for (field, value) in in_file_order(fields) {
            match field.get_ref().as_ref() {
                "event" => event = Some(value),
                "partitions" => partitions = Some(value),
                other => {
                    let place = format!(" in topic `{name}`");
                    let mut message = unknown_key(other, &place, &["event", "partitions"]);
                    if value.get_ref().is_table() {
                        message.push_str(&format!(
                            ", and a topic name with dots is quoted, as \
                             `[topics.\"{name}.{other}\"]`"
                        ));
                    }
                    return Err(err(field.span(), &["topics", name, other], message));
                }
            }
        }

        let Some(event) = event else {
            return Err(err(
                name_span,
                &["topics", name],
                format!(
                    "topic `{name}` has no `event`; add the event type its envelopes carry, \
                     e.g. `event = \"trading_signal\"`"
                ),
            ));
        };
        let event = event
            .get_ref()
            .as_str()
            .filter(|s| !s.trim().is_empty() && s.trim() == *s)
            .ok_or_else(|| {
                err(
                    event.span(),
                    &["topics", name, "event"],
                    format!(
                        "`event` of topic `{name}` is {}; expected the event type its envelopes \
                         carry, without spaces around it, e.g. `event = \"trading_signal\"`",
                        describe(event.get_ref())
                    ),
                )
            })?
            .to_owned();

        let Some(partitions) = partitions else {
            return Err(err(
                name_span,
                &["topics", name],
                format!(
                    "topic `{name}` has no `partitions`; add its partition count, e.g. \
                     `partitions = 6`"
                ),
            ));
        };
        let partitions = partitions
            .get_ref()
            .as_integer()
            .and_then(|i| i64::from_str_radix(i.as_str(), i.radix()).ok())
            .and_then(|p| i32::try_from(p).ok())
            .filter(|p| *p >= 1)
            .ok_or_else(|| {
                err(
                    partitions.span(),
                    &["topics", name, "partitions"],
                    format!(
                        "`partitions` of topic `{name}` is {}; expected a whole number from 1 to {}",
                        describe(partitions.get_ref()),
                        i32::MAX
                    ),
                )
            })?;

        Ok(TopicSpec {
            name: name.to_owned(),
            event,
            partitions,
        })
    }

    fn parse_brokers(
        raw: Option<&Spanned<DeValue<'_>>>,
        err: &impl Fn(Range<usize>, &[&str], String) -> CatalogError,
    ) -> Result<Vec<Broker>, CatalogError> {
        const EXAMPLE: &str = "e.g. `brokers = [\"paper\", \"zerodha\"]`";
        let Some(raw) = raw else {
            return Err(CatalogError {
                message: format!("missing `brokers`; declare the broker namespaces, {EXAMPLE}"),
                key: Some("brokers".to_owned()),
                line: None,
                column: None,
            });
        };
        let DeValue::Array(items) = raw.get_ref() else {
            return Err(err(
                raw.span(),
                &["brokers"],
                format!(
                    "`brokers` is {}; expected a list of broker namespaces, {EXAMPLE}",
                    describe(raw.get_ref())
                ),
            ));
        };
        if items.is_empty() {
            return Err(err(
                raw.span(),
                &["brokers"],
                format!("`brokers` is empty; declare the broker namespaces, {EXAMPLE}"),
            ));
        }
        let mut brokers: Vec<Broker> = Vec::with_capacity(items.len());
        for item in items.iter() {
            let DeValue::String(name) = item.get_ref() else {
                return Err(err(
                    item.span(),
                    &["brokers"],
                    format!(
                        "`brokers` holds {}; expected broker names as strings, {EXAMPLE}",
                        describe(item.get_ref())
                    ),
                ));
            };
            let broker = Broker::new(name.as_ref())
                .map_err(|e| err(item.span(), &["brokers"], e.to_string()))?;
            if brokers.contains(&broker) {
                return Err(err(
                    item.span(),
                    &["brokers"],
                    format!("broker `{broker}` is listed twice in `brokers`; remove one"),
                ));
            }
            brokers.push(broker);
        }
        Ok(brokers)
    }

    /// The declared broker namespaces, in the order of `brokers`.
    ///
    /// ```
    /// let catalog = stream_topics::Catalog::parse(r#"brokers = ["paper", "zerodha"]"#).unwrap();
    /// let names: Vec<&str> = catalog.brokers().iter().map(|b| b.as_str()).collect();
    /// assert_eq!(names, ["paper", "zerodha"]);
    /// ```
    pub fn brokers(&self) -> &[Broker] {
        &self.brokers
    }

    /// The declared topics (names without broker), sorted by name.
    ///
    /// ```
    /// let catalog = stream_topics::Catalog::parse(r#"
    ///     brokers = ["paper"]
    ///     [topics."signals.validated"]
    ///     event = "validated_signal"
    ///     partitions = 6
    ///     [topics."signals.raw"]
    ///     event = "trading_signal"
    ///     partitions = 3
    /// "#).unwrap();
    /// let names: Vec<&str> = catalog.topics().map(|t| t.name()).collect();
    /// assert_eq!(names, ["signals.raw", "signals.validated"]);
    /// ```
    pub fn topics(&self) -> impl ExactSizeIterator<Item = &TopicSpec> + '_ {
        self.topics.values()
    }

    /// The declaration of one topic name without broker (`signals.raw`).
    ///
    /// ```
    /// let catalog = stream_topics::Catalog::parse("brokers = [\"paper\"]\n[topics.\"signals.raw\"]\nevent = \"trading_signal\"\npartitions = 6").unwrap();
    /// assert_eq!(catalog.topic("signals.raw").unwrap().partitions(), 6);
    /// assert!(catalog.topic("paper.signals.raw").is_none());
    /// ```
    pub fn topic(&self, name_without_broker: &str) -> Option<&TopicSpec> {
        self.topics.get(name_without_broker)
    }

    /// The declared topics `pattern` stands for, in the catalog's order ([`Catalog::all_topics`]).
    ///
    /// ```
    /// use stream_topics::{Catalog, TopicPattern};
    /// let catalog = Catalog::parse(r#"
    ///     brokers = ["paper", "zerodha"]
    ///     [topics."signals.raw"]
    ///     event = "trading_signal"
    ///     partitions = 6
    ///     [topics."signals.validated"]
    ///     event = "validated_signal"
    ///     partitions = 6
    /// "#).unwrap();
    /// let topics = catalog.expand(&TopicPattern::parse("*.signals.raw").unwrap());
    /// assert_eq!(topics, ["paper.signals.raw", "zerodha.signals.raw"]);
    /// ```
    pub fn expand(&self, pattern: &TopicPattern) -> Vec<Topic> {
        self.all_topics()
            .into_iter()
            .filter(|t| pattern.matches(t))
            .collect()
    }

    /// Every declared topic: each broker (in declared order) with each name (sorted).
    ///
    /// ```
    /// let catalog = stream_topics::Catalog::parse(r#"
    ///     brokers = ["zerodha", "paper"]
    ///     [topics."signals.raw"]
    ///     event = "trading_signal"
    ///     partitions = 6
    /// "#).unwrap();
    /// assert_eq!(catalog.all_topics(), ["zerodha.signals.raw", "paper.signals.raw"]);
    /// ```
    pub fn all_topics(&self) -> Vec<Topic> {
        self.brokers
            .iter()
            .flat_map(|b| {
                self.topics
                    .keys()
                    .map(move |name| Topic::from_valid(format!("{b}.{name}")))
            })
            .collect()
    }

    /// The declaration of a topic, if its broker and its name are both declared.
    ///
    /// ```
    /// use stream_topics::Topic;
    /// let catalog = stream_topics::Catalog::parse("brokers = [\"paper\"]\n[topics.\"signals.raw\"]\nevent = \"trading_signal\"\npartitions = 6").unwrap();
    /// assert!(catalog.spec_of(&Topic::parse("paper.signals.raw").unwrap()).is_some());
    /// assert!(catalog.spec_of(&Topic::parse("zerodha.signals.raw").unwrap()).is_none());
    /// ```
    pub fn spec_of(&self, topic: &Topic) -> Option<&TopicSpec> {
        self.has_broker(topic.broker_str())
            .then(|| self.topic(topic.name_without_broker()))
            .flatten()
    }

    /// The event type a declared topic carries; `None` if the topic is not declared.
    ///
    /// ```
    /// use stream_topics::Topic;
    /// let catalog = stream_topics::Catalog::parse("brokers = [\"paper\"]\n[topics.\"signals.raw\"]\nevent = \"trading_signal\"\npartitions = 6").unwrap();
    /// let t = Topic::parse("paper.signals.raw").unwrap();
    /// assert_eq!(catalog.event_type_of(&t), Some("trading_signal"));
    /// ```
    pub fn event_type_of(&self, topic: &Topic) -> Option<&str> {
        self.spec_of(topic).map(TopicSpec::event)
    }

    /// The event types carried by the declared topics a pattern matches; a handler on the pattern
    /// takes one payload type, so callers usually want exactly one.
    ///
    /// ```
    /// use stream_topics::TopicPattern;
    /// let catalog = stream_topics::Catalog::parse(r#"
    ///     brokers = ["paper", "zerodha"]
    ///     [topics."signals.raw"]
    ///     event = "trading_signal"
    ///     partitions = 6
    ///     [topics."signals.validated"]
    ///     event = "validated_signal"
    ///     partitions = 6
    /// "#).unwrap();
    /// let one = catalog.event_types_of(&TopicPattern::parse("*.signals.raw").unwrap());
    /// assert_eq!(one.into_iter().collect::<Vec<_>>(), ["trading_signal"]);
    /// let two = catalog.event_types_of(&TopicPattern::parse("paper.signals.*").unwrap());
    /// assert_eq!(two.into_iter().collect::<Vec<_>>(), ["trading_signal", "validated_signal"]);
    /// ```
    pub fn event_types_of(&self, pattern: &TopicPattern) -> BTreeSet<&str> {
        self.expand(pattern)
            .iter()
            .filter_map(|t| self.topic(t.name_without_broker()))
            .map(TopicSpec::event)
            .collect()
    }

    /// Checks that a topic is declared, with an error that names the mistake and, when one is
    /// close, the declared topic meant.
    ///
    /// ```
    /// use stream_topics::Topic;
    /// let catalog = stream_topics::Catalog::parse("brokers = [\"paper\", \"zerodha\"]\n[topics.\"signals.raw\"]\nevent = \"trading_signal\"\npartitions = 6").unwrap();
    /// assert!(catalog.check_topic(&Topic::parse("paper.signals.raw").unwrap()).is_ok());
    /// assert_eq!(
    ///     catalog.check_topic(&Topic::parse("live.signals.raw").unwrap()).unwrap_err().to_string(),
    ///     "unknown broker `live` in `live.signals.raw`; declared brokers: paper, zerodha"
    /// );
    /// ```
    pub fn check_topic(&self, topic: &Topic) -> Result<&TopicSpec, TopicError> {
        if let Some(spec) = self.spec_of(topic) {
            return Ok(spec);
        }
        let all = self.all_topics();
        let suggestion = closest(topic.as_str(), all.iter().map(Topic::as_str)).map(str::to_owned);
        if !self.has_broker(topic.broker_str()) {
            return Err(self.unknown_broker(topic.broker_str(), topic.as_str(), suggestion));
        }
        let did_you_mean = did_you_mean(suggestion.as_deref());
        Err(TopicError::new(
            TopicErrorKind::UnknownTopic,
            topic.as_str(),
            format!("unknown topic `{topic}`; {did_you_mean}topics are declared in topics.toml"),
        )
        .with_suggestion(suggestion))
    }

    /// Checks that a pattern names a declared broker (if its first segment is literal) and matches
    /// at least one declared topic; returns the topics it matches. A literal pattern is checked as
    /// a topic.
    ///
    /// ```
    /// use stream_topics::TopicPattern;
    /// let catalog = stream_topics::Catalog::parse("brokers = [\"paper\", \"zerodha\"]\n[topics.\"signals.raw\"]\nevent = \"trading_signal\"\npartitions = 6").unwrap();
    /// let topics = catalog.check_pattern(&TopicPattern::parse("*.signals.raw").unwrap()).unwrap();
    /// assert_eq!(topics, ["paper.signals.raw", "zerodha.signals.raw"]);
    /// assert_eq!(
    ///     catalog.check_pattern(&TopicPattern::parse("*.foo.*").unwrap()).unwrap_err().to_string(),
    ///     "pattern `*.foo.*` matches no declared topic; `*` stands for exactly one segment, \
    ///      and topics are declared in topics.toml"
    /// );
    /// ```
    pub fn check_pattern(&self, pattern: &TopicPattern) -> Result<Vec<Topic>, TopicError> {
        if let Some(topic) = pattern.to_topic() {
            self.check_topic(&topic)?;
            return Ok(vec![topic]);
        }
        let topics = self.expand(pattern);
        if !topics.is_empty() {
            return Ok(topics);
        }
        // Candidates: each declared topic of the same length with the pattern's `*`s put back.
        let mut candidates: Vec<String> = Vec::new();
        for topic in self.all_topics() {
            if topic.segments().count() != pattern.segments().count() {
                continue;
            }
            let candidate: Vec<&str> = pattern
                .segments()
                .zip(topic.segments())
                .map(|(p, t)| if p == "*" { "*" } else { t })
                .collect();
            let candidate = candidate.join(".");
            if !candidates.contains(&candidate) {
                candidates.push(candidate);
            }
        }
        let suggestion =
            closest(pattern.as_str(), candidates.iter().map(String::as_str)).map(str::to_owned);
        if let Some(broker) = pattern.broker().filter(|b| !self.has_broker(b.as_str())) {
            return Err(self.unknown_broker(broker.as_str(), pattern.as_str(), suggestion));
        }
        let did_you_mean = did_you_mean(suggestion.as_deref());
        Err(TopicError::new(
            TopicErrorKind::NoMatch,
            pattern.as_str(),
            format!(
                "pattern `{pattern}` matches no declared topic; {did_you_mean}`*` stands for \
                 exactly one segment, and topics are declared in topics.toml"
            ),
        )
        .with_suggestion(suggestion))
    }

    fn has_broker(&self, broker: &str) -> bool {
        self.brokers.iter().any(|b| b.as_str() == broker)
    }

    fn unknown_broker(&self, broker: &str, input: &str, suggestion: Option<String>) -> TopicError {
        let declared: Vec<&str> = self.brokers.iter().map(Broker::as_str).collect();
        let declared = declared.join(", ");
        let did_you_mean = did_you_mean(suggestion.as_deref());
        TopicError::new(
            TopicErrorKind::UnknownBroker,
            input,
            format!(
                "unknown broker `{broker}` in `{input}`; {did_you_mean}declared brokers: {declared}"
            ),
        )
        .with_suggestion(suggestion)
    }
}

fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion.map_or_else(String::new, |s| format!("did you mean `{s}`? "))
}

impl FromStr for Catalog {
    type Err = CatalogError;

    /// Same as [`Catalog::parse`].
    ///
    /// ```
    /// let catalog: stream_topics::Catalog = r#"brokers = ["paper"]"#.parse().unwrap();
    /// assert_eq!(catalog.brokers().len(), 1);
    /// ```
    fn from_str(s: &str) -> Result<Self, CatalogError> {
        Self::parse(s)
    }
}
