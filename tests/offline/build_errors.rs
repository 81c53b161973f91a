//! `StreamServiceBuilder::build` checks the wiring before anything connects; each mistake is an
//! error naming the handler. No broker is needed: nothing connects.

use stream_core::handler::HandlerError;
use stream_core::handler::extract::{Context, Data, State};
use stream_core::service::StreamServiceBuilder;
use stream_core::service::config::ServiceConfig;
use stream_core::topic::Catalog;

#[derive(serde::Serialize, serde::Deserialize)]
struct Signal {}

impl stream_core::Event for Signal {
    const EVENT_TYPE: &'static str = "trading_signal";
}

async fn reads(Data(_s): Data<Signal>) -> Result<(), HandlerError> {
    Ok(())
}

async fn publishes(_ctx: Context) -> Result<(), HandlerError> {
    Ok(())
}

#[derive(Clone)]
struct AppState;

async fn stateful(State(_s): State<AppState>) -> Result<(), HandlerError> {
    Ok(())
}

fn builder() -> StreamServiceBuilder {
    StreamServiceBuilder::new("risk-manager", ServiceConfig::new("127.0.0.1:1"))
}

fn error_of(b: StreamServiceBuilder) -> String {
    b.build().expect_err("build must fail").to_string()
}

#[test]
fn no_handler_at_all() {
    assert_eq!(
        error_of(builder()),
        "service `risk-manager` has no handler: add one with .add_consumer_handler(..) or #[stream_handler]"
    );
}

#[test]
fn empty_topic_list() {
    assert_eq!(
        error_of(builder().add_consumer_handler(&[], "g", reads)),
        "handler `reads` subscribes to no topic"
    );
}

#[test]
fn overlapping_topics_in_one_group() {
    let err = error_of(
        builder()
            .add_consumer_handler(&["paper.signals.raw"], "risk.signals", reads)
            .add_consumer_handler(&["*.signals.raw"], "risk.signals", stateful)
            .with_state(AppState),
    );
    assert_eq!(
        err,
        "handler `stateful` subscribes to `*.signals.raw` in group `risk.signals`, which overlaps `paper.signals.raw` of handler `reads`; give one of them its own group"
    );
}

#[test]
fn overlapping_topics_in_different_groups_are_fine() {
    let service = builder()
        .add_consumer_handler(&["paper.signals.raw"], "risk.a", reads)
        .add_consumer_handler(&["*.signals.raw"], "risk.b", reads)
        .build()
        .unwrap();
    assert!(format!("{service:?}").contains("groups: 2"));
}

#[test]
fn pattern_matching_no_declared_topic() {
    let catalog = Catalog::parse(
        "brokers = [\"paper\", \"zerodha\"]\n[topics.\"signals.raw\"]\nevent = \"trading_signal\"\npartitions = 6\n",
    )
    .unwrap();
    let err = error_of(builder().with_catalog(catalog).add_consumer_handler(
        &["*.orders.*"],
        "g",
        reads,
    ));
    assert!(
        err.starts_with("handler `reads` pattern `*.orders.*` matches no declared topic"),
        "{err}"
    );
}

#[test]
fn publishing_without_a_producer() {
    assert_eq!(
        error_of(builder().add_consumer_handler(&["paper.signals.raw"], "g", publishes)),
        "handler `publishes` publishes through `Context` but the service has no producer: add .add_producer()"
    );
}

#[test]
fn state_that_was_never_given() {
    let err = error_of(builder().add_consumer_handler(&["paper.signals.raw"], "g", stateful));
    assert!(
        err.starts_with("handler `stateful` takes `State<")
            && err.ends_with("AppState>` but no such state was given: add .with_state(..)"),
        "{err}"
    );
}

#[test]
fn invalid_topic_names_the_handler() {
    let err = error_of(builder().add_consumer_handler(&["paper.sig*"], "g", reads));
    assert!(err.starts_with("handler `reads` "), "{err}");
    assert!(err.contains("paper.sig*"), "{err}");
}

