//! Typed publish targets: a topic on a broker that carries its catalog event type, so publishing
//! a payload of another event type to it does not build.
//!
//! `streamkit::topics!()` generates one [`TopicDef`] per topic of `topics.toml` and typed
//! constants of it ([`TypedTopic`]); [`Context::publish`](crate::handler::extract::Context::publish),
//! [`Context::send`](crate::handler::extract::Context::send) and the
//! [`MessageProducer`](crate::kafka::producer::MessageProducer) sends take any
//! [`PublishTarget`]: a typed topic, checked when the crate is built, or a topic name (`&str`,
//! `String`, [`Topic`]), checked only at run time.
//!
//! ```
//! use stream_core::topic::typed::{PublishTarget, TopicDef, TypedTopic};
//! use stream_core::topic::Broker;
//!
//! # #[derive(serde::Serialize, serde::Deserialize)] struct ValidatedSignal { qty: u32 }
//! # impl stream_core::Event for ValidatedSignal { const EVENT_TYPE: &'static str = "validated_signal"; }
//! /// What `topics!()` generates for `[topics."signals.validated"]`.
//! struct SignalsValidated;
//! impl TopicDef for SignalsValidated {
//!     const NAME: &'static str = "signals.validated";
//!     const EVENT: &'static str = "validated_signal";
//! }
//!
//! let out = TypedTopic::<SignalsValidated>::on(&Broker::new("zerodha")?);
//! assert_eq!(out, "zerodha.signals.validated");
//! assert_eq!(PublishTarget::<ValidatedSignal>::topic_name(&out), "zerodha.signals.validated");
//! # Ok::<(), stream_core::topic::TopicError>(())
//! ```
//!
//! Publishing a `TradingSignal` (event type `trading_signal`) there fails the build with
//! "the topic `signals.validated` carries event type `validated_signal`, not `trading_signal`".

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use crate::envelope::event::Event;
use crate::topic::Topic;

/// A topic of the catalog as a type: its name without the broker, and its event type. What
/// `topics!()` generates for each topic (`topics::signals_validated::Topic`).
pub trait TopicDef: Send + Sync + 'static {
    /// The name without the broker prefix (`signals.validated`).
    const NAME: &'static str;
    /// The event type every envelope on it carries (`validated_signal`).
    const EVENT: &'static str;
}

/// The topic `D` on one trading broker (`paper.signals.validated`): a publish target that only
/// accepts payloads whose [`Event::EVENT_TYPE`] is `D::EVENT`.
pub struct TypedTopic<D> {
    name: Cow<'static, str>,
    _def: PhantomData<fn() -> D>,
}

impl<D: TopicDef> TypedTopic<D> {
    /// The topic on `broker` (`ctx.broker()` publishes on the broker the message came from; a
    /// [`Broker`](crate::topic::Broker) or its name).
    pub fn on(broker: &impl fmt::Display) -> Self {
        Self {
            name: Cow::Owned(format!("{broker}.{}", D::NAME)),
            _def: PhantomData,
        }
    }

    /// [`TypedTopic::on`] for a catalog that declares `brokers` (each with its full topic name):
    /// on one of them the name is the declared one, not a new string. What `topics!()`'s
    /// `on(broker)` calls, on every publish of a handler that names its topic with
    /// `ctx.broker()`.
    #[doc(hidden)]
    pub fn on_declared(
        broker: &impl fmt::Display,
        brokers: &[(&'static str, &'static str)],
    ) -> Self {
        let mut name = ShortName::default();
        let declared = fmt::write(&mut name, format_args!("{broker}"))
            .ok()
            .and_then(|()| {
                brokers
                    .iter()
                    .find(|(b, _)| b.as_bytes() == name.as_bytes())
            });
        match declared {
            Some((_, full)) => Self::from_static(full),
            None => Self::on(broker),
        }
    }

    /// A full topic name known to be `D` on a declared broker: what `topics!()`'s constants
    /// use. Not checked; prefer the generated constants and [`TypedTopic::on`].
    #[doc(hidden)]
    pub const fn from_static(name: &'static str) -> Self {
        Self {
            name: Cow::Borrowed(name),
            _def: PhantomData,
        }
    }

    /// The full topic name (`paper.signals.validated`).
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The name without the broker prefix (`signals.validated`).
    pub fn name_without_broker(&self) -> &'static str {
        D::NAME
    }

    /// The event type the topic carries.
    pub fn event_type(&self) -> &'static str {
        D::EVENT
    }
}

impl<D> Clone for TypedTopic<D> {
    fn clone(&self) -> Self {
        Self {
            name: self.name.clone(),
            _def: PhantomData,
        }
    }
}

impl<D> fmt::Debug for TypedTopic<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.name, f)
    }
}

impl<D> fmt::Display for TypedTopic<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl<D> std::ops::Deref for TypedTopic<D> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.name
    }
}

/// A broker's name written into a stack buffer (broker names are short): a name that does not
/// fit fails the write, and the topic is named the allocating way.
struct ShortName {
    bytes: [u8; 64],
    len: usize,
}

impl Default for ShortName {
    fn default() -> Self {
        Self {
            bytes: [0; 64],
            len: 0,
        }
    }
}

