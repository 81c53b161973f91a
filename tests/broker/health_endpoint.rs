//! The health and metrics endpoint of a running service: `/health/live`, `/health/ready` (503
//! until the groups joined, 200 after) and `/metrics` in the Prometheus text format.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use stream_core::config::ServiceConfig;
use stream_core::handler::HandlerError;
use stream_core::service::StreamServiceBuilder;
use stream_core::testing;

fn get(port: u16, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = out.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (status, body)
}

async fn noop() -> Result<(), HandlerError> {
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_metrics_are_served() {
    let topic = testing::unique_topic("paper", "health", "ticks");
    testing::create_topic(&topic, 2).await;
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = ServiceConfig::with_kafka(testing::kafka_config());
    config.health_port = Some(port);
    let service = StreamServiceBuilder::new("health-test", config)
        .add_consumer_handler(&[&topic], "health.ticks", noop)
        .build()
        .unwrap();
    let handle = service.handle();
    let running = tokio::spawn(service.run_until_stopped());

    testing::wait_until(
        Duration::from_secs(10),
        "the endpoint to listen",
        || async move { TcpStream::connect(("127.0.0.1", port)).is_ok() },
    )
    .await;
    assert_eq!(get(port, "/health/live").0, 200);
    testing::wait_until(Duration::from_secs(60), "readiness", || async move {
        tokio::task::spawn_blocking(move || get(port, "/health/ready").0 == 200)
            .await
            .unwrap()
    })
    .await;
    let (status, metrics) = get(port, "/metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("# TYPE streamkit_messages_handled_total counter"),
        "{metrics}"
    );
    assert!(
        metrics.contains("streamkit_assigned_partitions{group=\"health.ticks\"} 2"),
        "{metrics}"
    );
    assert_eq!(get(port, "/nope").0, 404);

    handle.shutdown();
    running.await.unwrap().unwrap();
    assert!(!handle.is_ready());
}
