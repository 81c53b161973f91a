//! [`progress`]: a progress bar for long work, drawn only on a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output::Output;

/// A bar of `total` steps labelled `what` on stderr, or a hidden one when stderr is not a
/// terminal (a log file or a pipe gets no control characters).
pub fn progress(total: u64, what: &str) -> ProgressBar {
    if !Output::stderr_is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} ({per_sec}, eta {eta})")
        .expect("a valid template");
    bar.set_style(style);
    bar.set_message(what.to_owned());
    bar
}
