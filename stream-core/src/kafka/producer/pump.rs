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

/// How many events (a delivery report event holds one produce response's records) the task
/// serves before it lets the runtime run other tasks: a queue that never empties must not hold
/// a runtime thread.
const SERVE_AT_ONCE: usize = 64;

/// The librdkafka producer, with a second handle on its main queue (where delivery reports
/// arrive). The handle is declared first so it is dropped first: a queue handle must not
/// outlive its client.
pub(super) struct Client {
    queue: MainQueue,
    pub(super) producer: BaseProducer<ProducerCallbacks>,
}

impl Client {
    pub(super) fn new(producer: BaseProducer<ProducerCallbacks>) -> Self {
        // SAFETY: the client is valid; the handle is destroyed (MainQueue::drop) before it.
        let queue = unsafe { rd::rd_kafka_queue_get_main(producer.client().native_ptr()) };
        Self {
            queue: MainQueue(queue),
            producer,
        }
    }

    /// Serves the events waiting in the queue, at most [`SERVE_AT_ONCE`], without waiting for
    /// more; true when some are still waiting.
    fn serve_waiting(&self) -> bool {
        for _ in 0..SERVE_AT_ONCE {
            if self.queue.len() == 0 {
                return false;
            }
            self.producer.poll(Duration::ZERO);
        }
        self.queue.len() > 0
    }
}

struct MainQueue(*mut rd::rd_kafka_queue_t);

// SAFETY: librdkafka's queue handles may be used from any thread.
unsafe impl Send for MainQueue {}
// SAFETY: as above; the calls made through `&MainQueue` lock the queue.
unsafe impl Sync for MainQueue {}

impl MainQueue {
    fn len(&self) -> usize {
        // SAFETY: the handle is valid until dropped.
        unsafe { rd::rd_kafka_queue_length(self.0) }
    }
}

impl Drop for MainQueue {
    fn drop(&mut self) {
        // SAFETY: the handle is valid and dropped once.
        unsafe { rd::rd_kafka_queue_destroy(self.0) }
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
    client: Weak<Client>,
    signal: Arc<Signal>,
    /// The `Signal` reference librdkafka's callback holds (on the runtime only).
    callback: Option<*const Signal>,
}

// SAFETY: `callback` is an `Arc<Signal>` reference (Signal is Send + Sync), released once.
unsafe impl Send for DeliveryPump {}
// SAFETY: as above; `&DeliveryPump` never touches it.
unsafe impl Sync for DeliveryPump {}

/// librdkafka calls it, with the queue locked, when the queue goes from empty to non-empty:
/// it only wakes the task.
unsafe extern "C" fn queue_nonempty(_rk: *mut rd::rd_kafka_t, opaque: *mut c_void) {
    // SAFETY: `opaque` is the `Arc<Signal>` reference `DeliveryPump::start` leaked, released
    // only after the callback is switched off (which takes the same lock).
    let signal = unsafe { &*(opaque as *const Signal) };
    signal.waker.wake();
}

impl DeliveryPump {
    /// Starts serving `client`'s queue: in a task on the current tokio runtime if there is one,
    /// else on a thread of its own.
    pub(super) fn start(client: &Arc<Client>) -> Self {
        let signal = Arc::new(Signal::default());
        let weak = Arc::downgrade(client);
        let callback = match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let opaque = Arc::into_raw(Arc::clone(&signal));
                // SAFETY: the queue handle is valid; `opaque` stays valid until `drop` switches
                // the callback off and releases it.
                unsafe {
                    rd::rd_kafka_queue_cb_event_enable(
                        client.queue.0,
                        Some(queue_nonempty),
                        opaque as *mut c_void,
                    )
                };
                let handover = ThreadOnDrop {
                    client: weak.clone(),
                    signal: Arc::clone(&signal),
                };
                runtime.spawn(serve_on_runtime(
                    weak.clone(),
                    Arc::clone(&signal),
                    handover,
                ));
                Some(opaque)
            }
            Err(_) => {
                serve_on_new_thread(weak.clone(), Arc::clone(&signal));
                None
            }
        };
        Self {
            client: weak,
            signal,
            callback,
        }
    }
}

impl Drop for DeliveryPump {
    fn drop(&mut self) {
        self.signal.stopped.store(true, Ordering::Release);
        if let Some(opaque) = self.callback.take() {
            if let Some(client) = self.client.upgrade() {
                // SAFETY: the handle is valid; once this returns the callback no longer runs.
                unsafe {
                    rd::rd_kafka_queue_cb_event_enable(client.queue.0, None, std::ptr::null_mut())
                };
            }
            // SAFETY: the reference leaked in `start`, no longer used by librdkafka.
            drop(unsafe { Arc::from_raw(opaque) });
        }
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
