//! `streamkit dlq list`: dead-letter topics and their failures.

use crate::connection::Connection;
use crate::failure::{Failure, Outcome};
use crate::output::Output;

/// Runs the subcommand.
pub async fn run(_conn: &Connection, _out: Output, _args: crate::cli::DlqListArgs) -> Outcome {
    Err(Failure::usage("not built yet"))
}
