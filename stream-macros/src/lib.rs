//! Macros of streamkit. Thin: they parse, validate and expand into calls of `stream-core`.
//!
//! - `#[stream_handler]` registers an `async fn` as a handler (`handler/`: parse → validate →
//!   expand), checking its topics against the grammar and the crate's `topics.toml`;
//! - `#[stream_service]` turns `async fn main` into a service process (`service.rs`);
//! - `topics!()` exposes the catalog as typed constants (`topics.rs`);
//! - `#[derive(Event)]` names a payload's event type (`event.rs`).
//!
//! The topic grammar comes from the `stream-topics` crate, the same one the runtime uses.

mod catalog;
mod errors;
mod event;
mod handler;
mod service;
mod suggest;
mod topics;

/// Registers an `async fn` as a stream handler.
///
/// ```
/// use streamkit::prelude::*;
///
/// #[derive(serde::Serialize, serde::Deserialize, Event)]
/// struct TradingSignal { symbol: String, quantity: u32 }
///
/// #[derive(serde::Serialize, serde::Deserialize, Event)]
/// struct ValidatedSignal { symbol: String, quantity: u32 }
///
/// streamkit::topics!();
///
/// #[stream_handler(
///     topics = "*.signals.raw",
///     group = "risk-manager.signals",
///     retry = 5,
///     publishes = "signals.validated"
/// )]
/// async fn validate(
///     Envelope(signal): Envelope<TradingSignal>,
///     ctx: Context,
/// ) -> Result<(), HandlerError> {
///     let TradingSignal { symbol, quantity } = signal.data;
///     // `paper.signals.raw` in, `paper.signals.validated` out: the same trading broker. The
///     // typed topic only builds with a payload of its event type (`validated_signal`).
///     let out = topics::signals_validated::on(ctx.broker());
///     ctx.send(&out, &ValidatedSignal { symbol, quantity }).await?;
///     Ok(())
/// }
///
/// # fn main() {
/// // Registered at link time; `#[stream_service]` (or `registry::registered()`) finds it.
/// let entry = streamkit::service::registry::registered().find(|h| h.name == "validate").unwrap();
/// let spec = (entry.make)();
/// assert_eq!(spec.group(), "risk-manager.signals");
/// assert_eq!(spec.topics(), ["*.signals.raw"]);
/// assert_eq!(spec.outputs(), ["signals.validated"]);
/// // The function stays callable as written.
/// let _ = validate;
/// # }
/// ```
///
/// The expansion is the function as written, a hidden check per argument that it is an extractor
/// (the `FromMessage` error points at the argument's type), the catalog checks below, and one
/// `registry::HandlerEntry` whose `make` builds
/// `HandlerSpec::new("validate", &["*.signals.raw"], "risk-manager.signals", validate)` with the
/// options. Arguments:
///
/// | argument | meaning |
/// |---|---|
/// | `topics = "..."` or `topics = ["..", ".."]` | topics and `*` patterns (required) |
/// | `group = "..."` | the consumer group (required) |
/// | `retry = N` or `retry(attempts = N, backoff_ms = M, max_backoff_ms = K)` | retry policy: attempts in all, first included |
/// | `dlq = false` | log and skip failed messages instead of dead-lettering them |
/// | `dedup = false` | no dedup on the envelope id |
/// | `exactly_once` (or `exactly_once = true`) | consume and publish in Kafka transactions: outputs, dead letters and input offsets commit together (see the guide's "Delivery semantics") |
/// | `accept = ["..", ".."]` | event types the handler reads besides its payload type's; others are dead-lettered as contract breaks before it runs |
/// | `publishes = "..."` or `publishes = ["..", ".."]` | the topics the handler publishes to: catalog topic names (`signals.validated`, on any broker), full topics or `*` patterns, checked against `topics.toml` like `topics`; listed by the wiring report and the AsyncAPI document; a publish through its `Context` to another topic is then a permanent error naming the declaration to add |
/// | `concurrency = N` | records of one partition handled at the same time (default 1: one at a time, in offset order); commits stay contiguous; not with `exactly_once` (see the guide's "Concurrency and batches") |
/// | `order = "key"` / `"none"` | with `concurrency` above 1, what stays in order: `"key"` (the default) runs one key's records one at a time in offset order and different keys at once, records without a key as one key; `"none"` keeps no order. `order` without `concurrency` above 1, or `order = "partition"` with it, is an error: it would do nothing |
/// | `batch_max = N`, `batch_linger_ms = M` | for a function whose one argument is a `Batch<T>` (a batch handler, built with `HandlerSpec::batch`): up to N records of one partition per call (default 500), gathered for at most M ms after the first (default 50); the function may return a `BatchResult` of per-record outcomes. Without `Batch<T>`, or with `concurrency` above 1 or `exactly_once`, a compile error |
/// | `crate = "..."` | the runtime's path (default `::streamkit`; `"stream_core"` inside stream-core) |
///
/// Handlers of one group share one consumer, so they must not subscribe to overlapping topics and
/// must have the same `retry`/`dlq`/`dedup`/`exactly_once`/`concurrency`/`order`, and a batch
/// handler has its group to itself (checked when the service is built).
///
/// Topics are checked at compile time, each error on its string literal: always against Kafka's
/// and streamkit's grammar; and when the crate has a `topics.toml` next to its `Cargo.toml`
/// (`STREAMKIT_TOPICS_FILE` names another file, relative to that folder), against the declared
/// brokers and topics, with a "did you mean". With a catalog, the `T` of every `Envelope<T>` or
/// `Data<T>` argument must carry (`Event::EVENT_TYPE`) the event type the catalog gives the
/// handler's topics, or one of them when they carry several; `serde_json::Value` reads any event
/// type and is not checked. Editing `topics.toml` rebuilds the crate; no broker is contacted at
/// compile time.
///
/// ```compile_fail
/// // error: unknown topic `paper.signal.raw`; did you mean `paper.signals.raw`? topics are declared in topics.toml
/// #[streamkit::stream_handler(topics = "paper.signal.raw", group = "risk-manager.signals")]
/// async fn validate() -> Result<(), streamkit::prelude::HandlerError> { Ok(()) }
/// # fn main() {}
/// ```
///
/// ```compile_fail
/// // error: payload type `OrderFilled` of handler `validate` must carry event type `trading_signal`
/// //        (the event type topics.toml gives `*.signals.raw`); ...
/// use streamkit::prelude::*;
/// #[derive(serde::Serialize, serde::Deserialize, Event)]
/// struct OrderFilled { quantity: u32 }
///
/// #[stream_handler(topics = "*.signals.raw", group = "risk-manager.signals")]
/// async fn validate(fill: Envelope<OrderFilled>) -> Result<(), HandlerError> { Ok(()) }
/// # fn main() {}
/// ```
///
/// ```compile_fail
/// // error: unknown topic `signals.validatd` in `publishes`; did you mean `signals.validated`? ...
/// #[streamkit::stream_handler(topics = "paper.signals.raw", group = "risk", publishes = "signals.validatd")]
/// async fn validate() -> Result<(), streamkit::prelude::HandlerError> { Ok(()) }
/// # fn main() {}
/// ```
///
/// ```compile_fail
/// // error: `accept` takes a list of event type strings, e.g. `accept = ["market_tick"]`
/// #[streamkit::stream_handler(topics = "paper.signals.raw", group = "risk", accept = "market_tick")]
/// async fn validate() -> Result<(), streamkit::prelude::HandlerError> { Ok(()) }
/// # fn main() {}
/// ```
///
/// ```compile_fail
/// // error: missing `group`: every handler names its consumer group, e.g. `group = "risk-manager.signals"`
/// #[streamkit::stream_handler(topics = "paper.signals.raw")]
/// async fn validate() -> Result<(), streamkit::prelude::HandlerError> { Ok(()) }
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn stream_handler(
    attr: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    handler::stream_handler(attr.into(), item.into()).into()
}