impl ShortName {
    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl fmt::Write for ShortName {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        self.bytes
            .get_mut(self.len..end)
            .ok_or(fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl<D> AsRef<str> for TypedTopic<D> {
    fn as_ref(&self) -> &str {
        &self.name
    }
}

impl<D> PartialEq for TypedTopic<D> {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl<D> Eq for TypedTopic<D> {}

impl<D> PartialEq<str> for TypedTopic<D> {
    fn eq(&self, other: &str) -> bool {
        self.name == other
    }
}

impl<D> PartialEq<&str> for TypedTopic<D> {
    fn eq(&self, other: &&str) -> bool {
        self.name == *other
    }
}

/// Where a payload of type `T` can be published: a [`TypedTopic`] whose event type is `T`'s
/// (checked when the crate is built), or a topic name (`str`, `String`, `Arc<str>`, `Box<str>`,
/// `Cow<str>`, [`Topic`]), which any
/// payload goes to and the runtime checks (the broker's grammar; the handler's declared
/// `publishes`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a topic to publish `{T}` to",
    label = "not a publish target",
    note = "publish to a typed topic of `topics!()` (`&topics::signals_validated::on(ctx.broker())`, `&topics::PAPER_SIGNALS_VALIDATED`) or to a topic name (`&str`, `String`, `Topic`)"
)]
pub trait PublishTarget<T: Event> {
    /// Evaluated by every publish of `T` to this target when it is compiled to code: for a
    /// [`TypedTopic`] of another event type than `T`'s, it fails the build, and the error's
    /// last note points at the publish.
    const CHECK: () = ();

    /// The full topic name.
    fn topic_name(&self) -> &str;
}

impl<T: Event> PublishTarget<T> for str {
    fn topic_name(&self) -> &str {
        self
    }
}

impl<T: Event> PublishTarget<T> for String {
    fn topic_name(&self) -> &str {
        self
    }
}

impl<T: Event> PublishTarget<T> for std::sync::Arc<str> {
    fn topic_name(&self) -> &str {
        self
    }
}

impl<T: Event> PublishTarget<T> for Box<str> {
    fn topic_name(&self) -> &str {
        self
    }
}

impl<T: Event> PublishTarget<T> for Cow<'_, str> {
    fn topic_name(&self) -> &str {
        self
    }
}

impl<T: Event> PublishTarget<T> for Topic {
    fn topic_name(&self) -> &str {
        self.as_str()
    }
}

impl<T: Event, P: PublishTarget<T> + ?Sized> PublishTarget<T> for &P {
    const CHECK: () = P::CHECK;

    fn topic_name(&self) -> &str {
        (**self).topic_name()
    }
}

impl<T: Event, D: TopicDef> PublishTarget<T> for TypedTopic<D> {
    const CHECK: () = check_event_type(D::NAME, D::EVENT, T::EVENT_TYPE);

    fn topic_name(&self) -> &str {
        &self.name
    }
}

/// Fails constant evaluation, so the build, when `payload` is not the event type `topic`
/// carries; the message names the topic and both event types.
const fn check_event_type(topic: &str, carried: &str, payload: &str) {
    if str_eq(carried, payload) {
        return;
    }
    let mut m = Message::new();
    m = m
        .push("the topic `")
        .push(topic)
        .push("` carries event type `");
    m = m.push(carried).push("`, not `").push(payload);
    m = m
        .push("`: publish a payload whose `Event::EVENT_TYPE` is `")
        .push(carried);
    m = m
        .push("` there, or publish this one to a topic of event type `")
        .push(payload);
    m = m.push("` (see topics.toml)");
    panic!("{}", m.as_str());
}

/// String equality in constant evaluation (also the macros' event-type assertions, through
/// `__private::str_eq`).
pub const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// A panic message built at compile time: constant evaluation cannot format.
struct Message {
    buf: [u8; 512],
    len: usize,
}

impl Message {
    const fn new() -> Self {
        Self {
            buf: [0; 512],
            len: 0,
        }
    }

    const fn push(mut self, s: &str) -> Self {
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() && self.len < self.buf.len() {
            self.buf[self.len] = bytes[i];
            self.len += 1;
            i += 1;
        }
        self
    }

    const fn as_str(&self) -> &str {
        match std::str::from_utf8(self.buf.split_at(self.len).0) {
            Ok(s) => s,
            Err(_) => "a typed topic got a payload of another event type (see topics.toml)",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_topic_and_both_event_types() {
        let m = Message::new()
            .push("the topic `")
            .push("signals.validated")
            .push("`");
        assert_eq!(m.as_str(), "the topic `signals.validated`");
        let long = Message::new().push(&"x".repeat(600));
        assert_eq!(long.as_str().len(), 512);
    }

    struct Checked;
    impl TopicDef for Checked {
        const NAME: &'static str = "signals.checked";
        const EVENT: &'static str = "checked_signal";
    }

    #[test]
    fn a_declared_broker_names_its_topic_without_a_new_string() {
        let declared = [
            ("paper", "paper.signals.checked"),
            ("zerodha", "zerodha.signals.checked"),
        ];
        let broker = crate::topic::Broker::new("zerodha").unwrap();
        let on = TypedTopic::<Checked>::on_declared(&broker, &declared);
        assert_eq!(on, "zerodha.signals.checked");
        assert!(matches!(on.name, Cow::Borrowed(_)));
        let other = TypedTopic::<Checked>::on_declared(&"kite", &declared);
        assert_eq!(other, "kite.signals.checked");
        assert!(matches!(other.name, Cow::Owned(_)));
        let long = "b".repeat(100);
        let long_on = TypedTopic::<Checked>::on_declared(&long, &declared);
        assert_eq!(long_on.as_str(), format!("{long}.signals.checked"));
    }

    #[test]
    fn matching_event_types_pass() {
        check_event_type("signals.validated", "validated_signal", "validated_signal");
    }

    #[test]
    #[should_panic(
        expected = "the topic `signals.validated` carries event type `validated_signal`, not `trading_signal`"
    )]
    fn other_event_types_fail() {
        check_event_type("signals.validated", "validated_signal", "trading_signal");
    }
}
