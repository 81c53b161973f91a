//! The handler registry: every `#[stream_handler]` in a linked binary, collected at link time.
//!
//! `#[stream_handler]` emits one [`HandlerEntry`] into [`HANDLERS`], a `linkme` distributed slice,
//! so a service finds its handlers without a list written by hand. linkme stays behind this one
//! module (generated code reaches it through `streamkit::__private::linkme`, so users need no
//! linkme dependency); replacing it touches only this file and the macro's expansion.

use crate::service::handler_spec::HandlerSpec;

/// One registered handler: its name, where it was declared, and how to build its
/// [`HandlerSpec`].
#[derive(Debug)]
pub struct HandlerEntry {
    /// The handler function's name.
    pub name: &'static str,
    /// `module_path!()` where it was declared.
    pub module_path: &'static str,
    /// Builds the handler's spec (subscription, group, options).
    pub make: fn() -> HandlerSpec,
}

/// Every `#[stream_handler]` linked into this binary.
#[linkme::distributed_slice]
pub static HANDLERS: [HandlerEntry];

/// The registered handlers, in no particular order.
///
/// ```
/// // A binary without `#[stream_handler]` has none.
/// assert_eq!(stream_core::service::registry::registered().count(), 0);
/// ```
pub fn registered() -> impl Iterator<Item = &'static HandlerEntry> {
    HANDLERS.iter()
}
