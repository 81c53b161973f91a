//! [`Catalog::parse`]: the text of a `topics.toml`, its top-level keys, brokers, `[defaults]` and
//! topic names. One topic's table is read by [`topic_table`](super::topic_table).

use std::collections::BTreeMap;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::broker::Broker;
use crate::catalog::catalog::Catalog;
use crate::catalog::error::{CatalogError, Source};
use crate::catalog::settings::{Place, SETTING_KEYS, Settings};
use crate::catalog::spec::TopicSpec;
use crate::catalog::topic_table::read_topic;
use crate::catalog::value::{Entry, describe, in_file_order, unknown_key};
use crate::grammar::{self, Kind, MAX_LEN};

type Value<'a, 'i> = &'a Spanned<DeValue<'i>>;

/// The top-level values of the file, each `None` when absent.
#[derive(Default)]
struct TopLevel<'a, 'i> {
    brokers: Option<Value<'a, 'i>>,
    defaults: Option<Value<'a, 'i>>,
    topics: Option<Value<'a, 'i>>,
}

impl Catalog {
    /// Parses the text of a `topics.toml`.
    ///
    /// `brokers` must be a non-empty list of distinct [`Broker`]s; `topics` (optional) maps each
    /// name without broker to its `event` (a non-empty string), `partitions` (an integer of at
    /// least 1) and optional settings (`retention`, `cleanup_policy`, `replication`,
    /// `dlq_retention`); `[defaults]` (optional) gives those settings to every topic that does
    /// not set them. A name must be a valid topic once a broker is put in front of it, and must
    /// not itself start with a declared broker (declare `signals.raw`, not `paper.signals.raw`);
    /// no two names may differ only by `.` against `_`, which Kafka would refuse to create. Any
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
    ///     "topics.toml:2:1: unknown key `brokerz`; did you mean `brokers`? expected `brokers`, \
    ///      `defaults` or `topics`"
    /// );
    /// ```
    pub fn parse(input: &str) -> Result<Self, CatalogError> {
        let document = toml_document(input)?;
        let source = Source { text: input };
        let top = top_level(document.get_ref(), source)?;
        let brokers = read_brokers(top.brokers, source)?;
        let defaults = read_defaults(top.defaults, source)?;
        let topics = read_topics(top.topics, &brokers, &defaults, source)?;
        Ok(Self { brokers, topics })
    }
}

/// The TOML document, or its syntax error at its position.
fn toml_document(input: &str) -> Result<Spanned<DeTable<'_>>, CatalogError> {
    DeTable::parse(input).map_err(|e| {
        let mut message = e.message().trim_end().to_owned();
        if let Some(key) = e
            .span()
            .and_then(|s| input.get(s))
            .filter(|_| message == "duplicate key")
        {
            message = format!("duplicate key `{key}`; each key and each table appears once");
        }
        CatalogError::at(input, e.span(), None, message)
    })
}

fn top_level<'a, 'i>(
    document: &'a DeTable<'i>,
    source: Source<'_>,
) -> Result<TopLevel<'a, 'i>, CatalogError> {
    let mut top = TopLevel::default();
    for (key, value) in in_file_order(document) {
        match key.get_ref().as_ref() {
            "brokers" => top.brokers = Some(value),
            "defaults" => top.defaults = Some(value),
            "topics" => top.topics = Some(value),
            other => {
                let message = unknown_key(other, "", &["brokers", "defaults", "topics"]);
                return Err(source.error(key.span(), &[other], message));
            }
        }
    }
    Ok(top)
}

fn read_brokers(
    raw: Option<Value<'_, '_>>,
    source: Source<'_>,
) -> Result<Vec<Broker>, CatalogError> {
    const EXAMPLE: &str = "e.g. `brokers = [\"paper\", \"zerodha\"]`";
    let Some(raw) = raw else {
        let message = format!("missing `brokers`; declare the broker namespaces, {EXAMPLE}");
        return Err(CatalogError::at(
            source.text,
            None,
            Some("brokers".to_owned()),
            message,
        ));
    };
    let err = |span, message: String| source.error(span, &["brokers"], message);
    let DeValue::Array(items) = raw.get_ref() else {
        let what = describe(raw.get_ref());
        return Err(err(
            raw.span(),
            format!("`brokers` is {what}; expected a list of broker namespaces, {EXAMPLE}"),
        ));
    };
    if items.is_empty() {
        return Err(err(
            raw.span(),
            format!("`brokers` is empty; declare the broker namespaces, {EXAMPLE}"),
        ));
    }
    let mut brokers: Vec<Broker> = Vec::with_capacity(items.len());
    for item in items.iter() {
        let DeValue::String(name) = item.get_ref() else {
            let what = describe(item.get_ref());
            return Err(err(
                item.span(),
                format!("`brokers` holds {what}; expected broker names as strings, {EXAMPLE}"),
            ));
        };
        let broker = Broker::new(name.as_ref()).map_err(|e| err(item.span(), e.to_string()))?;
        if brokers.contains(&broker) {
            return Err(err(
                item.span(),
                format!("broker `{broker}` is listed twice in `brokers`; remove one"),
            ));
        }
        brokers.push(broker);
    }
    Ok(brokers)
}

