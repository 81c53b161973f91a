//! The event types linked into a binary with their data schemas: every `#[derive(Event)]`
//! registers one [`EventSchemaEntry`], whose schema is known when the type also derives
//! `schemars::JsonSchema`.

use std::marker::PhantomData;

use schemars::JsonSchema;
use serde_json::Value;

use crate::envelope::schema::data_schema;

/// One event type of the binary.
#[derive(Debug)]
pub struct EventSchemaEntry {
    /// Its event type (`Event::EVENT_TYPE`).
    pub event_type: &'static str,
    /// The Rust type's name.
    pub type_name: &'static str,
    /// Its [`data_schema`], `None` when the type does not implement `JsonSchema`.
    pub schema: fn() -> Option<Value>,
}

/// Every `#[derive(Event)]` linked into this binary.
#[linkme::distributed_slice]
pub static EVENT_SCHEMAS: [EventSchemaEntry];

/// The data schema of `event_type`: the first registered type of that event type that has one.
///
/// ```
/// // A binary without `#[derive(Event, JsonSchema)]` knows none.
/// assert!(stream_core::envelope::schema::registry::data_schema_of("no_such_event").is_none());
/// ```
pub fn data_schema_of(event_type: &str) -> Option<Value> {
    EVENT_SCHEMAS
        .iter()
        .filter(|e| e.event_type == event_type)
        .find_map(|e| (e.schema)())
}

/// Whether `T` has a schema, decided where `T` is concrete (the derive's expansion) by method
/// resolution: `(&&Probe::<T>::new()).data_schema()` finds [`ViaJsonSchema`] when
/// `T: JsonSchema`, else [`ViaNothing`]. Not public API.
#[doc(hidden)]
pub struct Probe<T>(PhantomData<fn() -> T>);

impl<T> Probe<T> {
    /// A probe of `T`.
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

impl<T> Default for Probe<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The probe's method for a `T: JsonSchema`.
#[doc(hidden)]
pub trait ViaJsonSchema {
    /// `Some` data schema.
    fn data_schema(&self) -> Option<Value>;
}

impl<T: JsonSchema> ViaJsonSchema for &Probe<T> {
    fn data_schema(&self) -> Option<Value> {
        Some(data_schema::<T>())
    }
}

/// The probe's method for any other `T`.
#[doc(hidden)]
pub trait ViaNothing {
    /// `None`.
    fn data_schema(&self) -> Option<Value>;
}

impl<T> ViaNothing for Probe<T> {
    fn data_schema(&self) -> Option<Value> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(schemars::JsonSchema, serde::Serialize)]
    struct WithSchema {
        _qty: u32,
    }
    struct WithoutSchema;

    #[test]
    #[allow(clippy::needless_borrow)] // the borrows are what chooses the method
    fn the_probe_finds_a_schema_only_where_there_is_one() {
        #[allow(unused_imports)]
        use super::{ViaJsonSchema as _, ViaNothing as _};
        assert!((&&Probe::<WithSchema>::new()).data_schema().is_some());
        assert!((&&Probe::<WithoutSchema>::new()).data_schema().is_none());
    }
}