/// Turns `async fn main` into a stream service process.
///
/// ```no_run
/// use streamkit::prelude::*;
///
/// #[derive(Clone)]
/// struct Limits { max_quantity: u32 }
///
/// #[stream_handler(topics = "*.signals.raw", group = "risk-manager.signals")]
/// async fn check(State(limits): State<Limits>, ctx: Context) -> Result<(), HandlerError> {
///     println!("{} on {} (limit {})", ctx.event_id(), ctx.broker(), limits.max_quantity);
///     Ok(())
/// }
///
/// #[stream_service(name = "risk-manager")]
/// async fn main(setup: Setup) -> streamkit::Result<()> {
///     setup.with_state(Limits { max_quantity: 500 });
///     Ok(())
/// }
/// ```
///
/// The exact minimal form is `#[stream_service(name = "...")] async fn main() ->
/// streamkit::Result<()> { Ok(()) }`. It expands to `fn main() -> ExitCode` calling
/// `streamkit::service::runtime::run_service(name, catalog, body)`, where all the behaviour lives (callable
/// by hand): it builds the tokio runtime, loads the configuration (`KAFKA_BOOTSTRAP_SERVERS`,
/// `STREAMKIT_CONFIG`, `STREAMKIT_*`; when nothing names a cluster, librdkafka's in-process mock
/// cluster, which it announces), collects every `#[stream_handler]` linked into the binary, adds the producer, runs
/// the body (take a `streamkit::Setup` parameter to add state and handlers; they are applied after
/// it returns), checks the crate's `topics.toml` (passed with `include_str!`) against the cluster
/// (every declared topic exists with at least its partitions; `STREAMKIT_CREATE_MISSING_TOPICS=1`
/// creates the missing ones), and runs until SIGINT/SIGTERM, then stops gracefully. On any error,
/// including a binary with no handler, it prints the error and exits non-zero.
///
/// ```compile_fail
/// // error: `#[stream_service]` needs `async fn main`
/// #[streamkit::stream_service(name = "risk-manager")]
/// fn main() -> streamkit::Result<()> { Ok(()) }
/// ```
#[proc_macro_attribute]
pub fn stream_service(
    attr: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    service::stream_service(attr.into(), item.into()).into()
}

