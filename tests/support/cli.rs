//! The built `streamkit` command, run as a user runs it: a process with the environment a
//! deployment gives it, against the real broker.
// Each test file includes this module and uses part of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// What one run of the command printed and how it ended.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// The stdout lines, each parsed as JSON (for `--json` runs).
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }

    /// Panics with everything printed unless the exit code is `code`.
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "exit code {} (wanted {code})\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// A broker namespace no other test uses: `cli` and 8 random hex digits.
pub fn unique_broker() -> String {
    let id = uuid::Uuid::now_v7().simple().to_string();
    format!("cli{}", &id[id.len() - 8..])
}

/// Writes `text` to a fresh catalog file and returns its path.
pub fn catalog_file(text: &str) -> PathBuf {
    let id = uuid::Uuid::now_v7().simple().to_string();
    let path = std::env::temp_dir().join(format!("streamkit-cli-{id}.toml"));
    std::fs::write(&path, text).expect("write the catalog");
    path
}

/// The command with the test broker's address in `KAFKA_BOOTSTRAP_SERVERS`, reading `catalog`.
pub fn streamkit(catalog: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_streamkit"));
    command
        .env(
            "KAFKA_BOOTSTRAP_SERVERS",
            stream_core::testing::bootstrap_servers(),
        )
        .env_remove("STREAMKIT_CONFIG")
        .env_remove("STREAMKIT_TOPICS")
        .arg("--catalog")
        .arg(catalog);
    command
}

/// Runs the command with `args` to its end.
pub fn run(catalog: &std::path::Path, args: &[&str]) -> Run {
    let output = streamkit(catalog)
        .args(args)
        .output()
        .expect("run the streamkit command");
    Run::from(output)
}
