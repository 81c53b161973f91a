//! [`Catalog`]: the `topics.toml` file that declares a service's brokers and topics, and the
//! settings of each topic on the cluster.

// The file is named for the type it holds, as its siblings are.
#[allow(clippy::module_inception)]
mod catalog;
mod cleanup_policy;
mod error;
mod parse;
mod retention;
mod settings;
mod spec;
mod topic_table;
mod value;

pub use catalog::Catalog;
pub use cleanup_policy::CleanupPolicy;
pub use error::CatalogError;
pub use retention::Retention;
pub use spec::TopicSpec;
