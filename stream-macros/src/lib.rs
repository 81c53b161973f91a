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
/// ```ignore
/// #[stream_handler(topics = "*.signals.raw", group = "risk-manager.signals")]
/// async fn validate(signal: Envelope<TradingSignal>, ctx: Context) -> Result<(), HandlerError> {
///     ctx.send(&ctx.topic_on_same_broker("signals.validated")?, &signal.data).await?;
///     Ok(())
/// }
/// ```
///
/// The function stays callable as written. Arguments:
///
/// | argument | meaning |
/// |---|---|
/// | `topics = "..."` or `topics = ["..", ".."]` | topics and `*` patterns (required) |
/// | `group = "..."` | the consumer group (required) |
/// | `retry = N` or `retry(attempts = N, backoff_ms = M, max_backoff_ms = K)` | retry policy |
/// | `dlq = false` | log and skip failed messages instead of dead-lettering them |
/// | `dedup = false` | no dedup on the envelope id |
/// | `concurrency = N` | accepted and checked (≥ 1); partitions are the unit of concurrency |
/// | `crate = "..."` | the runtime's path (default `::streamkit`) |
///
/// Topics are checked at compile time: always against Kafka's and streamkit's grammar, and with a
/// `topics.toml` next to the crate's `Cargo.toml`, against the declared brokers and topics (with a
/// "did you mean"), and the payload type of `Envelope<T>` / `Data<T>` must carry the event type the
/// catalog gives the topic. Every argument must be an extractor.
///
/// ```compile_fail
/// // error: missing `group`: every handler names its consumer group, e.g. `group = "risk-manager.signals"`
/// #[streamkit::stream_handler(topics = "paper.signals.raw")]
/// async fn validate() -> Result<(), streamkit::handler::HandlerError> { Ok(()) }
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
/// ```ignore
/// #[stream_service(name = "risk-manager")]
/// async fn main() -> streamkit::Result<()> { Ok(()) }
/// ```
///
/// `main` builds the tokio runtime, loads the configuration (`KAFKA_BOOTSTRAP_SERVERS`,
/// `STREAMKIT_*`; with no bootstrap servers, librdkafka's in-process mock cluster), collects every
/// `#[stream_handler]` linked into the binary, adds the producer, runs the body (take a
/// `streamkit::Setup` parameter to add state and handlers), checks `topics.toml` against the
/// cluster, and runs until SIGINT/SIGTERM, then stops gracefully. On any error, including a binary
/// with no handler, it prints the error and exits non-zero.
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

/// The crate's `topics.toml` as a module `topics` of typed constants.
///
/// ```ignore
/// streamkit::topics!();
/// // topics::PAPER_SIGNALS_RAW == "paper.signals.raw"
/// // topics::signals_validated::on(ctx.broker()) == "<broker>.signals.validated"
/// // topics::signals_validated::EVENT == "validated_signal"
/// ```
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
/// # mod runtime { pub trait Event { const EVENT_TYPE: &'static str; } }
/// use stream_macros::Event;
///
/// #[derive(Event)]
/// # #[event(crate = "runtime")]
/// struct TradingSignal;
///
/// #[derive(Event)]
/// #[event(type = "validated_signal")]
/// # #[event(crate = "runtime")]
/// struct RiskChecked;
///
/// # use runtime::Event as _;
/// assert_eq!(TradingSignal::EVENT_TYPE, "trading_signal");
/// assert_eq!(RiskChecked::EVENT_TYPE, "validated_signal");
/// ```
///
/// An unknown argument is an error on it that lists the valid ones ("unknown attribute `typ` in
/// `#[event(...)]`; expected one of: `type`, `crate`"):
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
