//! The command line: every subcommand, its arguments and its `--help` text (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use chrono::{DateTime, Utc};

use crate::read::range::{OffsetRange, parse_offset_range};
use crate::read::time::parse_time;

/// Operate streamkit services from a terminal: topics, records, event chains, dead letters and
/// consumer groups.
///
/// Reads the cluster's address and client settings as services do: `KAFKA_BOOTSTRAP_SERVERS`,
/// the file named by `STREAMKIT_CONFIG`, and `STREAMKIT_KAFKA_<NAME>` for any librdkafka property
/// (`STREAMKIT_KAFKA_SECURITY_PROTOCOL=SASL_SSL`). Secret values are never printed.
///
/// Exit codes: 0 done; 1 the command found what it checks for (topic drift, replay failures);
/// 2 bad usage or configuration; 3 the cluster could not be reached or refused a request.
#[derive(Debug, Parser)]
#[command(name = "streamkit", version, propagate_version = true)]
pub struct Cli {
    /// One JSON object a line on stdout instead of text, for scripts.
    #[arg(long, global = true)]
    pub json: bool,

    /// The topic catalog.
    #[arg(
        long,
        global = true,
        env = "STREAMKIT_TOPICS",
        default_value = "topics.toml"
    )]
    pub catalog: PathBuf,

    /// The cluster, overriding `KAFKA_BOOTSTRAP_SERVERS` and the `STREAMKIT_CONFIG` file.
    #[arg(long, global = true, value_name = "HOST:PORT,...")]
    pub bootstrap_servers: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the cluster's topics against the catalog, or make them match it.
    #[command(subcommand)]
    Topics(TopicsCommand),
    /// Print records of topics as they arrive, decoded (joins no consumer group, commits nothing).
    Tail(TailArgs),
    /// Print every envelope of one correlation id across topics, as a tree of causes.
    Trace(TraceArgs),
    /// List, show and replay dead letters.
    #[command(subcommand)]
    Dlq(DlqCommand),
    /// Consumer groups of the catalog's topics: committed offset, end offset and lag per partition.
    Groups(GroupsArgs),
    /// Print the client settings the command uses, secrets redacted.
    Config,
    /// Print the AsyncAPI 3.0 document of a service binary (it writes it itself, without a broker).
    Asyncapi(crate::asyncapi::AsyncapiArgs),
}

/// `streamkit topics ...`
#[derive(Debug, Subcommand)]
pub enum TopicsCommand {
    /// Compare every catalog topic on every broker namespace with the cluster; exit 1 on drift.
    Check,
    /// Create missing topics, raise partition counts and set the catalog's topic settings.
    Apply(ApplyArgs),
}

/// `streamkit topics apply`
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Where reading starts and which records are shown: shared by `tail` and `dlq show`.
#[derive(Debug, Args, Clone, Default)]
pub struct FilterArgs {
    /// Only envelopes of this correlation id.
    #[arg(long, value_name = "UUID")]
    pub correlation: Option<uuid::Uuid>,
    /// Only envelopes of this event type.
    #[arg(long, value_name = "TYPE")]
    pub event_type: Option<String>,
    /// Only records with this key.
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
}

/// `streamkit tail`
#[derive(Debug, Args)]
pub struct TailArgs {
    /// A topic (`paper.signals.raw`) or a pattern (`*.signals.raw`, `*` is one whole segment).
    pub topic: String,
    /// Start at each partition's first record (default: at its end, showing only new records).
    #[arg(long, conflicts_with_all = ["offset", "since"])]
    pub from_beginning: bool,
    /// Start at this offset on every partition (a partition that has no such offset starts at
    /// its first record).
    #[arg(long, value_name = "N", conflicts_with = "since")]
    pub offset: Option<i64>,
    /// Start at each partition's first record at or after this time: an age (`30s`, `10m`, `2h`,
    /// `1d`) or an RFC 3339 time (`2026-12-02T09:15:00Z`).
    #[arg(long, value_name = "AGE|TIME", value_parser = parse_time)]
    pub since: Option<DateTime<Utc>>,
    /// Stop after this many records shown.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Stop at the end offsets the partitions had when the command started, instead of waiting for
    /// new records.
    #[arg(long)]
    pub no_follow: bool,
    #[command(flatten)]
    pub filter: FilterArgs,
}

/// `streamkit trace`
#[derive(Debug, Args)]
pub struct TraceArgs {
    /// The correlation id of the chain.
    pub correlation_id: uuid::Uuid,
    /// The topics to search (default: every catalog topic on every broker).
    #[arg(long, value_name = "PATTERN")]
    pub topics: Option<String>,
    /// Only records newer than this (`1h`, `2d`, RFC 3339); default: each partition from its
    /// first record.
    #[arg(long, value_name = "AGE|TIME", value_parser = parse_time)]
    pub since: Option<DateTime<Utc>>,
}

/// `streamkit dlq ...`
#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Dead-letter topics with counts by error kind and the oldest and newest failure.
    List(DlqListArgs),
    /// The records of a dead-letter topic with their `dlq.*` headers.
    Show(DlqShowArgs),
    /// Re-publish dead letters to their original topic (or `--to`), once each.
    Replay(DlqReplayArgs),
}

/// `streamkit dlq list`
#[derive(Debug, Args)]
pub struct DlqListArgs {
    /// Dead-letter topics of the topics matching this pattern (default: every `*.dlq` topic).
    pub pattern: Option<String>,
}

/// Which dead letters a `dlq show` or `dlq replay` takes.
#[derive(Debug, Args, Clone, Default)]
pub struct DlqSelectArgs {
    /// Only dead letters whose `dlq.error_kind` is this (`permanent`, `retryable`, `decode`, ...).
    #[arg(long, value_name = "KIND")]
    pub error_kind: Option<String>,
    /// Only dead letters whose last failure is at or after this (`1h`, RFC 3339).
    #[arg(long, value_name = "AGE|TIME", value_parser = parse_time)]
    pub since: Option<DateTime<Utc>>,
    /// Only dead letters whose last failure is before this (`10m`, RFC 3339).
    #[arg(long, value_name = "AGE|TIME", value_parser = parse_time)]
    pub until: Option<DateTime<Utc>>,
    /// Only dead-letter offsets in this range, `A..B` (B excluded), `A..` or `..B`, on every
    /// partition.
    #[arg(long, value_name = "A..B", value_parser = parse_offset_range)]
    pub offset: Option<OffsetRange>,
}

/// `streamkit dlq show`
#[derive(Debug, Args)]
pub struct DlqShowArgs {
    /// The dead-letter topic (`paper.signals.raw.dlq`).
    pub topic: String,
    #[command(flatten)]
    pub select: DlqSelectArgs,
    /// Stop after this many records shown.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
}

/// `streamkit dlq replay`
#[derive(Debug, Args)]
pub struct DlqReplayArgs {
    /// The dead-letter topic (`paper.signals.raw.dlq`).
    pub topic: String,
    #[command(flatten)]
    pub select: DlqSelectArgs,
    /// Publish to this topic instead of each record's original topic.
    #[arg(long, value_name = "TOPIC")]
    pub to: Option<String>,
    /// Print what would be replayed and skipped, and publish nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `streamkit groups`
#[derive(Debug, Args)]
pub struct GroupsArgs {
    /// One group (default: every group with a committed offset on a catalog topic).
    pub group: Option<String>,
}
