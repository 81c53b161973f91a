//! The `streamkit` command: operate topics, records, event chains, dead letters and consumer
//! groups of streamkit services from a terminal. `streamkit --help` lists the subcommands;
//! docs/guide.md ("Operating services") shows each with its output and exit codes.

mod asyncapi;
mod cli;
mod connection;
mod dlq;
mod failure;
mod groups;
mod output;
mod progress;
mod read;
mod settings;
mod tail;
mod topics;
mod trace;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, DlqCommand, TopicsCommand};
use crate::connection::Connection;
use crate::failure::Outcome;
use crate::output::Output;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("streamkit: {failure}");
            failure.exit_code()
        }
    }
}

async fn run(cli: Cli) -> Outcome {
    // Needs no cluster: the service writes its document itself.
    if let Command::Asyncapi(args) = &cli.command {
        return asyncapi::run(args);
    }
    let conn = Connection::from_cli(&cli)?;
    let out = Output::new(cli.json);
    match cli.command {
        Command::Topics(TopicsCommand::Check) => topics::check::run(&conn, out).await,
        Command::Topics(TopicsCommand::Apply(args)) => topics::apply::run(&conn, out, args).await,
        Command::Tail(args) => tail::run(&conn, out, args).await,
        Command::Trace(args) => trace::run(&conn, out, args).await,
        Command::Dlq(DlqCommand::List(args)) => dlq::list::run(&conn, out, args).await,
        Command::Dlq(DlqCommand::Show(args)) => dlq::show::run(&conn, out, args).await,
        Command::Dlq(DlqCommand::Replay(args)) => dlq::replay::run(&conn, out, args).await,
        Command::Groups(args) => groups::run(&conn, out, args).await,
        Command::Config => settings::run(&conn, out),
        Command::Asyncapi(_) => unreachable!("handled before connecting"),
    }
}
