//! The health and metrics endpoint of a service (`ServiceConfig::health_port`).
//!
//! Three paths, served by `tiny_http` on a thread of its own, bound to the configured port on all
//! interfaces (it is meant for Kubernetes probes and Prometheus scrapes):
//!
//! - `GET /health/live`: 200 while every consumer's poll loop runs, else 503; 503 too once a
//!   consumer stopped on a message it could not dead-letter;
//! - `GET /health/ready`: 200 while every consumer group has its assignment (or has joined and
//!   was assigned none) and the producer has a connection to a broker, else 503 with the reason;
//! - `GET /metrics`: the metrics in the Prometheus text format (see
//!   [`metrics_page`](crate::service::metrics_page)).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};
use crate::service::handle::ServiceHandle;
use crate::service::metrics_page::{CONTENT_TYPE, registry, render};

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
    let metrics = registry(&handle);
    std::thread::Builder::new()
        .name("streamkit-health".into())
        .spawn(move || {
            for request in srv.incoming_requests() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let (status, body) = respond(request.url(), &handle, &metrics);
                let mut response = tiny_http::Response::from_string(body).with_status_code(status);
                if request.url() == "/metrics"
                    && let Ok(h) = tiny_http::Header::from_bytes("Content-Type", CONTENT_TYPE)
                {
                    response.add_header(h);
                }
                let _ = request.respond(response);
            }
        })
        .map_err(|e| Error::Runtime {
            what: "health server".into(),
            message: format!("cannot start its thread: {e}"),
        })?;
    Ok(HealthServer { server, stop, port })
}

fn respond(
    url: &str,
    handle: &ServiceHandle,
    metrics: &prometheus_client::registry::Registry,
) -> (u16, String) {
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
            false => (503, handle.not_ready_reason()),
        },
        "/metrics" => (200, render(metrics)),
        _ => (404, "try /health/live, /health/ready or /metrics\n".into()),
    }
}

/// The page `/metrics` serves: see [`metrics_page`](crate::service::metrics_page).
pub fn metrics_text(handle: &ServiceHandle) -> String {
    render(&registry(handle))
}
