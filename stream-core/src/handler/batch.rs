//! Batch handlers: [`Batch`] (records of one partition, in offset order, their payloads
//! decoded), [`BatchResult`] (how each record went) and [`BatchHandler`], what the consumer
//! calls with a batch.
//!
//! ```
//! use stream_core::handler::{Batch, BatchResult, HandlerError};
//! #[derive(serde::Serialize, serde::Deserialize)] struct Fill { qty: i64 }
//! impl stream_core::Event for Fill { const EVENT_TYPE: &'static str = "order_filled"; }
//! async fn insert_fills(fills: Batch<Fill>) -> BatchResult {
//!     let mut result = BatchResult::all_ok();
//!     for (i, fill) in fills.iter().enumerate() {
//!         if fill.data.qty == 0 {
//!             result = result.permanent(i, "a fill of nothing");
//!         }
//!     }
//!     result
//! }
//! fn is_batch_handler<T, H: stream_core::handler::BatchFn<T>>(_: H) {}
//! is_batch_handler(insert_fills);
//! ```

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde::de::DeserializeOwned;

use crate::envelope::Event;
use crate::envelope::event_envelope::EventEnvelope;
use crate::handler::error::HandlerError;
use crate::handler::event_types::EventTypes;
use crate::handler::extract::payload_event_types;
use crate::handler::incoming::Incoming;
use crate::kafka::record::RecordMeta;

/// Records of one partition, in offset order, with their payloads decoded: what a batch
/// handler receives. A record whose payload does not decode as `T` is not in it: it is
/// dead-lettered alone.
pub struct Batch<T> {
    items: Vec<(EventEnvelope<T>, Arc<Incoming>)>,
}

impl<T> Batch<T> {
    /// How many records the batch holds.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the batch is empty (never, as the consumer hands it over).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The envelopes, in offset order; their positions are the indexes [`BatchResult`] takes.
    pub fn iter(&self) -> impl Iterator<Item = &EventEnvelope<T>> {
        self.items.iter().map(|(e, _)| e)
    }

    /// Where the record at `index` came from (topic, partition, offset, key, headers).
    pub fn record(&self, index: usize) -> Option<&RecordMeta> {
        self.items.get(index).map(|(_, m)| &m.record)
    }

    /// The envelopes, in offset order.
    pub fn into_envelopes(self) -> Vec<EventEnvelope<T>> {
        self.items.into_iter().map(|(e, _)| e).collect()
    }
}

/// How each record of a batch went: succeeded, unless marked failed by its index in the
/// [`Batch`]. A record marked retryable is retried alone (with the retry policy, then
/// dead-lettered); one marked permanent is dead-lettered alone; the others are finished.
#[derive(Debug, Default)]
pub struct BatchResult {
    failures: Vec<(usize, HandlerError)>,
}

impl BatchResult {
    /// Every record succeeded.
    pub fn all_ok() -> Self {
        Self::default()
    }

    /// The record at `index` failed for a reason that may pass: it is retried alone.
    #[must_use]
    pub fn retryable(
        self,
        index: usize,
        error: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        self.failed(index, HandlerError::retryable(error))
    }

    /// The record at `index` failed for good: it is dead-lettered alone.
    #[must_use]
    pub fn permanent(
        self,
        index: usize,
        error: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        self.failed(index, HandlerError::permanent(error))
    }

    /// The record at `index` failed with `error` (its kind decides: retried or dead-lettered).
    /// A second failure of one index replaces the first.
    #[must_use]
    pub fn failed(mut self, index: usize, error: HandlerError) -> Self {
        self.failures.retain(|(i, _)| *i != index);
        self.failures.push((index, error));
        self
    }

    /// The failed records' indexes and errors.
    pub fn failures(&self) -> &[(usize, HandlerError)] {
        &self.failures
    }

    /// Takes the failure of the record at `index`, if it failed.
    pub(crate) fn take(&mut self, index: usize) -> Option<HandlerError> {
        let at = self.failures.iter().position(|(i, _)| *i == index)?;
        Some(self.failures.swap_remove(at).1)
    }
}

/// What a batch handler may return: a [`BatchResult`], `Result<(), E>` or
/// `Result<BatchResult, E>` (`Err`: the whole batch failed), or `()`.
pub trait IntoBatchResult: Send {
    /// The result as the consumer sees it.
    fn into_batch_result(self) -> Result<BatchResult, HandlerError>;
}

