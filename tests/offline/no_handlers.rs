//! A service binary with no registered handler says so and exits non-zero, instead of running
//! idle. This test binary has no `#[stream_handler]`, so its registry is empty.
//!
//! No test here changes the process environment: the case that needs `STREAMKIT_DRY_RUN=1` runs
//! in a child process of this test binary, started with that variable set.

use std::process::{Command, ExitCode};

/// Set in the child process that runs `setup_handlers_count`'s service.
const CHILD: &str = "STREAMKIT_NO_HANDLERS_CHILD";

#[test]
fn service_without_handlers_fails() {
    assert_eq!(stream_core::service::registry::registered().count(), 0);
    let code = stream_core::service::runtime::run_service("empty", None, |_setup| async { Ok(()) });
    assert_eq!(code, ExitCode::FAILURE);
}

#[test]
fn setup_handlers_count() {
    if std::env::var_os(CHILD).is_none() {
        // The parent: run this very test again in a child with the dry run on.
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "setup_handlers_count", "--nocapture"])
            .env(CHILD, "1")
            .env(stream_core::service::runtime::DRY_RUN_ENV, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "the child failed ({}):\n{stdout}\n{stderr}",
            out.status
        );
        // The child ran the test (a filter that matched nothing would pass too), and its service
        // checked the wiring of the one handler the setup body added.
        assert!(stdout.contains("1 passed"), "{stdout}\n{stderr}");
        assert!(
            stdout.contains("one: wiring checked, 1 handler(s): on_tick (one.ticks"),
            "{stdout}\n{stderr}"
        );
        return;
    }
    // The child: a handler added by the setup body is enough (dry run: wiring checked, nothing
    // consumed).
    async fn on_tick() -> Result<(), stream_core::handler::HandlerError> {
        Ok(())
    }
    let code = stream_core::service::runtime::run_service("one", None, |setup| async move {
        setup.add_consumer_handler(&["paper.market.ticks"], "one.ticks", on_tick);
        Ok(())
    });
    assert_eq!(code, ExitCode::SUCCESS);
}
