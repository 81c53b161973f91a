//! Test helpers (feature `testing`): the real broker's [`broker`] helpers (configuration from the
//! environment, topics, reading a topic back, committed offsets) and the [`kit`]'s
//! [`TestKit`](kit::TestKit), which runs a service on the in-process cluster.

pub mod broker;
pub mod kit;

pub use broker::*;
