//! `streamkit asyncapi SERVICE`: the AsyncAPI 3.0 document of a service binary. The binary
//! writes it itself when started with `STREAMKIT_ASYNCAPI=path` (it knows its handlers; this
//! command does not), without contacting a broker.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use clap::Args;

use crate::failure::{Failure, Outcome};

/// `streamkit asyncapi`
#[derive(Debug, Args)]
pub struct AsyncapiArgs {
    /// The service's binary (a `#[stream_service]`), e.g. `target/debug/examples/risk_manager`.
    pub service: PathBuf,
    /// Write the document to this file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Runs the service binary with `STREAMKIT_ASYNCAPI` and prints (or leaves in `--output`) the
/// document it writes.
pub fn run(args: &AsyncapiArgs) -> Outcome {
    let target = match &args.output {
        Some(path) => path.clone(),
        None => std::env::temp_dir().join(format!(
            "streamkit-asyncapi-{}-{}.json",
            std::process::id(),
            uuid::Uuid::now_v7()
        )),
    };
    let run = Command::new(&args.service)
        .env("STREAMKIT_ASYNCAPI", &target)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Failure::usage(format!("cannot run `{}`: {e}", args.service.display())))?;
    if !run.status.success() {
        return Err(Failure::usage(format!(
            "`{}` did not write its AsyncAPI document ({}): {}",
            args.service.display(),
            run.status,
            String::from_utf8_lossy(&run.stderr).trim()
        )));
    }
    let document = std::fs::read_to_string(&target).map_err(|e| {
        Failure::usage(format!(
            "`{}` wrote no AsyncAPI document ({e}); is it a `#[stream_service]`?",
            args.service.display()
        ))
    })?;
    match &args.output {
        Some(path) => eprintln!("AsyncAPI document written to {}", path.display()),
        None => {
            print!("{document}");
            let _ = std::fs::remove_file(&target);
        }
    }
    Ok(())
}
