//! [`ReplayWriter`]: publishes replayed records with their ledger records in Kafka transactions.

use std::time::Duration;

use rdkafka::error::KafkaError;
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::Producer;
use stream_core::MessageProducer;
use stream_core::kafka::producer::ProducerOptions;

use crate::connection::Connection;
use crate::dlq::replay_record::ReplayRecord;
use crate::failure::Failure;

/// How long one transaction call may take.
const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(30);

/// How often a commit that failed for a passing reason (a timeout) is tried again.
const COMMIT_TRIES: u32 = 3;

/// A replayed record and its ledger record (key, value), published together or not at all.
pub struct Replay {
    /// What goes to the target topic.
    pub record: ReplayRecord,
    /// The ledger record's key.
    pub ledger_key: String,
    /// The ledger record's value.
    pub ledger_value: Vec<u8>,
}

/// Why a batch was not published.
pub enum BatchError {
    /// A record was refused; the transaction was aborted, so nothing of the batch is visible.
    Refused(String),
    /// The replay cannot go on (fenced by another replay, the cluster gone, a commit whose
    /// outcome is unknown).
    Fatal(Failure),
}

/// The transactional producer of the replays of one dead-letter topic.
pub struct ReplayWriter {
    producer: MessageProducer,
    dlq_topic: String,
    ledger_topic: String,
}

impl ReplayWriter {
    /// A producer with `transactional.id` `streamkit-replay.<dlq_topic>`: opening it fences an
    /// earlier replay of the same topic still running, and aborts its open transaction, so the
    /// ledger read after this is the whole truth.
    pub async fn open(
        conn: &Connection,
        dlq_topic: &str,
        ledger_topic: &str,
    ) -> Result<Self, Failure> {
        let id = format!("streamkit-replay.{dlq_topic}");
        let producer = MessageProducer::transactional(
            &conn.kafka,
            "streamkit-replay",
            &id,
            ProducerOptions::default(),
        )?;
        let writer = Self {
            producer,
            dlq_topic: dlq_topic.to_owned(),
            ledger_topic: ledger_topic.to_owned(),
        };
        writer
            .blocking(|p| p.init_transactions(TRANSACTION_TIMEOUT))
            .await
            .map_err(|e| writer.fatal("could not start the replay transaction", &e))?;
        Ok(writer)
    }

    /// Publishes `batch` in one transaction: every record and its ledger record, or none.
    pub async fn write(&self, batch: &[Replay]) -> Result<(), BatchError> {
        self.blocking(|p| p.begin_transaction())
            .await
            .map_err(|e| BatchError::Fatal(self.fatal("could not begin a transaction", &e)))?;
        let sends = batch.iter().flat_map(|replay| {
            let r = &replay.record;
            let key = replay.ledger_key.as_bytes();
            [
                self.producer.send_raw(
                    &r.topic,
                    r.key.as_deref(),
                    r.value.as_deref(),
                    r.owned_headers(),
                ),
                self.producer.send_raw(
                    &self.ledger_topic,
                    Some(key),
                    Some(&replay.ledger_value),
                    OwnedHeaders::new(),
                ),
            ]
        });
        let results = futures::future::join_all(sends).await;
        if let Some(error) = results.into_iter().find_map(Result::err) {
            self.abort().await?;
            return Err(BatchError::Refused(error.to_string()));
        }
        self.commit().await
    }

    /// Commits the open transaction, again after a passing failure; aborts it when the cluster
    /// says it must be.
    async fn commit(&self) -> Result<(), BatchError> {
        let mut tries = 0;
        loop {
            tries += 1;
            let error = match self
                .blocking(|p| p.rdkafka().commit_transaction(TRANSACTION_TIMEOUT))
                .await
            {
                Ok(()) => return Ok(()),
                Err(error) => error,
            };
            match &error {
                KafkaError::Transaction(e) if e.txn_requires_abort() => {
                    self.abort().await?;
                    return Err(BatchError::Refused(error.to_string()));
                }
                KafkaError::Transaction(e) if e.is_retriable() && tries < COMMIT_TRIES => {}
                _ => {
                    let what = "a transaction's commit did not finish";
                    return Err(BatchError::Fatal(self.fatal(what, &error)));
                }
            }
        }
    }

    async fn abort(&self) -> Result<(), BatchError> {
        self.blocking(|p| p.abort_transaction(TRANSACTION_TIMEOUT))
            .await
            .map_err(|e| BatchError::Fatal(self.fatal("could not abort a transaction", &e)))
    }

    /// Runs a blocking transaction call off the async runtime's threads.
    async fn blocking<T: Send + 'static>(
        &self,
        call: impl FnOnce(&MessageProducer) -> Result<T, KafkaError> + Send + 'static,
    ) -> Result<T, KafkaError> {
        let producer = self.producer.clone();
        tokio::task::spawn_blocking(move || call(&producer))
            .await
            .unwrap_or_else(|_| Err(KafkaError::Canceled))
    }

    /// The failure that stops the replay after `error`, with what to do next.
    fn fatal(&self, what: &str, error: &KafkaError) -> Failure {
        let fenced = matches!(error, KafkaError::Transaction(e) if e.is_fatal());
        let topic = &self.dlq_topic;
        if fenced {
            return Failure::cluster(format!(
                "{what}: {error}; another `streamkit dlq replay {topic}` probably took over \
                 (one replay of a topic runs at a time); what this one committed stays \
                 replayed, and running the replay again replays only the rest"
            ));
        }
        Failure::cluster(format!(
            "{what}: {error}; run the same replay again when the cluster answers: the ledger \
             `{}` says what was replayed, and nothing is replayed twice",
            self.ledger_topic
        ))
    }
}
