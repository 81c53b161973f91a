//! `streamkit tail`: records of topics as they arrive.

use crate::connection::Connection;
use crate::failure::{Failure, Outcome};
use crate::output::Output;

/// Runs the subcommand.
pub async fn run(_conn: &Connection, _out: Output, _args: crate::cli::TailArgs) -> Outcome {
    Err(Failure::usage("not built yet"))
}
