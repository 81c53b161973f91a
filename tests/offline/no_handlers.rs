//! A service binary with no registered handler says so and exits non-zero, instead of running
//! idle. This test binary has no `#[stream_handler]`, so its registry is empty.

use std::process::ExitCode;

#[test]
fn service_without_handlers_fails() {
    assert_eq!(stream_core::registry::registered().count(), 0);
    let code = stream_core::runtime::run_service("empty", None, |_setup| async { Ok(()) });
    assert_eq!(code, ExitCode::FAILURE);
}

#[test]
fn setup_handlers_count() {
    // A handler added by the setup body is enough (dry run: wiring checked, nothing consumed).
    // SAFETY: this binary's only other test does not read the environment.
    unsafe { std::env::set_var("STREAMKIT_DRY_RUN", "1") };
    async fn on_tick() -> Result<(), stream_core::handler::HandlerError> {
        Ok(())
    }
    let code = stream_core::runtime::run_service("one", None, |setup| async move {
        setup.add_consumer_handler(&["paper.market.ticks"], "one.ticks", on_tick);
        Ok(())
    });
    assert_eq!(code, ExitCode::SUCCESS);
}
