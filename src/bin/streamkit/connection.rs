//! [`Connection`]: the cluster a command talks to, configured the way services are.

use std::path::Path;

use stream_core::topic::Catalog;
use stream_core::{KafkaConfig, ServiceConfig};

use crate::cli::Cli;
use crate::failure::Failure;

/// The client settings and the catalog path of one command run.
pub struct Connection {
    /// librdkafka properties: the `STREAMKIT_CONFIG` file, then `KAFKA_BOOTSTRAP_SERVERS` and
    /// `STREAMKIT_KAFKA_*`, then `--bootstrap-servers`.
    pub kafka: KafkaConfig,
    catalog_path: std::path::PathBuf,
}

impl Connection {
    /// Reads the configuration as a service does; `--bootstrap-servers` wins over it.
    pub fn from_cli(cli: &Cli) -> Result<Self, Failure> {
        let kafka = match &cli.bootstrap_servers {
            Some(servers) => {
                let base = match std::env::var("STREAMKIT_CONFIG") {
                    Ok(path) if !path.is_empty() => ServiceConfig::from_file(Path::new(&path))?,
                    _ => ServiceConfig::default(),
                };
                base.merge_env()?
                    .kafka
                    .set("bootstrap.servers", servers.as_str())
            }
            None => ServiceConfig::from_env()?.kafka,
        };
        Ok(Self {
            kafka,
            catalog_path: cli.catalog.clone(),
        })
    }

    /// The parsed catalog (`--catalog`, `STREAMKIT_TOPICS`, default `./topics.toml`).
    pub fn catalog(&self) -> Result<Catalog, Failure> {
        let path = &self.catalog_path;
        let text = std::fs::read_to_string(path).map_err(|e| {
            Failure::usage(format!(
                "cannot read the catalog `{}`: {e}; name it with --catalog or STREAMKIT_TOPICS",
                path.display()
            ))
        })?;
        // The error reads `topics.toml:<line>:<column>: ...`; name the file actually read.
        Catalog::parse(&text).map_err(|e| {
            let text = e.to_string();
            let rest = text.strip_prefix("topics.toml").unwrap_or(&text);
            Failure::usage(format!("{}{rest}", path.display()))
        })
    }

    /// A consumer's settings that join no group and commit nothing: for reading topics.
    ///
    /// librdkafka refuses `assign` without a `group.id` (`Local: Unknown group`); a fresh one
    /// is never joined (no subscribe) nor committed to, so no group is created on the cluster
    /// and no service's group is touched.
    pub fn reader_config(&self) -> rdkafka::ClientConfig {
        let mut config = self
            .kafka
            .for_consumer()
            .remove("group.instance.id")
            .set(
                "group.id",
                format!("streamkit-reader-{}", uuid::Uuid::now_v7().simple()),
            )
            .to_client_config();
        config
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "true");
        config
    }
}
