//! `streamkit dlq`: dead-letter topics, their records, and replaying them.

pub mod list;
pub mod replay;
pub mod show;
