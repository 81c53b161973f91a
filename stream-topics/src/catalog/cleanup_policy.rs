//! [`CleanupPolicy`]: what Kafka does with a topic's old records.

use std::fmt;

/// What Kafka does with a topic's old records: Kafka's `cleanup.policy`.
///
/// ```
/// use stream_topics::CleanupPolicy;
/// assert_eq!(CleanupPolicy::parse("compact,delete"), Some(CleanupPolicy::CompactDelete));
/// assert_eq!(CleanupPolicy::CompactDelete.as_str(), "compact,delete");
/// assert_eq!(CleanupPolicy::parse("compacted"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CleanupPolicy {
    /// Records older than the retention are deleted (`delete`, Kafka's default).
    Delete,
    /// Only the newest record of each key is kept (`compact`): a table of the latest state.
    Compact,
    /// Compacted, and records older than the retention deleted as well (`compact,delete`).
    CompactDelete,
}

impl CleanupPolicy {
    /// The values the catalog accepts, as written there and on the cluster.
    pub const ALL: [Self; 3] = [Self::Delete, Self::Compact, Self::CompactDelete];

    /// Reads `delete`, `compact` or `compact,delete`; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == text)
    }

    /// The value of Kafka's `cleanup.policy`.
    ///
    /// ```
    /// assert_eq!(stream_topics::CleanupPolicy::Compact.as_str(), "compact");
    /// ```
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Delete => "delete",
            Self::Compact => "compact",
            Self::CompactDelete => "compact,delete",
        }
    }
}

impl fmt::Display for CleanupPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
