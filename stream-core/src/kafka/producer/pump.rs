//! Serving the producer's queue: delivery reports, statistics and errors.
//!
//! Created inside a tokio runtime, a producer serves its queue in a task on that runtime, woken
//! by librdkafka when the queue goes from empty to non-empty, which then serves everything
//! waiting. Under load the task runs when a runtime thread gets to it, so acknowledgements are
//! taken in runs, on the runtime's threads (the ones that made the records and their header
//! lists, which are freed with the acknowledgement), and no thread of its own is woken for each
//! produce response. Created outside a runtime, or when that runtime shuts down before the
//! producer is dropped, it serves the queue on a thread of its own.

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::task::Poll;
use std::time::Duration;

use futures::task::AtomicWaker;
use rdkafka::bindings as rd;
use rdkafka::producer::{BaseProducer, Producer};

use crate::kafka::producer::callbacks::ProducerCallbacks;
use crate::kafka::producer::delivery::ServingClock;

/// How many events (a delivery report event holds one produce response's records) the task
/// serves before it lets the runtime run other tasks: a queue that never empties must not hold
/// a runtime thread.
const SERVE_AT_ONCE: usize = 64;

/// The librdkafka producer, with a second handle on its main queue (where delivery reports
/// arrive). The handle is declared first so it is dropped first: a queue handle, and the
/// callback registered on it, must not outlive the client.
pub(super) struct Client {
    queue: MainQueue,
    pub(super) producer: BaseProducer<ProducerCallbacks>,
}

impl Client {
    /// Serves the events waiting in the queue, at most [`SERVE_AT_ONCE`], without waiting for
    /// more; true when some are still waiting.
    fn serve_waiting(&self) -> bool {
        let _clock = ServingClock::start();
        for _ in 0..SERVE_AT_ONCE {
            if self.queue.len() == 0 {
                return false;
            }
            self.producer.poll(Duration::ZERO);
        }
        self.queue.len() > 0
    }
}

/// A handle on a client's main queue, and the [`Signal`] librdkafka wakes when the queue goes
/// from empty to non-empty, if one is registered.
struct MainQueue {
    handle: *mut rd::rd_kafka_queue_t,
    /// The `Arc<Signal>` reference the callback holds, released when the handle is dropped.
    wakes: Option<*const Signal>,
}

// SAFETY: librdkafka's queue handles may be used from any thread; `wakes` is an `Arc<Signal>`
// reference (Signal is Send + Sync) touched only on drop.
unsafe impl Send for MainQueue {}
// SAFETY: as above; the calls made through `&MainQueue` lock the queue.
unsafe impl Sync for MainQueue {}

impl MainQueue {
    /// The main queue of `producer`, waking `wakes` when it goes from empty to non-empty.
    fn of(producer: &BaseProducer<ProducerCallbacks>, wakes: Option<&Arc<Signal>>) -> Self {
        // SAFETY: the client is valid; the handle is destroyed (drop) before it (`Client`).
        let handle = unsafe { rd::rd_kafka_queue_get_main(producer.client().native_ptr()) };
        let wakes = wakes.map(|signal| {
            let opaque = Arc::into_raw(Arc::clone(signal));
            // SAFETY: the handle is valid; `opaque` stays valid until `drop` switches the
            // callback off and releases it.
            unsafe {
                rd::rd_kafka_queue_cb_event_enable(
                    handle,
                    Some(queue_nonempty),
                    opaque as *mut c_void,
                )
            };
            opaque
        });
        Self { handle, wakes }
    }

    fn len(&self) -> usize {
        // SAFETY: the handle is valid until dropped.
        unsafe { rd::rd_kafka_queue_length(self.handle) }
    }
}

impl Drop for MainQueue {
    fn drop(&mut self) {
        if let Some(opaque) = self.wakes.take() {
            // SAFETY: the handle is valid; once this returns the callback no longer runs (it
            // runs with the queue locked, and this takes the same lock).
            unsafe { rd::rd_kafka_queue_cb_event_enable(self.handle, None, std::ptr::null_mut()) };
            // SAFETY: the reference leaked in `MainQueue::of`, no longer used by librdkafka.
            drop(unsafe { Arc::from_raw(opaque) });
        }
        // SAFETY: the handle is valid and dropped once.
        unsafe { rd::rd_kafka_queue_destroy(self.handle) }
    }
}

