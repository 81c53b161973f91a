//! The services of the trading pipeline, one module each, plus the events and the summary.
//! Shared by `examples/trading_pipeline.rs` (all services in one process), the per-service
//! examples, and `tests/trading_pipeline.rs`.

pub mod events;
pub mod market_feed;
pub mod pipeline;
pub mod portfolio;
pub mod risk_manager;
pub mod strategy;
pub mod summary;
pub mod trading_engine;
