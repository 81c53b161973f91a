//! `streamkit dlq`: dead-letter topics, their records, and replaying them.

pub mod ledger;
pub mod letter;
pub mod list;
pub mod plan;
pub mod replay;
pub mod replay_record;
pub mod report;
pub mod select;
pub mod show;
pub mod transaction;
