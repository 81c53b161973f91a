//! [`Pipeline`]: what every partition worker needs to take a message through its life.

use std::sync::{Arc, Mutex};

use crate::consumer::observe::MessageMetrics;
use crate::consumer::options::ConsumerOptions;
use crate::consumer::shutdown::ShutdownHandle;
use crate::consumer::stats::ConsumerStats;
use crate::consumer::transaction::Transaction;
use crate::error::Error;
use crate::handler::MessageHandler;
use crate::kafka::producer::MessageProducer;
use crate::reliability::dedup::ClaimOwner;
use crate::reliability::dlq::DeadLetterWriter;

pub(super) struct Pipeline {
    /// Who this run is when it claims event ids in the dedup store.
    pub(super) claimer: ClaimOwner,
    pub(super) handler: Box<dyn MessageHandler>,
    pub(super) producer: MessageProducer,
    pub(super) dlq: Option<DeadLetterWriter>,
    pub(super) options: ConsumerOptions,
    pub(super) group: String,
    /// The group's labels and histograms in the metrics.
    pub(super) metrics: MessageMetrics,
    pub(super) stats: Arc<ConsumerStats>,
    pub(super) stop: ShutdownHandle,
    /// Why the consumer stopped on its own (a message that could not be dead-lettered).
    pub(super) failure: Mutex<Option<Error>>,
    /// The open transaction, in exactly-once mode: a message is handled inside its gate.
    pub(super) transaction: Option<Arc<Transaction>>,
}
