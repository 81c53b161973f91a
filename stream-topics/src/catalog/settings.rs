//! The Kafka topic settings a topic table or `[defaults]` declares: `retention`,
//! `cleanup_policy`, `replication`, `dlq_retention`, each optional.

use toml::Spanned;
use toml::de::DeValue;

use crate::catalog::cleanup_policy::CleanupPolicy;
use crate::catalog::error::{CatalogError, Source};
use crate::catalog::retention::Retention;
use crate::catalog::value::{describe, integer};
use crate::suggest::closest;

/// The setting keys, in the order error messages list them.
pub(super) const SETTING_KEYS: [&str; 4] = [
    "retention",
    "cleanup_policy",
    "replication",
    "dlq_retention",
];

/// The most copies a partition can have: Kafka counts replicas in an `int16`.
const MAX_REPLICATION: i32 = i16::MAX as i32;

/// The settings one table declares; `None` where it says nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Settings {
    pub(super) retention: Option<Retention>,
    pub(super) cleanup_policy: Option<CleanupPolicy>,
    pub(super) replication: Option<i32>,
    pub(super) dlq_retention: Option<Retention>,
}

/// The table a setting is read from, as error messages and key paths name it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Place<'a> {
    /// `[topics."<name>"]`
    Topic(&'a str),
    /// `[defaults]`
    Defaults,
}

impl Place<'_> {
    /// The key path of `key` in this table.
    pub(super) fn path<'k>(&'k self, key: &'k str) -> Vec<&'k str> {
        match self {
            Place::Topic(name) => vec!["topics", name, key],
            Place::Defaults => vec!["defaults", key],
        }
    }

    /// `of topic `signals.raw`` or `in `[defaults]``: the words after a key in a message.
    pub(super) fn of(&self) -> String {
        match self {
            Place::Topic(name) => format!("of topic `{name}`"),
            Place::Defaults => "in `[defaults]`".to_owned(),
        }
    }
}

impl Settings {
    /// Reads `key = value` if `key` is a setting: `Ok(false)` when it is not one.
    pub(super) fn read(
        &mut self,
        key: &str,
        value: &Spanned<DeValue<'_>>,
        place: Place<'_>,
        source: Source<'_>,
    ) -> Result<bool, CatalogError> {
        let wrong = |expected: String| {
            let message = format!(
                "`{key}` {} is {}; {expected}",
                place.of(),
                describe(value.get_ref())
            );
            source.error(value.span(), &place.path(key), message)
        };
        let text = value.get_ref().as_str();
        match key {
            "retention" => {
                self.retention = Some(retention(text).ok_or_else(|| wrong(RETENTION.into()))?)
            }
            "dlq_retention" => {
                self.dlq_retention = Some(retention(text).ok_or_else(|| wrong(RETENTION.into()))?)
            }
            "cleanup_policy" => {
                let policy = text.and_then(CleanupPolicy::parse);
                self.cleanup_policy = Some(policy.ok_or_else(|| wrong(cleanup_expected(text)))?)
            }
            "replication" => {
                let factor = integer(value.get_ref())
                    .and_then(|n| i32::try_from(n).ok())
                    .filter(|n| (1..=MAX_REPLICATION).contains(n));
                self.replication = Some(factor.ok_or_else(|| wrong(replication_expected()))?)
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// These settings, each taken from `defaults` where these say nothing.
    pub(super) fn or(self, defaults: &Settings) -> Settings {
        Settings {
            retention: self.retention.or(defaults.retention),
            cleanup_policy: self.cleanup_policy.or(defaults.cleanup_policy),
            replication: self.replication.or(defaults.replication),
            dlq_retention: self.dlq_retention.or(defaults.dlq_retention),
        }
    }
}

const RETENTION: &str = "expected a duration of at least 1ms as a whole number and a unit \
                         (ms, s, m, h, d or w), e.g. \"7d\", \"12h\" or \"30m\", or \"forever\"";

fn retention(text: Option<&str>) -> Option<Retention> {
    text.and_then(Retention::parse)
}

/// What `cleanup_policy` takes, with a "did you mean" for a misspelt one.
fn cleanup_expected(text: Option<&str>) -> String {
    let names = CleanupPolicy::ALL.map(|p| p.as_str());
    let suggestion = text.and_then(|t| closest(t, names));
    let did_you_mean = suggestion.map_or_else(String::new, |s| format!("did you mean {s:?}? "));
    format!("{did_you_mean}expected \"delete\", \"compact\" or \"compact,delete\"")
}

fn replication_expected() -> String {
    format!(
        "expected the number of copies of each partition, a whole number from 1 to \
         {MAX_REPLICATION} and at most the cluster's broker count"
    )
}
