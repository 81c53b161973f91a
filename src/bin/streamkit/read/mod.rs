//! Reading topics without a consumer group: where to start, which offsets, and each record
//! decoded for display.

pub mod headers;
pub mod range;
pub mod reader;
pub mod time;
pub mod topics;
pub mod view;
