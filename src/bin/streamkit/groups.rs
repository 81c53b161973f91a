//! `streamkit groups`: consumer groups of the catalog topics and their lag.

use crate::connection::Connection;
use crate::failure::{Failure, Outcome};
use crate::output::Output;

/// Runs the subcommand.
pub async fn run(_conn: &Connection, _out: Output, _args: crate::cli::GroupsArgs) -> Outcome {
    Err(Failure::usage("not built yet"))
}
