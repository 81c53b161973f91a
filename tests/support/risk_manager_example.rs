//! The risk-manager example as the process-level tests run it: its binary, its topics, and the
//! signals that stop it.

use std::path::PathBuf;
use std::process::Child;

/// The trading brokers the example serves.
pub const BROKERS: [&str; 2] = ["paper", "zerodha"];

/// The example's input and output topics.
pub fn signal_topics() -> Vec<String> {
    let mut topics = output_topics();
    topics.extend(BROKERS.iter().map(|b| format!("{b}.signals.raw")));
    topics
}

/// The topics the example writes: validated and rejected signals of each broker.
pub fn output_topics() -> Vec<String> {
    BROKERS
        .iter()
        .flat_map(|b| ["validated", "rejected"].map(|t| format!("{b}.signals.{t}")))
        .collect()
}

/// A random number below `n`.
pub fn random_below(n: usize) -> usize {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).unwrap();
    u32::from_le_bytes(b) as usize % n
}

/// The repository's root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The example binary next to the test's: `target/<profile>/examples/risk_manager`.
pub fn risk_manager() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let bin = profile_dir.join("examples/risk_manager");
    assert!(
        bin.exists(),
        "{} is missing: build it first with `cargo build --example risk_manager` (scripts/test does)",
        bin.display()
    );
    bin
}

/// Sends `sig` to a child the test started and has not reaped yet.
pub fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) on the pid of a child this test started and has not reaped yet.
    let rc = unsafe { libc::kill(child.id() as i32, sig) };
    assert_eq!(rc, 0, "kill {sig}");
}
