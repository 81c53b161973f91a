use streamkit::prelude::*;

#[derive(serde::Serialize, serde::Deserialize, Event)]
struct ValidatedSignal {
    qty: u32,
}

streamkit::topics!();

// `binance` is not a broker of topics.toml: it has no typed topics.
#[stream_handler(topics = "*.signals.raw", group = "risk.signals")]
async fn validate(ctx: Context) -> Result<(), HandlerError> {
    ctx.publish(&topics::BINANCE_SIGNALS_VALIDATED, &ValidatedSignal { qty: 1 }).await?;
    Ok(())
}

fn main() {}