/// What wakes the serving task, and tells it to stop.
#[derive(Default)]
struct Signal {
    waker: AtomicWaker,
    stopped: AtomicBool,
}

/// Serves a producer's queue until dropped.
pub(super) struct DeliveryPump {
    signal: Arc<Signal>,
}

/// librdkafka calls it, with the queue locked, when the queue goes from empty to non-empty:
/// it only wakes the task.
unsafe extern "C" fn queue_nonempty(_rk: *mut rd::rd_kafka_t, opaque: *mut c_void) {
    // SAFETY: `opaque` is the `Arc<Signal>` reference `MainQueue::of` leaked, released only
    // after the callback is switched off.
    let signal = unsafe { &*(opaque as *const Signal) };
    signal.waker.wake();
}

impl DeliveryPump {
    /// The client of `producer`, and what serves its queue: a task on the current tokio
    /// runtime if there is one, else a thread of its own.
    pub(super) fn start(producer: BaseProducer<ProducerCallbacks>) -> (Arc<Client>, Self) {
        let signal = Arc::new(Signal::default());
        let runtime = tokio::runtime::Handle::try_current().ok();
        let client = Arc::new(Client {
            queue: MainQueue::of(&producer, runtime.as_ref().map(|_| &signal)),
            producer,
        });
        let weak = Arc::downgrade(&client);
        match runtime {
            Some(runtime) => {
                let handover = ThreadOnDrop {
                    client: weak.clone(),
                    signal: Arc::clone(&signal),
                };
                runtime.spawn(serve_on_runtime(weak, Arc::clone(&signal), handover));
            }
            None => serve_on_new_thread(weak, Arc::clone(&signal)),
        }
        (client, Self { signal })
    }
}

impl Drop for DeliveryPump {
    fn drop(&mut self) {
        self.signal.stopped.store(true, Ordering::Release);
        self.signal.waker.wake();
    }
}

/// The task: serves the queue, then sleeps until librdkafka says it is non-empty again.
///
/// A runtime that shuts down drops the task, polled or not, with the producer perhaps still
/// alive (made on a runtime that ended first, used from another): `_handover`, held from the
/// task's creation, then starts a thread, so its sends still see their acknowledgements.
async fn serve_on_runtime(client: Weak<Client>, signal: Arc<Signal>, _handover: ThreadOnDrop) {
    loop {
        let events_waiting = std::future::poll_fn(|cx| {
            // Registered before looking, so an event that arrives after the look wakes it.
            signal.waker.register(cx.waker());
            if signal.stopped.load(Ordering::Acquire) {
                return Poll::Ready(false);
            }
            match client.upgrade().map(|c| c.queue.len() > 0) {
                None => Poll::Ready(false),
                Some(true) => Poll::Ready(true),
                Some(false) => Poll::Pending,
            }
        });
        if !events_waiting.await {
            return;
        }
        loop {
            let more = match client.upgrade() {
                Some(c) => c.serve_waiting(),
                None => return,
            };
            if !more || signal.stopped.load(Ordering::Acquire) {
                break;
            }
            tokio::task::yield_now().await;
        }
    }
}

/// Serves the queue on a thread of its own, for a producer whose task is gone while the
/// producer is not.
struct ThreadOnDrop {
    client: Weak<Client>,
    signal: Arc<Signal>,
}

impl Drop for ThreadOnDrop {
    fn drop(&mut self) {
        if !self.signal.stopped.load(Ordering::Acquire) && self.client.strong_count() > 0 {
            serve_on_new_thread(self.client.clone(), Arc::clone(&self.signal));
        }
    }
}

fn serve_on_new_thread(client: Weak<Client>, signal: Arc<Signal>) {
    std::thread::Builder::new()
        .name("streamkit-producer".into())
        .spawn(move || serve_on_thread(client, signal))
        .expect("starting the producer's thread");
}

/// The thread: polls the queue until the producer is gone.
fn serve_on_thread(client: Weak<Client>, signal: Arc<Signal>) {
    while !signal.stopped.load(Ordering::Acquire) {
        match client.upgrade() {
            Some(c) => c.producer.poll(Duration::from_millis(100)),
            None => return,
        }
    }
}
