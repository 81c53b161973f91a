//! `streamkit topics check`: every catalog topic against the cluster.

use crate::connection::Connection;
use crate::failure::{Failure, Outcome};
use crate::output::Output;

/// Runs the subcommand.
pub async fn run(_conn: &Connection, _out: Output) -> Outcome {
    Err(Failure::usage("not built yet"))
}
