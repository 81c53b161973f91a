//! [`PendingDelivery`]: a record librdkafka has, awaited until the broker acknowledged it.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use rdkafka::error::KafkaError;
use rdkafka::producer::Producer;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::kafka::producer::callbacks::DeliveryOutcome;
use crate::kafka::producer::error::{ProduceError, Stage};
use crate::kafka::producer::inner::Inner;

/// A record handed to librdkafka; resolves to its event id once the broker acknowledged it.
#[must_use = "a pending delivery does nothing unless awaited; drop it only if you do not need the result"]
pub struct PendingDelivery {
    pub(super) state: DeliveryState,
    pub(super) id: Uuid,
    pub(super) inner: Arc<Inner>,
}

pub(super) enum DeliveryState {
    /// Waiting for the broker's acknowledgement, handed over at the given [`sent_at`] (for the
    /// delivery latency histogram; four bytes, so that a handled message's deliveries, held
    /// inline, do not grow).
    Waiting(oneshot::Receiver<DeliveryOutcome>, u32),
    /// The send timed out: finding out whether the topic exists at all, to say so.
    Checking(Pin<Box<dyn Future<Output = ProduceError> + Send>>),
    /// Held in a transaction's outbox: resolves at once; the record is delivered, or not, with
    /// its transaction.
    Staged,
    Done,
}

/// Microseconds since the first call in this process, wrapping every 71 minutes (a delivery takes
/// far less, and the difference of two readings is taken wrapping).
pub(super) fn sent_at() -> u32 {
    static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);
    EPOCH.elapsed().as_micros() as u32
}

thread_local! {
    /// When the batch of delivery reports this thread is serving was taken up, while it is.
    static SERVING_AT: Cell<Option<u32>> = const { Cell::new(None) };
}

/// While alive, the delivery reports its thread serves count as acknowledged at the time it was
/// made: one clock read for a batch of reports, not one per record. A batch takes microseconds;
/// an acknowledgement, a round trip to the broker.
pub(super) struct ServingClock(());

impl ServingClock {
    pub(super) fn start() -> Self {
        SERVING_AT.set(Some(sent_at()));
        ServingClock(())
    }
}

impl Drop for ServingClock {
    fn drop(&mut self) {
        SERVING_AT.set(None);
    }
}

/// When a delivery report being served counts as received, as [`sent_at`] counts: its batch's
/// time, or now outside a batch.
pub(super) fn acked_at() -> u32 {
    SERVING_AT.get().unwrap_or_else(sent_at)
}

/// Microseconds from `sent` to `acked` (none if `acked` reads earlier: a record handed over and
/// acknowledged within one batch of reports).
fn latency_us(sent: u32, acked: u32) -> u32 {
    let took = acked.wrapping_sub(sent);
    if took > u32::MAX / 2 { 0 } else { took }
}

impl PendingDelivery {
    /// The event id of the record.
    pub fn id(&self) -> Uuid {
        self.id
    }
}

/// Whether the cluster knows `topic` (false also when the cluster cannot be asked).
fn topic_exists(inner: &Inner, topic: &str) -> bool {
    inner
        .producer()
        .client()
        .fetch_metadata(Some(topic), Duration::from_secs(5))
        .ok()
        .and_then(|m| m.topics().first().map(|t| t.error().is_none()))
        .unwrap_or(true)
}

impl Future for PendingDelivery {
    type Output = Result<Uuid, ProduceError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                DeliveryState::Waiting(delivery, sent) => match Pin::new(delivery).poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(Ok(acked))) => {
                        let took = latency_us(*sent, acked);
                        this.state = DeliveryState::Done;
                        this.inner.callbacks.delivered_after(f64::from(took) / 1e6);
                        return Poll::Ready(Ok(this.id));
                    }
                    Poll::Ready(Ok(Err((error, message)))) => {
                        use rdkafka::Message;
                        let payload = message.payload().map(<[u8]>::to_vec).unwrap_or_default();
                        // The failed record carries its topic: no copy kept per send for this.
                        let topic = message.topic().to_owned();
                        let err = ProduceError::from_kafka(error, &topic, payload, Stage::Delivery);
                        if !matches!(err, ProduceError::Timeout { .. }) {
                            this.state = DeliveryState::Done;
                            return Poll::Ready(Err(err));
                        }
                        // librdkafka reports a record for a topic that does not exist (and is
                        // never auto-created) as a timeout; ask the cluster, to say which.
                        let inner = Arc::clone(&this.inner);
                        this.state = DeliveryState::Checking(Box::pin(async move {
                            let t = topic.clone();
                            let exists =
                                tokio::task::spawn_blocking(move || topic_exists(&inner, &t))
                                    .await
                                    .unwrap_or(true);
                            match (exists, err) {
                                (false, ProduceError::Timeout { payload }) => {
                                    ProduceError::TopicNotFound { topic, payload }
                                }
                                (_, err) => err,
                            }
                        }));
                    }
                    Poll::Ready(Err(_canceled)) => {
                        this.state = DeliveryState::Done;
                        return Poll::Ready(Err(ProduceError::Kafka {
                            error: KafkaError::Canceled,
                            payload: Vec::new(),
                        }));
                    }
                },
                DeliveryState::Checking(check) => {
                    return match check.as_mut().poll(cx) {
                        Poll::Pending => Poll::Pending,
                        Poll::Ready(err) => {
                            this.state = DeliveryState::Done;
                            Poll::Ready(Err(err))
                        }
                    };
                }
                DeliveryState::Staged => {
                    this.state = DeliveryState::Done;
                    return Poll::Ready(Ok(this.id));
                }
                DeliveryState::Done => panic!("PendingDelivery polled after completion"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{ServingClock, acked_at, latency_us, sent_at};

    #[test]
    fn a_latency_is_read_across_the_counter_wrapping_and_never_negative() {
        assert_eq!(latency_us(100, 350), 250);
        assert_eq!(latency_us(u32::MAX - 9, 40), 50);
        assert_eq!(latency_us(350, 100), 0);
    }

    #[test]
    fn reports_served_in_one_batch_share_its_time() {
        let clock = ServingClock::start();
        let first = acked_at();
        std::thread::sleep(std::time::Duration::from_millis(3));
        assert_eq!(acked_at(), first);
        drop(clock);
        assert!(latency_us(first, acked_at()) >= 3_000);
        assert!(sent_at() >= first);
    }
}
