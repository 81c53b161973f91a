//! The client a producer's clones and its pending deliveries share.

use std::time::Duration;

use rdkafka::producer::{FutureProducer, Producer};

use crate::envelope::service_name::ServiceName;
use crate::kafka::producer::callbacks::ProducerCallbacks;

pub(super) struct Inner {
    pub(super) producer: FutureProducer<ProducerCallbacks>,
    /// The state its callbacks keep (the client holds another handle to it).
    pub(super) callbacks: ProducerCallbacks,
    pub(super) service: ServiceName,
    pub(super) client_id: String,
    pub(super) max_message_bytes: usize,
    pub(super) queue_deadline: Duration,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let left = self.producer.in_flight_count();
        if left > 0 {
            tracing::warn!(
                client_id = %self.client_id,
                unflushed = left,
                "producer dropped with unflushed messages; call shutdown() to flush them"
            );
        }
    }
}
