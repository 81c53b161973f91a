//! Which of the cluster's topics a topic or pattern argument names.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use stream_core::topic::{Topic, TopicPattern};

use crate::failure::Failure;

/// How long a metadata request may take.
pub const METADATA_TIMEOUT: Duration = Duration::from_secs(10);

/// The cluster's topics with their partition counts, sorted by name (internal `__` topics left
/// out).
pub fn cluster_topics(client: &BaseConsumer) -> Result<Vec<(String, i32)>, Failure> {
    let metadata = client.fetch_metadata(None, METADATA_TIMEOUT)?;
    let mut topics: Vec<(String, i32)> = metadata
        .topics()
        .iter()
        .filter(|t| !t.name().starts_with("__") && t.error().is_none())
        .map(|t| (t.name().to_owned(), t.partitions().len() as i32))
        .collect();
    topics.sort();
    Ok(topics)
}

/// The cluster topics `arg` names: the topic itself, or those a pattern (`*.signals.raw`)
/// matches. None is an error that says so.
pub fn matching(client: &BaseConsumer, arg: &str) -> Result<Vec<(String, i32)>, Failure> {
    let pattern = TopicPattern::parse(arg)?;
    let found: Vec<(String, i32)> = cluster_topics(client)?
        .into_iter()
        .filter(|(name, _)| Topic::parse(name).is_ok_and(|t| pattern.matches(&t)))
        .collect();
    if found.is_empty() {
        let what = if pattern.is_literal() {
            "topic"
        } else {
            "pattern"
        };
        return Err(Failure::usage(format!(
            "no topic on the cluster matches the {what} `{arg}`"
        )));
    }
    Ok(found)
}