#[test]
fn handlers_of_one_group_with_different_options() {
    use stream_core::reliability::retry::RetryPolicy;
    use stream_core::service::HandlerSpec;
    let paper = || HandlerSpec::new("reads", &["paper.signals.raw"], "risk.signals", reads);
    let zerodha = || HandlerSpec::new("audits", &["zerodha.signals.raw"], "risk.signals", reads);
    let expected = "handler `audits` shares group `risk.signals` with handler `reads` but not its retry/dlq/dedup/exactly_once/concurrency/order options (and a batch handler has its group to itself); one group is one consumer with one set of options";
    let differing = [
        (
            "retry",
            zerodha().retry(RetryPolicy::default().max_attempts(5)),
        ),
        ("dlq", zerodha().dlq(false)),
        ("dedup", zerodha().dedup(false)),
        ("exactly_once", zerodha().exactly_once(true)),
        ("concurrency", zerodha().concurrency(8)),
        (
            "order",
            zerodha()
                .concurrency(1)
                .order(stream_core::consumer::Order::None),
        ),
        (
            "batch",
            HandlerSpec::batch("audits", &["zerodha.signals.raw"], "risk.signals", batch_of),
        ),
    ];
    for (option, other) in differing {
        let err = error_of(builder().add_handler(paper()).add_handler(other));
        assert_eq!(err, expected, "differing `{option}`");
    }
    // A handler without a retry policy runs with the service's: the same as one naming it.
    let default_named = builder()
        .add_handler(paper())
        .add_handler(zerodha().retry(RetryPolicy::default()))
        .build();
    assert!(default_named.is_ok(), "{:?}", default_named.err());
    // The same options (here all set alike) are one consumer with one set of options.
    let same = |spec: HandlerSpec| {
        spec.retry(RetryPolicy::default().max_attempts(5))
            .dlq(false)
            .dedup(false)
    };
    let service = builder()
        .add_handler(same(paper()))
        .add_handler(same(zerodha()))
        .build()
        .unwrap();
    assert!(format!("{service:?}").contains("groups: 1"), "{service:?}");
}

async fn batch_of(_signals: stream_core::handler::Batch<Signal>) {}

#[test]
fn concurrency_with_exactly_once_is_refused() {
    use stream_core::service::HandlerSpec;
    let spec = HandlerSpec::new("places", &["paper.signals.raw"], "engine.orders", reads)
        .concurrency(8)
        .exactly_once(true);
    let err = error_of(builder().add_handler(spec));
    assert!(
        err.starts_with("handler `places` runs with concurrency 8 but exactly-once"),
        "{err}"
    );
    // The service-wide switch counts too.
    let mut config = ServiceConfig::new("127.0.0.1:1");
    config.exactly_once = true;
    let spec =
        HandlerSpec::new("places", &["paper.signals.raw"], "engine.orders", reads).concurrency(8);
    let err = StreamServiceBuilder::new("engine", config)
        .add_handler(spec)
        .build()
        .expect_err("build must fail")
        .to_string();
    assert!(err.contains("exactly-once"), "{err}");
    // In partition order, concurrency runs one at a time: exactly-once is fine.
    let spec = HandlerSpec::new("places", &["paper.signals.raw"], "engine.orders", reads)
        .concurrency(8)
        .order(stream_core::consumer::Order::Partition)
        .exactly_once(true);
    assert!(builder().add_handler(spec).build().is_ok());
}

#[test]
fn a_batch_handler_runs_without_concurrency_or_exactly_once() {
    use stream_core::service::HandlerSpec;
    let batch = || HandlerSpec::batch("inserts", &["paper.signals.raw"], "ledger", batch_of);
    for spec in [batch().concurrency(4), batch().exactly_once(true)] {
        let err = error_of(builder().add_handler(spec));
        assert!(
            err.starts_with("handler `inserts` is a batch handler, which runs without exactly-once and without concurrency"),
            "{err}"
        );
    }
    assert!(builder().add_handler(batch().batch_max(10)).build().is_ok());
}
