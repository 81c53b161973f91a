//! The portfolio service of the trading pipeline, alone in its own process: it keeps P&L per broker from `*.orders.filled` and publishes `pnl.snapshots`.
//!
//! Run it against a real broker beside the other services (each in its own terminal):
//!
//! ```sh
//! scripts/kafka up && export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092
//! cargo run --example portfolio
//! ```
//!
//! With no `KAFKA_BOOTSTRAP_SERVERS` it starts on librdkafka's in-process mock cluster, where it
//! has nobody to talk to. It runs until Ctrl-C (SIGINT) or SIGTERM, then stops gracefully:
//! in-flight handlers finish, offsets are committed, the producer is flushed.

// Only the modules of this service; the other services share the events module.
#[allow(dead_code)]
mod trading {
    pub mod events;
    pub mod portfolio;
}

#[streamkit::stream_service(name = "portfolio")]
async fn main(setup: streamkit::Setup) -> streamkit::Result<()> {
    setup.with_state(trading::portfolio::Books::default());
    Ok(())
}
