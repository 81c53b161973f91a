//! The health and metrics endpoint of a running service: `/health/live`, `/health/ready` (503
//! until the groups joined, 200 after) and `/metrics` in the Prometheus text format; and
//! `/health/live` answering 503 while a consumer's poll loop is stuck (here: in a partition
//! revoke that waits for a handler that does not finish), 200 again once it polls again.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use stream_core::consumer::MessageConsumer;
use stream_core::handler::{HandlerError, Incoming};
use stream_core::kafka::producer::MessageProducer;
use stream_core::service::StreamServiceBuilder;
use stream_core::service::config::ServiceConfig;
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Handlers of `stuck_poll_loop_fails_liveness` running now, and whether they may finish.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static RELEASE: AtomicBool = AtomicBool::new(false);

/// Runs until `RELEASE` is set.
async fn held() -> Result<(), HandlerError> {
    IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
    while !RELEASE.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    Ok(())
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Tick {
    n: u32,
}

impl stream_core::Event for Tick {
    const EVENT_TYPE: &'static str = "market_tick";
}

/// `/health/live` as a probe sees it, from a blocking thread (the request is blocking I/O).
async fn live(port: u16) -> (u16, String) {
    tokio::task::spawn_blocking(move || get(port, "/health/live"))
        .await
        .unwrap()
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

/// A revoke waits (up to the shutdown timeout) for the revoked partition's handler to finish, and
/// librdkafka runs it inside the poll loop's `poll`: with a handler that does not finish, the poll
/// loop is stuck, and liveness must say so after its 10 s limit, over HTTP, while the service
/// still runs; once the handler finishes the loop polls again and liveness is 200 again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stuck_poll_loop_fails_liveness() {
    let topic = testing::unique_topic("paper", "liveness", "ticks");
    testing::create_topic(&topic, 2).await;
    let group = testing::unique_name("liveness");
    let port = free_port();
    let mut config = ServiceConfig::with_kafka(testing::kafka_config());
    config.health_port = Some(port);
    config.shutdown_timeout = Duration::from_secs(60); // longer than the test waits for the 503
    let service = StreamServiceBuilder::new("liveness-test", config)
        .add_consumer_handler(&[&topic], &group, held)
        .build()
        .unwrap();
    let handle = service.handle();
    let running = tokio::spawn(service.run_until_stopped());

    // Both partitions get a message; each one's worker then holds its first.
    let producer = MessageProducer::new(&testing::kafka_config(), "liveness-test").unwrap();
    for n in 0..20 {
        producer
            .send(&topic, &format!("k{n}"), &Tick { n })
            .await
            .unwrap();
    }
    testing::wait_until(
        Duration::from_secs(60),
        "a held handler on each partition",
        || async { IN_FLIGHT.load(Ordering::SeqCst) == 2 },
    )
    .await;
    assert_eq!(
        live(port).await.0,
        200,
        "live while handlers merely run long"
    );

    // A second member joins the group: the rebalance revokes a partition of the service, whose
    // revoke waits for its held handler.
    let member = MessageConsumer::new(&testing::kafka_config(), &[&topic], &group)
        .unwrap()
        .service("liveness-member");
    let member_stop = member.shutdown_handle();
    let member_run =
        tokio::spawn(member.run(|_msg: Arc<Incoming>| async move { Ok::<(), HandlerError>(()) }));

    let started = Instant::now();
    let (status, body) = loop {
        let (status, body) = live(port).await;
        if status != 200 || started.elapsed() > Duration::from_secs(45) {
            break (status, body);
        }
        if running.is_finished() {
            panic!("the service stopped: {:?}", running.await);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(
        status,
        503,
        "liveness still 200 after {:?} of a stuck poll loop",
        started.elapsed()
    );
    assert!(body.contains("poll loop is stuck"), "{body}");
    assert!(!handle.is_live());
    assert!(
        !running.is_finished(),
        "503 must come from the running service"
    );

    // The handlers finish: the revoke completes, the loop polls, liveness recovers.
    RELEASE.store(true, Ordering::SeqCst);
    testing::wait_until(
        Duration::from_secs(30),
        "liveness back to 200",
        || async move { live(port).await.0 == 200 },
    )
    .await;

    member_stop.shutdown();
    tokio::time::timeout(Duration::from_secs(60), member_run)
        .await
        .expect("the second member stops")
        .unwrap()
        .unwrap();
    handle.shutdown();
    tokio::time::timeout(Duration::from_secs(60), running)
        .await
        .expect("the service stops")
        .unwrap()
        .unwrap();
    let _ = producer.shutdown(Duration::from_secs(5)).await;
}
