//! [`CatalogError`]: why a `topics.toml` cannot be used, placed at its line and column.

use std::fmt;
use std::ops::Range;

use crate::catalog::value::key_path;

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
///      expected `event`, `partitions`, `retention`, `cleanup_policy`, `replication` or \
///      `dlq_retention`"
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
    pub(super) fn at(
        input: &str,
        span: Option<Range<usize>>,
        key: Option<String>,
        message: String,
    ) -> Self {
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

/// The text being parsed, to place each error at the line and column of a span.
#[derive(Clone, Copy)]
pub(super) struct Source<'i> {
    pub(super) text: &'i str,
}

impl Source<'_> {
    /// An error at `span` about the key path `key` (`["topics", "signals.raw", "partitions"]`).
    pub(super) fn error(&self, span: Range<usize>, key: &[&str], message: String) -> CatalogError {
        CatalogError::at(self.text, Some(span), Some(key_path(key)), message)
    }
}

fn line_column(input: &str, offset: usize) -> (usize, usize) {
    let before = &input[..offset.min(input.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}
