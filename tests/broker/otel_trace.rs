//! The `otel` feature on the real broker: a record written the way a Python service writes it,
//! with a `traceparent`, is handled in an OpenTelemetry span (read back from the SDK's in-memory
//! exporter) of the same trace whose parent is the Python span, and the record the handler
//! publishes names that span as its parent.

#[path = "../support/python_producer.rs"]
mod python_producer;

use std::time::Duration;

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use rdkafka::message::{Headers, Message};
use stream_core::handler::HandlerError;
use stream_core::handler::extract::Context;
use stream_core::kafka::trace_context::TraceParent;
use stream_core::service::StreamServiceBuilder;
use stream_core::service::config::ServiceConfig;
use stream_core::testing;
use tracing_subscriber::layer::SubscriberExt;

use python_producer::{Raw, produce, signal_json};

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const PARENT: &str = "b7ad6b7169203331";

#[derive(serde::Serialize, serde::Deserialize)]
struct Relayed {
    of: uuid::Uuid,
}

impl stream_core::Event for Relayed {
    const EVENT_TYPE: &'static str = "relayed";
}

async fn relay(ctx: Context) -> Result<(), HandlerError> {
    let out = ctx.topic_on_same_broker(&format!(
        "{}.relayed",
        ctx.topic().split('.').nth(1).unwrap()
    ))?;
    ctx.publish(&out, &Relayed { of: ctx.event_id() }).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handler_span_continues_a_python_traceparent() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new(
            "info,streamkit::message=debug",
        ))
        .with(stream_core::otel::layer_with(provider));
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let topic = testing::unique_topic("paper", "oteltrace", "signals");
    let domain = topic.split('.').nth(1).unwrap().to_owned();
    let out = format!("paper.{domain}.relayed");
    testing::create_topics(&[&topic, &out], 1).await;
    let group = testing::unique_name("oteltrace");
    let config = ServiceConfig::with_kafka(testing::kafka_config());
    let service = StreamServiceBuilder::new("otel-test", config)
        .add_producer()
        .add_consumer_handler(&[&topic], &group, relay)
        .build()
        .unwrap();
    let handle = service.handle();
    let running = tokio::spawn(service.run_until_stopped());

    let id = uuid::Uuid::now_v7().to_string();
    let value = signal_json(&id, "paper", "trading_signal", "5");
    produce(vec![
        Raw::text(&topic, "k", 0, Some(&value))
            .header("traceparent", &format!("00-{TRACE}-{PARENT}-01")),
    ])
    .await;
    testing::wait_until(Duration::from_secs(60), "the relayed record", || {
        let out = out.clone();
        async move { !testing::read_all(&out).await.is_empty() }
    })
    .await;
    handle.shutdown();
    running.await.unwrap().unwrap();
    // (The simple exporter has every ended span already; a shutdown would clear them.)

    let spans = exporter.get_finished_spans().unwrap();
    let message = spans
        .iter()
        .find(|s| s.name == "message")
        .unwrap_or_else(|| panic!("no message span: {spans:?}"));
    let trace = TraceId::from_hex(TRACE).unwrap();
    assert_eq!(
        message.span_context.trace_id(),
        trace,
        "the span continues the trace"
    );
    assert_eq!(message.parent_span_id, SpanId::from_hex(PARENT).unwrap());
    assert!(message.parent_span_is_remote);

    let records = testing::read_all(&out).await;
    let headers = records[0].headers().expect("headers");
    let value = headers
        .iter()
        .find(|h| h.key == "traceparent")
        .and_then(|h| h.value)
        .expect("a traceparent");
    let written = TraceParent::parse(std::str::from_utf8(value).unwrap()).unwrap();
    assert_eq!(written.trace_id, trace.to_bytes());
    assert_eq!(
        written.parent_id,
        message.span_context.span_id().to_bytes(),
        "the output's parent is the handler's span"
    );
}
