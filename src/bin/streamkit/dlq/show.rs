//! `streamkit dlq show`: dead letters with their headers.

use crate::connection::Connection;
use crate::failure::{Failure, Outcome};
use crate::output::Output;

/// Runs the subcommand.
pub async fn run(_conn: &Connection, _out: Output, _args: crate::cli::DlqShowArgs) -> Outcome {
    Err(Failure::usage("not built yet"))
}
