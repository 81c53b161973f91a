//! [`Reader`]: the records of some topics from a start position, with no consumer group.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};

use crate::connection::Connection;
use crate::failure::Failure;
use crate::read::topics::METADATA_TIMEOUT;

/// Where each partition is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The first record still on the partition.
    Beginning,
    /// The partition's end: only records written from now on.
    End,
    /// This offset (clamped to the partition's first and end offsets).
    Offset(i64),
    /// The first record whose timestamp is at or after this time.
    Since(DateTime<Utc>),
}

/// Reads assigned partitions directly: it joins no consumer group and commits nothing, so it
/// never takes partitions from a service or moves a service's position.
///
/// Without `follow` it stops at the end offsets the partitions had when it was opened.
pub struct Reader {
    consumer: StreamConsumer,
    /// The partitions not yet read to their end offset at open, with that offset.
    pending: HashMap<(String, i32), i64>,
    follow: bool,
    total: u64,
}

impl Reader {
    /// A client for metadata and watermarks with the reader's settings.
    pub fn client(conn: &Connection) -> Result<BaseConsumer, Failure> {
        Ok(conn.reader_config().create()?)
    }

    /// Opens `topics` (name, partition count) at `start`. Blocks for the watermark requests.
    pub fn open(
        conn: &Connection,
        topics: &[(String, i32)],
        start: Start,
        follow: bool,
    ) -> Result<Self, Failure> {
        // Records of aborted transactions are never shown: the command sees what services,
        // which read committed, see (and a replay ledger read otherwise could count a replay
        // that was rolled back).
        let consumer: StreamConsumer = conn
            .reader_config()
            .set("isolation.level", "read_committed")
            .create()?;
        let mut starts = TopicPartitionList::new();
        let mut pending = HashMap::new();
        let mut total = 0;
        for (topic, partitions) in topics {
            for partition in 0..*partitions {
                let (low, high) = consumer.fetch_watermarks(topic, partition, METADATA_TIMEOUT)?;
                let from = start_offset(&consumer, topic, partition, start, (low, high))?;
                starts.add_partition_offset(topic, partition, Offset::Offset(from))?;
                if from < high {
                    pending.insert((topic.clone(), partition), high);
                    total += (high - from) as u64;
                }
            }
        }
        consumer.assign(&starts)?;
        Ok(Self {
            consumer,
            pending,
            follow,
            total,
        })
    }

    /// How many offsets lay between the start and the end when the reader was opened (an upper
    /// bound of the records it returns without `follow`: transaction markers take offsets too).
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The next record; `None` once every partition is read to its end offset at open (never,
    /// with `follow`).
    pub async fn next(&mut self) -> Option<Result<OwnedMessage, Failure>> {
        loop {
            if !self.follow && self.pending.is_empty() {
                return None;
            }
            match self.consumer.recv().await {
                Ok(message) => {
                    let at = (message.topic().to_owned(), message.partition());
                    let end = self.pending.get(&at).copied();
                    if let Some(end) = end
                        && message.offset() + 1 >= end
                    {
                        self.pending.remove(&at);
                    }
                    if self.follow || end.is_some_and(|end| message.offset() < end) {
                        return Some(Ok(message.detach()));
                    }
                }
                Err(KafkaError::PartitionEOF(partition)) => self.reached_end(partition),
                Err(error) => return Some(Err(error.into())),
            }
        }
    }

    /// A partition numbered `partition` reported its end: drop those whose position passed
    /// their end offset (a transaction marker can be a partition's last offset, and is never
    /// returned as a record).
    fn reached_end(&mut self, partition: i32) {
        let Ok(positions) = self.consumer.position() else {
            return;
        };
        self.pending.retain(|(topic, p), end| {
            *p != partition
                || !matches!(
                    positions.find_partition(topic, *p).map(|e| e.offset()),
                    Some(Offset::Offset(at)) if at >= *end
                )
        });
    }
}

fn start_offset(
    consumer: &StreamConsumer,
    topic: &str,
    partition: i32,
    start: Start,
    (low, high): (i64, i64),
) -> Result<i64, Failure> {
    Ok(match start {
        Start::Beginning => low,
        Start::End => high,
        Start::Offset(n) => n.clamp(low, high),
        Start::Since(time) => {
            let mut query = TopicPartitionList::new();
            query.add_partition_offset(
                topic,
                partition,
                Offset::Offset(time.timestamp_millis()),
            )?;
            let found = consumer.offsets_for_times(query, METADATA_TIMEOUT)?;
            match found.find_partition(topic, partition).map(|e| e.offset()) {
                Some(Offset::Offset(n)) if n >= 0 => n,
                _ => high,
            }
        }
    })
}
