//! The `otel` feature's metrics on the real broker: a service handles 40 records and publishes
//! one output each; the OpenTelemetry instruments (read back from the SDK's in-memory exporter)
//! have the handler-duration and message-age histograms with 40 measurements, the delivery
//! latency of the 40 outputs, the consumer lag of each partition down to 0, a rebalance, and the
//! group's handled counter at 40.

use std::time::Duration;

use opentelemetry_sdk::metrics::data::{AggregatedMetrics, Metric, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use stream_core::handler::HandlerError;
use stream_core::handler::extract::Context;
use stream_core::kafka::producer::MessageProducer;
use stream_core::service::StreamServiceBuilder;
use stream_core::service::config::ServiceConfig;
use stream_core::testing;

const RECORDS: u64 = 40;

#[derive(serde::Serialize, serde::Deserialize)]
struct Tick {
    seq: u64,
}

impl stream_core::Event for Tick {
    const EVENT_TYPE: &'static str = "tick";
}

async fn relay(ctx: Context) -> Result<(), HandlerError> {
    let domain = ctx.topic().split('.').nth(1).unwrap().to_owned();
    let out = ctx.topic_on_same_broker(&format!("{domain}.relayed"))?;
    ctx.publish(&out, &Tick { seq: 0 }).await?;
    Ok(())
}

/// Every metric named `name` in what the exporter holds.
fn named<'a>(exported: &'a [ResourceMetrics], name: &str) -> Vec<&'a Metric> {
    exported
        .iter()
        .flat_map(|r| r.scope_metrics())
        .flat_map(|s| s.metrics())
        .filter(|m| m.name() == name)
        .collect()
}

/// The largest count of a histogram's data points labelled `group` (cumulative: the last
/// export has the total).
fn histogram_count(exported: &[ResourceMetrics], name: &str) -> u64 {
    named(exported, name)
        .iter()
        .filter_map(|m| match m.data() {
            AggregatedMetrics::F64(MetricData::Histogram(h)) => {
                Some(h.data_points().map(|p| p.count()).sum::<u64>())
            }
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_records_its_metrics_into_opentelemetry() {
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    stream_core::otel::install_metrics(provider.clone());

    let topic = testing::unique_topic("paper", "otelmetrics", "ticks");
    let domain = topic.split('.').nth(1).unwrap().to_owned();
    let out = format!("paper.{domain}.relayed");
    testing::create_topics(&[&topic, &out], 2).await;
    let producer = MessageProducer::new(&testing::kafka_config(), "otel-metrics-feed").unwrap();
    for seq in 0..RECORDS {
        producer
            .send(&topic, &seq.to_string(), &Tick { seq })
            .await
            .unwrap();
    }

    let group = testing::unique_name("otelmetrics");
    let config = ServiceConfig::with_kafka(testing::kafka_config());
    let service = StreamServiceBuilder::new("otel-metrics-test", config)
        .add_producer()
        .add_consumer_handler(&[&topic], &group, relay)
        .build()
        .unwrap();
    let handle = service.handle();
    let running = tokio::spawn(service.run_until_stopped());
    testing::wait_until(Duration::from_secs(60), "every output", || {
        let out = out.clone();
        async move { testing::read_all(&out).await.len() as u64 >= RECORDS }
    })
    .await;
    // librdkafka's statistics (lag) come every second.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    provider.force_flush().unwrap();
    handle.shutdown();
    running.await.unwrap().unwrap();

    let exported = exporter.get_finished_metrics().unwrap();
    assert_eq!(
        histogram_count(&exported, "streamkit.handler.duration"),
        RECORDS
    );
    assert_eq!(histogram_count(&exported, "streamkit.message.age"), RECORDS);
    assert!(
        histogram_count(&exported, "streamkit.producer.delivery_latency") >= 2 * RECORDS,
        "the feed's and the handler's deliveries"
    );
    let duration = named(&exported, "streamkit.handler.duration");
    assert_eq!(duration[0].unit(), "s");
    // The last export: every partition of the group read to its end and committed.
    let lag = named(&exported[exported.len() - 1..], "streamkit.consumer.lag");
    let lag_points: Vec<(String, i64)> = lag
        .iter()
        .filter_map(|m| match m.data() {
            AggregatedMetrics::I64(MetricData::Gauge(g)) => Some(g),
            _ => None,
        })
        .flat_map(|g| g.data_points())
        .filter(|p| p.attributes().any(|kv| kv.value.as_str() == group.as_str()))
        .map(|p| {
            let partition = p
                .attributes()
                .find(|kv| kv.key.as_str() == "partition")
                .map(|kv| kv.value.to_string())
                .unwrap_or_default();
            (partition, p.value())
        })
        .collect();
    assert_eq!(lag_points.len(), 2, "one lag per partition: {lag_points:?}");
    assert!(
        lag_points.iter().all(|(_, lag)| *lag == 0),
        "the lag dropped to 0: {lag_points:?}"
    );
    assert!(
        !named(&exported, "streamkit.rebalances").is_empty(),
        "no rebalance counted"
    );
    let handled: Vec<u64> = named(
        &exported[exported.len() - 1..],
        "streamkit.messages_handled",
    )
    .iter()
    .filter_map(|m| match m.data() {
        AggregatedMetrics::U64(MetricData::Sum(s)) => Some(s),
        _ => None,
    })
    .flat_map(|s| s.data_points())
    .filter(|p| p.attributes().any(|kv| kv.value.as_str() == group.as_str()))
    .map(|p| p.value())
    .collect();
    assert_eq!(handled, [RECORDS], "the group's handled counter");
}
