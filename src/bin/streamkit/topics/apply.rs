//! `streamkit topics apply`: make the cluster match the catalog.

use crate::connection::Connection;
use crate::failure::{Failure, Outcome};
use crate::output::Output;

/// Runs the subcommand.
pub async fn run(_conn: &Connection, _out: Output, _args: crate::cli::ApplyArgs) -> Outcome {
    Err(Failure::usage("not built yet"))
}
