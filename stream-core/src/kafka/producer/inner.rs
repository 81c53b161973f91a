//! The client a producer's clones and its pending deliveries share.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::producer::{BaseProducer, Producer};

use crate::envelope::service_name::ServiceName;
use crate::kafka::producer::callbacks::ProducerCallbacks;
use crate::kafka::producer::pump::{Client, DeliveryPump};

pub(super) struct Inner {
    /// What serves the client's delivery reports; declared before the client, so it stops
    /// while the client is still there.
    pub(super) _pump: DeliveryPump,
    pub(super) client: Arc<Client>,
    /// The state its callbacks keep (the client holds another handle to it).
    pub(super) callbacks: ProducerCallbacks,
    pub(super) service: ServiceName,
    pub(super) client_id: String,
    pub(super) max_message_bytes: usize,
    pub(super) queue_deadline: Duration,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let left = self.producer().in_flight_count();
        if left > 0 {
            tracing::warn!(
                client_id = %self.client_id,
                unflushed = left,
                "producer dropped with unflushed messages; call shutdown() to flush them"
            );
        }
    }
}

impl Inner {
    pub(super) fn producer(&self) -> &BaseProducer<ProducerCallbacks> {
        &self.client.producer
    }
}
