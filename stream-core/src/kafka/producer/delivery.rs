//! [`PendingDelivery`]: a record librdkafka has, awaited until the broker acknowledged it.

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
                    Poll::Ready(Ok(Ok(()))) => {
                        let took = sent_at().wrapping_sub(*sent);
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
