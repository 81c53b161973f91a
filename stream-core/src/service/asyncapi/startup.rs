//! `STREAMKIT_ASYNCAPI=path`: a `#[stream_service]` that writes its AsyncAPI document to `path`
//! and exits, without contacting a broker (like `STREAMKIT_DRY_RUN=1`, which checks the wiring).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::service::asyncapi::document::asyncapi_document;
use crate::service::handler_spec::HandlerSpec;
use crate::topic::Catalog;

/// The environment variable naming the file a service writes its AsyncAPI document to.
pub const ASYNCAPI_ENV: &str = "STREAMKIT_ASYNCAPI";

/// The path `STREAMKIT_ASYNCAPI` names, if set and not empty.
pub fn requested() -> Option<PathBuf> {
    std::env::var_os(ASYNCAPI_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Writes the document of `service` (its `handlers`, its catalog `catalog`: the text of
/// `topics.toml`) to `path`, pretty-printed, and says so on stdout.
pub fn write(
    service: &str,
    catalog: Option<&str>,
    handlers: &[HandlerSpec],
    path: &Path,
) -> Result<()> {
    let config_error = |message: String| Error::Config {
        key: ASYNCAPI_ENV.into(),
        message,
    };
    let text = catalog.ok_or_else(|| {
        config_error(
            "the AsyncAPI document needs the crate's topics.toml (next to its Cargo.toml)".into(),
        )
    })?;
    let catalog = Catalog::parse(text).map_err(|e| Error::Config {
        key: "topics.toml".into(),
        message: e.to_string(),
    })?;
    let document = asyncapi_document(service, &catalog, handlers);
    let mut json = serde_json::to_string_pretty(&document).expect("a JSON value serializes");
    json.push('\n');
    std::fs::write(path, json)
        .map_err(|e| config_error(format!("cannot write {}: {e}", path.display())))?;
    println!(
        "{service}: AsyncAPI document of {} handler(s) written to {}",
        handlers.len(),
        path.display()
    );
    Ok(())
}
