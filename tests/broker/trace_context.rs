//! W3C trace context across a service on the real broker: a record written the way a Python
//! service writes it, with a `traceparent` header, is handled in a span that carries its trace
//! id, and the record its handler publishes has a `traceparent` of the same trace, whose parent is
//! this handling (a new span id), with the `tracestate` passed on.

#[path = "../support/python_producer.rs"]
mod python_producer;

use std::sync::Mutex;
use std::time::Duration;

use rdkafka::message::{Headers, Message};
use stream_core::handler::HandlerError;
use stream_core::handler::extract::Context;
use stream_core::kafka::trace_context::TraceParent;
use stream_core::service::StreamServiceBuilder;
use stream_core::service::config::ServiceConfig;
use stream_core::testing;
use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context as LayerContext, SubscriberExt};

use python_producer::{Raw, produce, signal_json};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

/// The `trace_id` values recorded on spans named `message`.
static SPAN_TRACE_IDS: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// The trace id the handler saw through its context.
static HANDLER_SAW: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct TraceIds;

struct Grab<'a>(&'a mut Option<String>);

impl Visit for Grab<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "trace_id" {
            *self.0 = Some(value.to_owned());
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "trace_id" {
            *self.0 = Some(format!("{value:?}").trim_matches('"').to_owned());
        }
    }
}

impl<S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>> Layer<S>
    for TraceIds
{
    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        ctx: LayerContext<'_, S>,
    ) {
        let mut found = None;
        values.record(&mut Grab(&mut found));
        if let (Some(v), Some(span)) = (found, ctx.span(id))
            && span.name() == "message"
        {
            SPAN_TRACE_IDS.lock().unwrap().push(v);
        }
    }
}

async fn relay(ctx: Context) -> Result<(), HandlerError> {
    HANDLER_SAW
        .lock()
        .unwrap()
        .push(ctx.message().trace().parent.trace_id_hex());
    let out = ctx.topic_on_same_broker(&format!(
        "{}.relayed",
        ctx.topic().split('.').nth(1).unwrap()
    ))?;
    ctx.publish_with_value(&out).await?;
    Ok(())
}

trait PublishRaw {
    fn publish_with_value(
        &self,
        topic: &str,
    ) -> impl Future<Output = Result<uuid::Uuid, HandlerError>>;
}

impl PublishRaw for Context {
    fn publish_with_value(
        &self,
        topic: &str,
    ) -> impl Future<Output = Result<uuid::Uuid, HandlerError>> {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct Relayed {
            of: uuid::Uuid,
        }
        impl stream_core::Event for Relayed {
            const EVENT_TYPE: &'static str = "relayed";
        }
        let of = self.event_id();
        async move { self.publish(topic, &Relayed { of }).await }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_traceparent_is_continued_in_the_span_and_the_output_record() {
    let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry().with(TraceIds));
    let topic = testing::unique_topic("paper", "tracectx", "signals");
    let domain = topic.split('.').nth(1).unwrap().to_owned();
    let out = format!("paper.{domain}.relayed");
    testing::create_topics(&[&topic, &out], 1).await;
    let group = testing::unique_name("tracectx");
    let service = StreamServiceBuilder::new(
        "trace-test",
        ServiceConfig::with_kafka(testing::kafka_config()),
    )
    .add_producer()
    .add_consumer_handler(&[&topic], &group, relay)
    .build()
    .unwrap();
    let handle = service.handle();
    let running = tokio::spawn(service.run_until_stopped());

    let id = uuid::Uuid::now_v7().to_string();
    let traceparent = format!("00-{TRACE}-{PARENT}-01");
    produce(vec![
        Raw::text(
            &topic,
            "k",
            0,
            Some(&signal_json(&id, "paper", "trading_signal", "5")),
        )
        .header("traceparent", &traceparent)
        .header("tracestate", "vendor=abc"),
    ])
    .await;

    testing::wait_until(Duration::from_secs(60), "the relayed record", || {
        let out = out.clone();
        async move { !testing::read_all(&out).await.is_empty() }
    })
    .await;
    let records = testing::read_all(&out).await;
    let headers = records[0].headers().expect("headers");
    let header = |name: &str| {
        headers
            .iter()
            .find(|h| h.key == name)
            .and_then(|h| h.value)
            .map(|v| String::from_utf8(v.to_vec()).unwrap())
    };
    let written = TraceParent::parse(&header("traceparent").expect("a traceparent")).unwrap();
    assert_eq!(
        written.trace_id_hex(),
        TRACE,
        "the output record continues the trace"
    );
    let incoming = TraceParent::parse(&traceparent).unwrap();
    assert_ne!(
        written.parent_id, incoming.parent_id,
        "its parent is this handling's span"
    );
    assert!(written.sampled());
    assert_eq!(header("tracestate").as_deref(), Some("vendor=abc"));
    assert_eq!(HANDLER_SAW.lock().unwrap().as_slice(), [TRACE.to_owned()]);
    assert!(
        SPAN_TRACE_IDS.lock().unwrap().contains(&TRACE.to_owned()),
        "the message span carries the trace id: {:?}",
        SPAN_TRACE_IDS.lock().unwrap()
    );
    handle.shutdown();
    running.await.unwrap().unwrap();
}
