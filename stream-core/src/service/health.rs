//! The health and metrics endpoint of a service (`ServiceConfig::health_port`).
//!
//! Three paths, served by `tiny_http` on a thread of its own, bound to the configured port on all
//! interfaces (it is meant for Kubernetes probes and Prometheus scrapes):
//!
//! - `GET /health/live`: 200 while every consumer's poll loop runs, else 503; 503 too once a
//!   consumer stopped on a message it could not dead-letter;
//! - `GET /health/ready`: 200 once every consumer group has its first assignment, else 503;
//! - `GET /metrics`: the consumer counters in the Prometheus text format, labelled by group.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};
use crate::service::handle::ServiceHandle;

/// A running health server; stops when dropped.
pub struct HealthServer {
    server: Arc<tiny_http::Server>,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl std::fmt::Debug for HealthServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthServer")
            .field("port", &self.port)
            .finish()
    }
}

impl HealthServer {
    /// The port it listens on (useful when 0 was asked for).
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for HealthServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.server.unblock();
    }
}

/// Starts serving `handle`'s health and metrics on `port` (0: any free port).
pub fn serve(port: u16, handle: ServiceHandle) -> Result<HealthServer> {
    let server = tiny_http::Server::http(("0.0.0.0", port)).map_err(|e| Error::Config {
        key: "service.health_port".into(),
        message: format!("cannot listen on port {port}: {e}"),
    })?;
    let port = server
        .server_addr()
        .to_ip()
        .map(|a| a.port())
        .unwrap_or(port);
    let server = Arc::new(server);
    let stop = Arc::new(AtomicBool::new(false));
    let (srv, stopped) = (Arc::clone(&server), Arc::clone(&stop));
    std::thread::Builder::new()
        .name("streamkit-health".into())
        .spawn(move || {
            for request in srv.incoming_requests() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let (status, body) = respond(request.url(), &handle);
                let _ = request
                    .respond(tiny_http::Response::from_string(body).with_status_code(status));
            }
        })
        .map_err(|e| Error::Runtime {
            what: "health server".into(),
            message: format!("cannot start its thread: {e}"),
        })?;
    Ok(HealthServer { server, stop, port })
}

fn respond(url: &str, handle: &ServiceHandle) -> (u16, String) {
    match url {
        "/health/live" => match handle.is_live() {
            true => (200, "live\n".into()),
            false => (
                503,
                "a consumer poll loop is stuck, or a consumer stopped on a message it could not \
                 dead-letter\n"
                    .into(),
            ),
        },
        "/health/ready" => match handle.is_ready() {
            true => (200, "ready\n".into()),
            false => (503, "not every consumer group has joined yet\n".into()),
        },
        "/metrics" => (200, metrics_text(handle)),
        _ => (404, "try /health/live, /health/ready or /metrics\n".into()),
    }
}

/// The counters in the Prometheus text exposition format.
pub fn metrics_text(handle: &ServiceHandle) -> String {
    let stats = handle.stats();
    let mut out = String::new();
    type Get = fn(&crate::consumer::StatsSnapshot) -> u64;
    let metrics: [(&str, &str, &str, Get); 10] = [
        (
            "streamkit_messages_received_total",
            "counter",
            "Records received from Kafka.",
            |s| s.received,
        ),
        (
            "streamkit_messages_handled_total",
            "counter",
            "Messages whose handler succeeded.",
            |s| s.handled,
        ),
        (
            "streamkit_messages_retried_total",
            "counter",
            "Handler retries.",
            |s| s.retried,
        ),
        (
            "streamkit_messages_dead_lettered_total",
            "counter",
            "Messages written to a dead-letter topic.",
            |s| s.dead_lettered,
        ),
        (
            "streamkit_messages_deduplicated_total",
            "counter",
            "Duplicates skipped.",
            |s| s.deduplicated,
        ),
        (
            "streamkit_dedup_unavailable_total",
            "counter",
            "Messages handled while the dedup store was unavailable.",
            |s| s.dedup_unavailable,
        ),
        (
            "streamkit_commits_total",
            "counter",
            "Offset commits.",
            |s| s.commits,
        ),
        (
            "streamkit_partitions_paused_total",
            "counter",
            "Times a partition was paused because its handler fell behind.",
            |s| s.paused,
        ),
        (
            "streamkit_dead_letter_failures_total",
            "counter",
            "Messages that could not be dead-lettered (each stops its consumer).",
            |s| s.dead_letter_failures,
        ),
        (
            "streamkit_assigned_partitions",
            "gauge",
            "Partitions currently assigned.",
            |s| s.assigned_partitions,
        ),
    ];
    for (name, kind, help, get) in metrics {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (group, s) in &stats {
            let _ = writeln!(
                out,
                "{name}{{group=\"{}\"}} {}",
                group.replace('"', "'"),
                get(s)
            );
        }
    }
    out
}
