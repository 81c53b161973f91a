//! The metric families a service exposes on `/metrics`, recorded where things happen (the
//! consumer, the producer, the rebalance callbacks) and rendered by the health endpoint in the
//! Prometheus text format with `prometheus-client`.
//!
//! The families are process-wide: every consumer and producer of the process records into them,
//! told apart by their `group` and `client` labels. The guide's "Observability" lists each one.

pub(crate) mod families;
#[cfg(feature = "otel")]
pub(crate) mod otlp;
