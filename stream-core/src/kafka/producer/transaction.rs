//! Transactional producers: [`MessageProducer::transactional`], and the transaction calls the
//! consumer makes in exactly-once mode.

use std::time::{Duration, Instant};

use rdkafka::TopicPartitionList;
use rdkafka::consumer::ConsumerGroupMetadata;
use rdkafka::error::KafkaError;
use rdkafka::producer::Producer;

use crate::error::Result;
use crate::kafka::config::KafkaConfig;
use crate::kafka::producer::message_producer::MessageProducer;
use crate::kafka::producer::options::ProducerOptions;

/// How long a transaction may stay open before the broker aborts it, unless the configuration
/// says otherwise (`transaction.timeout.ms`). It bounds how long a killed instance that no
/// successor fences holds back `read_committed` readers of its output partitions.
const TRANSACTION_TIMEOUT_MS: &str = "30000";

impl MessageProducer {
    /// A producer whose records are written in Kafka transactions, with `transactional_id`
    /// (`transactional.id`). A new producer with the same id fences the old one: its open
    /// transaction is aborted and its writes refused. Call [`MessageProducer::init_transactions`]
    /// before the first transaction.
    pub fn transactional(
        config: &KafkaConfig,
        service_name: &str,
        transactional_id: &str,
        options: ProducerOptions,
    ) -> Result<Self> {
        let config = config
            .clone()
            .set("transactional.id", transactional_id)
            .set_default("transaction.timeout.ms", TRANSACTION_TIMEOUT_MS);
        Self::with_options(&config, service_name, options)
    }

    /// Registers the transactional id with the cluster, fencing earlier producers with it
    /// (blocking: call it off the async runtime's threads).
    pub fn init_transactions(&self, timeout: Duration) -> std::result::Result<(), KafkaError> {
        self.rdkafka().init_transactions(timeout)
    }

    /// Opens a transaction.
    pub fn begin_transaction(&self) -> std::result::Result<(), KafkaError> {
        self.rdkafka().begin_transaction()
    }

    /// Adds the consumer's `offsets` to the open transaction and commits it: the records written
    /// in it and the offsets become visible together (blocking).
    pub fn commit_transaction_with(
        &self,
        offsets: &TopicPartitionList,
        group: &ConsumerGroupMetadata,
        timeout: Duration,
    ) -> std::result::Result<(), KafkaError> {
        let producer = self.rdkafka();
        if offsets.count() > 0 {
            producer.send_offsets_to_transaction(offsets, group, timeout)?;
        }
        self.await_acknowledgements(timeout);
        producer.commit_transaction(timeout)
    }

    /// Waits (blocking, up to `timeout`) until every record handed to librdkafka is
    /// acknowledged. `commit_transaction` flushes first, and its flush waits in slices of
    /// 100 ms whether the acknowledgements came sooner or not; the producer's delivery reports,
    /// served as they arrive, bring the count down, so waiting here first makes the commit's
    /// flush return at once.
    fn await_acknowledgements(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.rdkafka().in_flight_count() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_micros(100));
        }
    }

    /// Aborts the open transaction: none of its records or offsets become visible (blocking).
    pub fn abort_transaction(&self, timeout: Duration) -> std::result::Result<(), KafkaError> {
        self.rdkafka().abort_transaction(timeout)
    }
}
