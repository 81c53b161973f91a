//! The topic grammar of streamkit.
//!
//! What a valid topic or pattern is, how `*` expands, how the trading broker is read from a topic,
//! and how the `topics.toml` catalog is parsed. This crate has no heavy dependencies so that the
//! proc-macro crate (at compile time) and the runtime (at startup) share exactly one definition.

/// A topic name or pattern that is not valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicError {
    /// What is wrong, in words a user can act on.
    pub message: String,
}

impl std::fmt::Display for TopicError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TopicError {}