/// The crate's `topics.toml` as a module `topics` of typed publish targets.
///
/// ```
/// streamkit::topics!();
///
/// # fn main() {
/// // One typed topic per declared topic on every declared broker...
/// assert_eq!(topics::PAPER_SIGNALS_RAW, "paper.signals.raw");
/// assert_eq!(topics::ZERODHA_SIGNALS_VALIDATED.as_str(), "zerodha.signals.validated");
/// assert_eq!(topics::BROKERS, ["paper", "zerodha"]);
/// // ...and one module per topic name, with the topic on a given broker (`ctx.broker()`).
/// assert_eq!(topics::signals_validated::NAME, "signals.validated");
/// assert_eq!(topics::signals_validated::EVENT, "validated_signal");
/// assert_eq!(topics::signals_validated::PARTITIONS, 3);
/// let broker = streamkit::Broker::new("zerodha").unwrap();
/// assert_eq!(topics::signals_validated::on(&broker), "zerodha.signals.validated");
/// # }
/// ```
///
/// Each is a `streamkit::topic::typed::TypedTopic` of the module's `Topic` type, which carries
/// the topic's event type: `Context::publish`/`send` and `MessageProducer::send`/`enqueue` take
/// it (`ctx.publish(&topics::signals_validated::on(ctx.broker()), &v)`), and build only when
/// `v`'s `Event::EVENT_TYPE` is the topic's event; otherwise `cargo build` fails with "the topic
/// `signals.validated` carries event type `validated_signal`, not `trading_signal`" (the check
/// is a constant evaluated when the publish is compiled to code, so `cargo check` does not see
/// it). A topic of an undeclared broker has no constant. Topic names as strings (`&str`,
/// `String`) are still accepted, for topics only known at run time, and are checked at run time
/// only.
///
/// Names become identifiers with `.` and `-` as `_`, and a `_` before a leading digit
/// (`5paisa.signals.raw` is `_5PAISA_SIGNALS_RAW`). Without a `topics.toml` next to the crate's
/// `Cargo.toml` it is an error.
///
/// ```compile_fail
/// // error: `topics!()` takes no arguments; it reads topics.toml
/// streamkit::topics!(paper);
/// # fn main() {}
/// ```
#[proc_macro]
pub fn topics(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    topics::topics(input.into()).into()
}

/// Implements `streamkit::Event` for a payload type, naming its event type.
///
/// The event type defaults to the type's name in snake_case (`TradingSignal` becomes
/// `trading_signal`); `#[event(type = "...")]` names it. Generated code names the runtime
/// through a path, `::streamkit` by default; `#[event(crate = "stream_core")]` names another (as
/// stream-core's own tests do, or a crate that renamed the dependency). The type must also be
/// `Serialize`, `Deserialize`, `Send`, `Sync` and `'static` (the `Event` trait's bounds), and
/// cannot be generic.
///
/// ```
/// use stream_macros::Event;
/// # use stream_core::Event as _;
///
/// #[derive(serde::Serialize, serde::Deserialize, Event)]
/// # #[event(crate = "stream_core")]
/// struct TradingSignal {}
///
/// #[derive(serde::Serialize, serde::Deserialize, Event)]
/// #[event(type = "validated_signal")]
/// # #[event(crate = "stream_core")]
/// struct RiskChecked {}
///
/// assert_eq!(TradingSignal::EVENT_TYPE, "trading_signal");
/// assert_eq!(RiskChecked::EVENT_TYPE, "validated_signal");
/// ```
///
/// The derive also registers the event type in the binary, with the JSON Schema of its data
/// when the type derives `schemars::JsonSchema` too: the AsyncAPI document of a service and the
/// generated schemas use it (`streamkit::envelope::schema`).
///
/// ```
/// # use stream_macros::Event;
/// #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema, Event)]
/// # #[event(crate = "stream_core")]
/// struct OrderFilled { qty: rust_decimal::Decimal }
///
/// let schema = stream_core::envelope::schema::registry::data_schema_of("order_filled").unwrap();
/// assert_eq!(schema["properties"]["qty"]["format"], "decimal");
/// ```
///
/// An unknown argument is an error on it that lists the valid ones ("unknown attribute `typ` in
/// `#[event(...)]`; did you mean `type`? expected one of: `type`, `crate`"):
///
/// ```compile_fail
/// # mod runtime { pub trait Event { const EVENT_TYPE: &'static str; } }
/// #[derive(stream_macros::Event)]
/// #[event(typ = "validated_signal", crate = "runtime")]
/// struct RiskChecked;
/// ```
///
/// A generic type is an error on its parameters:
///
/// ```compile_fail
/// # mod runtime { pub trait Event { const EVENT_TYPE: &'static str; } }
/// #[derive(stream_macros::Event)]
/// #[event(crate = "runtime")]
/// struct Wrapper<T>(T);
/// ```
#[proc_macro_derive(Event, attributes(event))]
pub fn derive_event(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    event::derive(syn::parse_macro_input!(input as syn::DeriveInput)).into()
}
