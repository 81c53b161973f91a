//! What a replay does with each selected dead letter: publish it, skip it as replayed already,
//! or leave it, saying why it cannot be replayed.

use std::collections::HashSet;

use crate::dlq::ledger::{Ledger, Replayed};
use crate::dlq::letter::Letter;

/// The decision for one dead letter.
pub enum Decision {
    /// Publish it to this topic.
    Replay {
        /// The target topic.
        to: String,
    },
    /// The ledger says it was replayed already.
    Replayed(Replayed),
    /// It cannot be replayed, for this reason.
    Cannot(String),
}

/// Where and whether dead letters are replayed.
pub struct Planner<'a> {
    /// The replays done already.
    pub ledger: &'a Ledger,
    /// `--to`: the one target topic, instead of each dead letter's original topic.
    pub to: Option<&'a str>,
    /// The topics the cluster has.
    pub topics: &'a HashSet<String>,
}

impl Planner<'_> {
    /// The decision for `letter`.
    pub fn decide(&self, letter: &Letter) -> Decision {
        if let Some(done) = self.ledger.replayed(letter) {
            return Decision::Replayed(done.clone());
        }
        if letter.truncated {
            return Decision::Cannot(format!(
                "its value is truncated (the record was too large to be dead-lettered whole); \
                 the original is at {} while that topic's retention keeps it",
                letter.original()
            ));
        }
        let Some(to) = self.to.or(letter.original_topic.as_deref()) else {
            return Decision::Cannot(
                "it has no `dlq.original_topic` header; name the topic to replay it to with --to"
                    .into(),
            );
        };
        if !self.topics.contains(to) {
            return Decision::Cannot(format!(
                "the topic `{to}` is not on the cluster; create it (`streamkit topics apply`), \
                 or name another with --to"
            ));
        }
        Decision::Replay { to: to.to_owned() }
    }
}
