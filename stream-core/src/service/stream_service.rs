//! [`StreamService`]: a built service, run until a signal or a call stops it.

use std::time::Duration;

use crate::consumer::MessageConsumer;
use crate::error::{Error, Result};
use crate::handler::MessageHandler;
use crate::kafka::producer::MessageProducer;
use crate::service::handle::{ServiceHandle, ServiceReport};

/// A built service: consumers per group, the producer, and the handle that stops them.
#[must_use = "a service does nothing until run"]
pub struct StreamService {
    pub(super) name: String,
    /// Which dedup store the handlers use, for the start-up log.
    pub(super) dedup_store: String,
    pub(super) shutdown_timeout: Duration,
    pub(super) health_port: Option<u16>,
    pub(super) producer: Option<MessageProducer>,
    pub(super) consumers: Vec<(MessageConsumer, Box<dyn MessageHandler>)>,
    pub(super) handle: ServiceHandle,
}

impl std::fmt::Debug for StreamService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamService")
            .field("name", &self.name)
            .field("groups", &self.consumers.len())
            .finish_non_exhaustive()
    }
}

impl StreamService {
    /// The handle that stops this service from elsewhere.
    pub fn handle(&self) -> ServiceHandle {
        self.handle.clone()
    }

    /// The service's producer, if it has one.
    pub fn producer(&self) -> Option<&MessageProducer> {
        self.producer.as_ref()
    }

    /// Runs until SIGINT, SIGTERM or [`ServiceHandle::shutdown`]; then stops gracefully.
    pub async fn run(self) -> Result<ServiceReport> {
        let handle = self.handle.clone();
        let signals = tokio::spawn({
            let handle = handle.clone();
            async move {
                wait_for_signal().await;
                tracing::info!("signal received; shutting down");
                handle.shutdown();
            }
        });
        let report = self.run_until_stopped().await;
        signals.abort();
        report
    }

    /// Runs until [`ServiceHandle::shutdown`] (no signal handling: for tests and embedding).
    pub async fn run_until_stopped(self) -> Result<ServiceReport> {
        let StreamService {
            name,
            dedup_store,
            shutdown_timeout,
            health_port,
            producer,
            consumers,
            handle,
        } = self;
        let _health = match health_port {
            Some(port) => Some(crate::service::health::serve(port, handle.clone())?),
            None => None,
        };
        #[cfg(feature = "otel")]
        crate::service::metrics_page::observe_in_otel(&handle);
        if let Some(p) = &producer {
            p.start().await?;
        }
        tracing::info!(service = %name, groups = consumers.len(), dedup = %dedup_store, "service starting");
        let mut tasks = Vec::new();
        for (consumer, handler) in consumers {
            let group = consumer.group().to_owned();
            let handle = handle.clone();
            // A consumer that fails stops the others at once, not when its turn to be awaited
            // comes.
            tasks.push((
                group,
                tokio::spawn(async move {
                    let result = consumer.run_boxed(handler).await;
                    if result.is_err() {
                        handle.shutdown();
                    }
                    result
                }),
            ));
        }
        let mut report = ServiceReport::default();
        let mut first_error = None;
        for (group, task) in tasks {
            match task.await {
                Ok(Ok(r)) => report.groups.push((group, r)),
                Ok(Err(e)) => {
                    handle.shutdown();
                    first_error.get_or_insert(e);
                }
                Err(join) => {
                    handle.shutdown();
                    first_error.get_or_insert(Error::Runtime {
                        what: format!("consumer of group `{group}`"),
                        message: format!("its task failed: {join}"),
                    });
                }
            }
        }
        if let Some(p) = &producer {
            report.undelivered = p.shutdown(shutdown_timeout).await.undelivered;
        }
        tracing::info!(service = %name, "service stopped");
        match first_error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
