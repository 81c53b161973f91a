//! The service side of the e2e bench's `service` scenario, written the way the README writes a
//! service: a `#[stream_handler]` on the catalog's topics under `#[stream_service]`, default
//! settings (in-memory dedup, INFO logs, the health server). It reads signals from
//! `*.benchsvc.signals` and publishes one checked signal per input on the same broker's
//! `benchsvc.checked`.
//!
//! `cargo bench --bench e2e -- --only service` starts it as a process, beside `bench_loop`; run
//! alone it is an ordinary service:
//!
//! ```sh
//! scripts/kafka up && export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092
//! cargo run --release --example bench_service
//! ```

mod bench {
    pub mod signals;
}

use bench::signals::{BenchSignal, CheckedSignal};
use streamkit::prelude::*;

impl Event for BenchSignal {
    const EVENT_TYPE: &'static str = "bench_signal";
}

impl Event for CheckedSignal {
    const EVENT_TYPE: &'static str = "checked_signal";
}

streamkit::topics!();

#[stream_handler(
    topics = "*.benchsvc.signals",
    group = "bench.service",
    publishes = ["benchsvc.checked"]
)]
async fn check(Envelope(signal): Envelope<BenchSignal>, ctx: Context) -> Result<(), HandlerError> {
    let checked = CheckedSignal::check(signal.data);
    let out = topics::benchsvc_checked::on(ctx.broker());
    ctx.publish_keyed(&out, &checked.strategy_id, &checked)
        .await?;
    Ok(())
}

#[streamkit::stream_service(name = "bench-service")]
async fn main(_setup: streamkit::Setup) -> streamkit::Result<()> {
    Ok(())
}
