//! `streamkit topics apply [--dry-run]`: make the cluster match the catalog.
//!
//! Creates missing topics (partitions, replication, configs), raises partition counts the
//! catalog raised, and sets the declared configs (only those keys). It never lowers a partition
//! count nor changes a replication factor: it says so and exits 1 after doing the rest.
//! `--dry-run` prints the same lines and changes nothing. A real run returns once the cluster
//! shows its changes. Exit 0 when everything asked was done
//! (or, in a dry run, can be).

use std::time::{Duration, Instant};

use stream_core::kafka::admin::TopicAdmin;

use crate::cli::ApplyArgs;
use crate::connection::Connection;
use crate::failure::{Failure, Outcome};
use crate::output::Output;
use crate::topics::action::{Action, actions};
use crate::topics::cluster::ADMIN_TIMEOUT;
use crate::topics::plan::{name_width, plan};

/// Runs the subcommand.
pub async fn run(conn: &Connection, out: Output, args: ApplyArgs) -> Outcome {
    let (plans, admin) = plan(conn).await?;
    let width = name_width(&plans);
    let all: Vec<Action> = plans.iter().flat_map(actions).collect();
    let (refused, changes): (Vec<Action>, Vec<Action>) =
        all.into_iter().partition(Action::is_refusal);
    if !args.dry_run && !changes.is_empty() {
        apply(&admin, &changes).await?;
        settle(conn, out).await?;
    }
    for action in changes.iter().chain(&refused) {
        let done = !args.dry_run && !action.is_refusal();
        out.emit(|| action.text(width), || action.json(done));
    }
    let summary = summary(changes.len(), refused.len(), args.dry_run);
    if !out.is_json() {
        out.emit(|| summary.clone(), || serde_json::Value::Null);
    }
    if refused.is_empty() {
        return Ok(());
    }
    Err(Failure::found(format!(
        "{} difference(s) from the catalog cannot be applied: see the `refuse` lines",
        refused.len()
    )))
}

/// Makes `changes`: every creation in one request, then partitions, then configs.
async fn apply(admin: &TopicAdmin, changes: &[Action]) -> Result<(), Failure> {
    let creations: Vec<_> = changes
        .iter()
        .filter_map(|a| match a {
            Action::Create(wanted) => Some(wanted.creation()),
            _ => None,
        })
        .collect();
    if !creations.is_empty() {
        admin.create_topics(&creations, ADMIN_TIMEOUT).await?;
    }
    for action in changes {
        match action {
            Action::RaisePartitions { topic, to, .. } => {
                admin.raise_partitions(topic, *to, ADMIN_TIMEOUT).await?
            }
            Action::SetConfigs { topic, changes } => {
                let configs: Vec<(&str, &str)> =
                    changes.iter().map(|(k, _, v)| (*k, v.as_str())).collect();
                admin.set_configs(topic, &configs, ADMIN_TIMEOUT).await?
            }
            Action::Create(_) | Action::Refuse { .. } => {}
        }
    }
    Ok(())
}

/// How long `apply` waits for the cluster to show its changes.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(15);

/// Waits until the cluster's metadata and configs show every change made, so that a `check` run
/// next sees them: a broker answers a partition raise or a config change before every metadata
/// answer reflects it.
async fn settle(conn: &Connection, out: Output) -> Result<(), Failure> {
    let start = Instant::now();
    loop {
        let (plans, _) = plan(conn).await?;
        let pending = plans.iter().any(|p| p.drifts.iter().any(|d| d.can_apply()));
        if !pending {
            return Ok(());
        }
        if start.elapsed() > SETTLE_TIMEOUT {
            out.note("the cluster does not show every change yet; `streamkit topics check` later");
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn summary(changes: usize, refused: usize, dry_run: bool) -> String {
    let refused = match refused {
        0 => String::new(),
        n => format!("; {n} refused"),
    };
    match (changes, dry_run) {
        (0, _) => format!("nothing to change{refused}"),
        (n, true) => format!("dry run: {n} change(s) planned, nothing changed{refused}"),
        (n, false) => format!("applied {n} change(s){refused}"),
    }
}