impl IntoBatchResult for () {
    fn into_batch_result(self) -> Result<BatchResult, HandlerError> {
        Ok(BatchResult::all_ok())
    }
}

impl IntoBatchResult for BatchResult {
    fn into_batch_result(self) -> Result<BatchResult, HandlerError> {
        Ok(self)
    }
}

impl<E: Into<HandlerError> + Send> IntoBatchResult for Result<(), E> {
    fn into_batch_result(self) -> Result<BatchResult, HandlerError> {
        self.map(|()| BatchResult::all_ok()).map_err(Into::into)
    }
}

impl<E: Into<HandlerError> + Send> IntoBatchResult for Result<BatchResult, E> {
    fn into_batch_result(self) -> Result<BatchResult, HandlerError> {
        self.map_err(Into::into)
    }
}

/// The consumer's view of a batch handler: handle several records of one partition at once.
pub trait BatchHandler: Send + Sync + 'static {
    /// Handles `messages` (one partition's, in offset order); indexes of the result are
    /// positions in `messages`. `Err`: the whole batch failed.
    fn call_batch(
        &self,
        messages: Vec<Arc<Incoming>>,
    ) -> BoxFuture<'static, Result<BatchResult, HandlerError>>;

    /// The event types the handler reads (every type, by default).
    fn event_types(&self) -> &EventTypes {
        &EventTypes::ANY
    }
}

/// An async fn taking a [`Batch<T>`]: what `#[stream_handler]` turns a batch handler into.
pub trait BatchFn<T>: Clone + Send + Sync + 'static {
    /// Runs the function on `batch`.
    fn run(&self, batch: Batch<T>) -> BoxFuture<'static, Result<BatchResult, HandlerError>>;
}

impl<F, Fut, T, R> BatchFn<T> for F
where
    F: Fn(Batch<T>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoBatchResult + 'static,
{
    fn run(&self, batch: Batch<T>) -> BoxFuture<'static, Result<BatchResult, HandlerError>> {
        Box::pin(futures::FutureExt::map(
            (self)(batch),
            IntoBatchResult::into_batch_result,
        ))
    }
}

/// A [`BatchFn`] as a [`BatchHandler`]: decodes each payload as `T` (a record that does not
/// decode fails alone, as a decode error), and maps the function's indexes back.
pub struct TypedBatch<F, T> {
    f: F,
    event_types: EventTypes,
    _t: std::marker::PhantomData<fn() -> T>,
}

impl<F: BatchFn<T>, T: Event> TypedBatch<F, T> {
    /// The handler `f`, reading `T`'s event types and `accept`ed ones.
    pub fn new(f: F, accept: &EventTypes) -> Self {
        Self {
            f,
            event_types: EventTypes::of(&payload_event_types::<T>()).and(accept),
            _t: std::marker::PhantomData,
        }
    }
}

impl<F, T> BatchHandler for TypedBatch<F, T>
where
    F: BatchFn<T>,
    T: Event + DeserializeOwned + Send + 'static,
{
    fn call_batch(
        &self,
        messages: Vec<Arc<Incoming>>,
    ) -> BoxFuture<'static, Result<BatchResult, HandlerError>> {
        let mut undecoded = Vec::new();
        let mut positions = Vec::with_capacity(messages.len());
        let mut items = Vec::with_capacity(messages.len());
        for (i, msg) in messages.into_iter().enumerate() {
            match msg.typed::<T>() {
                Ok(envelope) => {
                    positions.push(i);
                    items.push((envelope, msg));
                }
                Err(error) => undecoded.push((i, error)),
            }
        }
        let run = (!items.is_empty()).then(|| self.f.run(Batch { items }));
        Box::pin(async move {
            let mut out = BatchResult::all_ok();
            if let Some(run) = run {
                for (i, error) in run.await?.failures {
                    if let Some(&at) = positions.get(i) {
                        out = out.failed(at, error);
                    }
                }
            }
            for (i, error) in undecoded {
                out = out.failed(i, error);
            }
            Ok(out)
        })
    }

    fn event_types(&self) -> &EventTypes {
        &self.event_types
    }
}
