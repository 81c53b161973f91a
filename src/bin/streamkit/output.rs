//! [`Output`]: text for people by default, one JSON object a line with `--json`.

use std::io::{IsTerminal, Write};

use serde_json::Value;

/// Where results go: stdout, as text or JSON lines. Diagnostics go to stderr.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
}

impl Output {
    /// JSON lines when `json`, else text.
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    /// Whether results are JSON lines.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Prints one result: `text` for people, `json` for scripts. A closed stdout (`| head`)
    /// ends the process quietly, as a Unix tool does.
    pub fn emit(&self, text: impl FnOnce() -> String, json: impl FnOnce() -> Value) {
        let line = if self.json {
            json().to_string()
        } else {
            text()
        };
        let mut out = std::io::stdout().lock();
        if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
            std::process::exit(0);
        }
    }

    /// Prints a note for people on stderr: a summary, what was skipped.
    pub fn note(&self, text: &str) {
        eprintln!("{text}");
    }

    /// Whether stderr is a terminal (progress bars are drawn only then).
    pub fn stderr_is_terminal() -> bool {
        std::io::stderr().is_terminal()
    }
}
