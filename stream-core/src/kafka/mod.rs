//! librdkafka's clients and what they are configured with: [`KafkaConfig`](config::KafkaConfig),
//! records and their headers, subscriptions, the admin calls that create and check topics, the
//! idempotent [`MessageProducer`](producer::MessageProducer), and the zero-setup
//! [`DevCluster`](dev_cluster::DevCluster) of the examples.

pub mod admin;
pub(crate) mod client_log;
pub mod config;
pub mod dev_cluster;
#[cfg(feature = "otel")]
mod otel_context;
pub mod producer;
pub mod record;
pub mod subscription;
pub mod trace_context;
