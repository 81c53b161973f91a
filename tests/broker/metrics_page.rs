//! The `/metrics` page scraped over HTTP while a service runs: after N messages, the handler
//! duration and end-to-end age histograms of the group count N, the consumer lag of every
//! partition drops to 0 once the offsets are committed, and the producer's figures are there.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use stream_core::handler::HandlerError;
use stream_core::handler::extract::{Context, Data};
use stream_core::kafka::producer::MessageProducer;
use stream_core::service::StreamServiceBuilder;
use stream_core::service::config::ServiceConfig;
use stream_core::testing;

const N: u64 = 200;

#[derive(serde::Serialize, serde::Deserialize)]
struct Tick {
    n: u64,
}

impl stream_core::Event for Tick {
    const EVENT_TYPE: &'static str = "market_tick";
}

fn scrape(port: u16) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(
        out.starts_with("HTTP/1.1 200") || out.starts_with("HTTP/1.0 200"),
        "{out}"
    );
    out.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned()
}

async fn scrape_async(port: u16) -> String {
    tokio::task::spawn_blocking(move || scrape(port))
        .await
        .unwrap()
}

/// The value of the sample `name{labels}` (labels in the page's order), if present.
fn sample(page: &str, name_and_labels: &str) -> Option<f64> {
    page.lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.trim().parse().ok())
}

/// Every `streamkit_consumer_lag` sample of `group`.
fn lags(page: &str, group: &str) -> Vec<f64> {
    let prefix = format!("streamkit_consumer_lag{{group=\"{group}\"");
    page.lines()
        .filter(|l| l.starts_with(&prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect()
}

async fn forward(Data(t): Data<Tick>, ctx: Context) -> Result<(), HandlerError> {
    let out =
        ctx.topic_on_same_broker(&format!("{}.out", ctx.topic().split('.').nth(1).unwrap()))?;
    ctx.publish(&out, &t).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn histograms_count_the_messages_and_lag_drops_to_zero() {
    let topic = testing::unique_topic("paper", "metricspage", "ticks");
    let domain = topic.split('.').nth(1).unwrap().to_owned();
    let out = format!("paper.{domain}.out");
    testing::create_topics(&[&topic, &out], 3).await;
    let group = testing::unique_name("metricspage");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = ServiceConfig::with_kafka(testing::kafka_config());
    config.health_port = Some(port);
    config.commit_interval = Duration::from_millis(200);
    let service = StreamServiceBuilder::new("metrics-test", config)
        .add_producer()
        .add_consumer_handler(&[&topic], &group, forward)
        .build()
        .unwrap();
    let handle = service.handle();
    let running = tokio::spawn(service.run_until_stopped());
    testing::wait_until(Duration::from_secs(60), "readiness", || {
        let h = handle.clone();
        async move { h.is_ready() }
    })
    .await;

    let producer = MessageProducer::new(&testing::kafka_config(), "metrics-feeder").unwrap();
    for n in 0..N {
        producer
            .send(&topic, &format!("k{n}"), &Tick { n })
            .await
            .unwrap();
    }
    let labels = format!("{{group=\"{group}\",topic=\"{topic}\"}}");
    let duration = format!("streamkit_handler_duration_seconds_count{labels}");
    let age = format!("streamkit_message_age_seconds_count{labels}");
    testing::wait_until(Duration::from_secs(60), "N handler durations", || {
        let duration = duration.clone();
        async move { sample(&scrape_async(port).await, &duration) == Some(N as f64) }
    })
    .await;
    // Lag: librdkafka's statistics every second, from the committed offsets.
    testing::wait_until(
        Duration::from_secs(60),
        "the lag of every partition at 0",
        || {
            let group = group.clone();
            async move {
                let lags = lags(&scrape_async(port).await, &group);
                lags.len() == 3 && lags.iter().all(|l| *l == 0.0)
            }
        },
    )
    .await;
    let page = scrape_async(port).await;
    assert_eq!(sample(&page, &duration), Some(N as f64), "{page}");
    assert_eq!(sample(&page, &age), Some(N as f64), "{page}");
    assert_eq!(
        sample(
            &page,
            &format!("streamkit_messages_handled_total{{group=\"{group}\"}}")
        ),
        Some(N as f64),
        "{page}"
    );
    for name in [
        "# TYPE streamkit_handler_duration_seconds histogram",
        "# TYPE streamkit_message_age_seconds histogram",
        "# TYPE streamkit_consumer_lag gauge",
        "# TYPE streamkit_rebalances_total counter",
        "# TYPE streamkit_rebalance_last_duration_seconds gauge",
        "# TYPE streamkit_producer_queue_depth gauge",
        "# TYPE streamkit_producer_in_flight gauge",
        "# TYPE streamkit_producer_delivery_latency_seconds histogram",
    ] {
        // (Retries and dead letters by kind appear once there is one.)
        assert!(page.contains(name), "{name} missing:\n{page}");
    }
    assert!(
        sample(
            &page,
            &format!("streamkit_rebalances_total{{group=\"{group}\"}}")
        )
        .unwrap()
            >= 1.0,
        "{page}"
    );
    // The service's producer published N records, each awaited by the consumer.
    let client = handle_client(&page);
    assert_eq!(
        sample(
            &page,
            &format!("streamkit_producer_delivery_latency_seconds_count{{client=\"{client}\"}}")
        ),
        Some(N as f64),
        "{page}"
    );
    handle.shutdown();
    running.await.unwrap().unwrap();
    let _ = producer.shutdown(Duration::from_secs(5)).await;
}

/// The `client` label of the service's producer (`metrics-test-<instance>`).
fn handle_client(page: &str) -> String {
    page.lines()
        .find_map(|l| {
            let rest =
                l.strip_prefix("streamkit_producer_delivery_latency_seconds_count{client=\"")?;
            let client = rest.split('"').next()?;
            client
                .starts_with("metrics-test-")
                .then(|| client.to_owned())
        })
        .unwrap_or_else(|| panic!("no delivery latency of the service's producer:\n{page}"))
}

/// Readiness reads the producer's connection: a producer pointed at a port nobody listens on
/// says it has none within a few seconds of statistics; one on the real broker says it has one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_producer_reports_its_broker_connection() {
    let dead = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // (The listener is dropped: nothing listens on `dead` any more.)
    let config = stream_core::KafkaConfig::new(format!("127.0.0.1:{dead}"));
    let nowhere = MessageProducer::new(&config, "connection-test").unwrap();
    testing::wait_until(Duration::from_secs(20), "no connection reported", || {
        let p = nowhere.clone();
        async move { !p.is_connected() }
    })
    .await;
    let real = MessageProducer::new(&testing::kafka_config(), "connection-test").unwrap();
    real.start().await.unwrap();
    testing::wait_until(Duration::from_secs(20), "a connection reported", || {
        let p = real.clone();
        async move { p.is_connected() }
    })
    .await;
    let _ = real.shutdown(Duration::from_secs(5)).await;
}
