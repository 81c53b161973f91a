//! The logs of a `#[stream_service]` binary: `tracing` to stderr, filtered by `RUST_LOG`
//! (default `info`), as text or JSON.
//!
//! - Text (the default) has ANSI colours only when stderr is a terminal (and `NO_COLOR` is not
//!   set): a log file or a collector reading a pipe gets plain lines.
//! - `STREAMKIT_LOG_FORMAT=json` writes one JSON object a line (tracing-subscriber's JSON
//!   layer: `timestamp`, `level`, `target`, `fields`, and the current `span` and `spans`), for
//!   log collectors.
//! - With the `otel` feature and `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans are also exported over
//!   OTLP (see the `otel` module; metrics are installed next to it by the runtime).

use std::io::IsTerminal;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The environment variable that picks the log format: `text` (default) or `json`.
pub const LOG_FORMAT_ENV: &str = "STREAMKIT_LOG_FORMAT";

/// The log format [`LOG_FORMAT_ENV`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object a line.
    Json,
}

impl LogFormat {
    /// The format `value` names (`json`, any case); anything else is text.
    pub fn parse(value: Option<&str>) -> Self {
        match value.map(str::trim) {
            Some(v) if v.eq_ignore_ascii_case("json") => LogFormat::Json,
            _ => LogFormat::Text,
        }
    }

    /// The format of this process's environment.
    pub fn from_env() -> Self {
        Self::parse(std::env::var(LOG_FORMAT_ENV).ok().as_deref())
    }
}

/// Whether text logs get ANSI colours: only on a terminal, and not with `NO_COLOR` set.
pub fn use_colour(stderr_is_terminal: bool, no_color: bool) -> bool {
    stderr_is_terminal && !no_color
}

/// Installs the service's `tracing` subscriber (see the module docs), unless the program
/// installed one already.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let format = LogFormat::from_env();
    let ansi = use_colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
    );
    let json = (format == LogFormat::Json).then(|| {
        tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(std::io::stderr)
    });
    let text = (format == LogFormat::Text).then(|| {
        tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_writer(std::io::stderr)
    });
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(json)
        .with(text);
    #[cfg(feature = "otel")]
    let registry = registry.with(crate::otel::layer_from_env());
    let _ = registry.try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_only_when_asked() {
        assert_eq!(LogFormat::parse(Some("json")), LogFormat::Json);
        assert_eq!(LogFormat::parse(Some(" JSON ")), LogFormat::Json);
        assert_eq!(LogFormat::parse(Some("text")), LogFormat::Text);
        assert_eq!(LogFormat::parse(None), LogFormat::Text);
    }

    #[test]
    fn colour_only_on_a_terminal() {
        assert!(use_colour(true, false));
        assert!(!use_colour(false, false));
        assert!(!use_colour(true, true));
    }
}