/// `[defaults]`: the settings of every topic that does not set its own, and nothing else
/// (`event` and `partitions` belong to each topic).
fn read_defaults(raw: Option<Value<'_, '_>>, source: Source<'_>) -> Result<Settings, CatalogError> {
    let mut defaults = Settings::default();
    let Some(raw) = raw else {
        return Ok(defaults);
    };
    let DeValue::Table(table) = raw.get_ref() else {
        let message = format!(
            "`defaults` is {}; expected a table of the settings every topic takes unless it sets \
             its own, e.g. `[defaults]` then `retention = \"7d\"`",
            describe(raw.get_ref())
        );
        return Err(source.error(raw.span(), &["defaults"], message));
    };
    for (key, value) in in_file_order(table) {
        let key_name: &str = key.get_ref().as_ref();
        if defaults.read(key_name, value, Place::Defaults, source)? {
            continue;
        }
        let mut message = unknown_key(key_name, " in `[defaults]`", &SETTING_KEYS);
        if matches!(key_name, "event" | "partitions") {
            message.push_str(&format!(
                "; `{key_name}` is declared by each topic, in its `[topics.\"<name>\"]` table"
            ));
        }
        return Err(source.error(key.span(), &["defaults", key_name], message));
    }
    Ok(defaults)
}

fn read_topics(
    raw: Option<Value<'_, '_>>,
    brokers: &[Broker],
    defaults: &Settings,
    source: Source<'_>,
) -> Result<BTreeMap<String, TopicSpec>, CatalogError> {
    let mut topics = BTreeMap::new();
    for (name, table) in topic_entries(raw, source)? {
        let name_span = name.span();
        let name: &str = name.get_ref().as_ref();
        check_name(name, name_span.clone(), brokers, &topics, source)?;
        let spec = read_topic(name, name_span, table, defaults, source)?;
        topics.insert(name.to_owned(), spec);
    }
    Ok(topics)
}

/// The `name = table` entries of `topics`, in file order.
fn topic_entries<'a, 'i>(
    raw: Option<Value<'a, 'i>>,
    source: Source<'_>,
) -> Result<Vec<Entry<'a, 'i>>, CatalogError> {
    match raw.map(|t| (t, t.get_ref())) {
        None => Ok(Vec::new()),
        Some((_, DeValue::Table(table))) => Ok(in_file_order(table)),
        Some((value, other)) => Err(source.error(
            value.span(),
            &["topics"],
            format!(
                "`topics` is {}; expected one table per topic, e.g. `[topics.\"signals.raw\"]`",
                describe(other)
            ),
        )),
    }
}

/// A declared name: a valid topic once a broker is put in front, without a broker of its own,
/// not colliding with an earlier one, short enough on the longest broker.
fn check_name(
    name: &str,
    span: std::ops::Range<usize>,
    brokers: &[Broker],
    earlier: &BTreeMap<String, TopicSpec>,
    source: Source<'_>,
) -> Result<(), CatalogError> {
    let err = |message: String| source.error(span.clone(), &["topics", name], message);
    grammar::validate(name, Kind::Name).map_err(|e| err(e.to_string()))?;
    let prefix = name
        .split_once('.')
        .and_then(|(first, rest)| Some((brokers.iter().find(|b| b.as_str() == first)?, rest)));
    if let Some((broker, rest)) = prefix {
        return Err(err(format!(
            "topic `{name}` starts with the broker `{broker}`; declare topics without their \
             broker, as `[topics.\"{rest}\"]`"
        )));
    }
    // Kafka refuses a topic that differs from an existing one only by `.` against `_` (they are
    // the same name in its metrics).
    let folded = name.replace('.', "_");
    if let Some(other) = earlier.keys().find(|o| o.replace('.', "_") == folded) {
        return Err(err(format!(
            "topic names `{other}` and `{name}` collide: Kafka reads `.` and `_` alike in metric \
             names and refuses to create both; rename one"
        )));
    }
    let longest = brokers
        .iter()
        .max_by_key(|b| b.as_str().len())
        .expect("brokers is not empty");
    let full = longest.as_str().len() + 1 + name.len();
    if full > MAX_LEN {
        return Err(err(format!(
            "topic name `{name}` is too long: on broker `{longest}` it makes a topic of {full} \
             characters, and Kafka allows at most {MAX_LEN}"
        )));
    }
    Ok(())
}
