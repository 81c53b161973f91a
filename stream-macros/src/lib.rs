//! Macros of streamkit. Thin: they parse, validate and expand into calls of `stream-core`.

mod event;

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
