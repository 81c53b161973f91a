//! `streamkit topics check`: every catalog topic against the cluster.
//!
//! One line a topic (`ok`, `missing`, `partitions 3 < 6`, `retention.ms 86400000 ≠ 604800000`:
//! the cluster's value first, the catalog's second), then a summary; with `--json` one object a
//! topic and no summary. Exit 0 when every topic matches, 1 when one differs.

use crate::connection::Connection;
use crate::failure::{Failure, Outcome};
use crate::output::Output;
use crate::topics::plan::{name_width, plan};

/// Runs the subcommand.
pub async fn run(conn: &Connection, out: Output) -> Outcome {
    let (plans, _admin) = plan(conn).await?;
    let width = name_width(&plans);
    for p in &plans {
        out.emit(
            || format!("{:<width$}  {}", p.wanted.name, p.text()),
            || p.json(),
        );
    }
    let differ = plans.iter().filter(|p| !p.drifts.is_empty()).count();
    let summary = match differ {
        0 => format!("{} topics match the catalog", plans.len()),
        n => format!("{n} of {} topics differ from the catalog", plans.len()),
    };
    if !out.is_json() {
        out.emit(|| summary.clone(), || serde_json::Value::Null);
    }
    if differ == 0 {
        return Ok(());
    }
    Err(Failure::found(format!(
        "{summary}; `streamkit topics apply` creates missing topics, raises partitions and sets \
         the declared configs"
    )))
}
