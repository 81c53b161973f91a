use streamkit::prelude::*;

#[derive(serde::Serialize, serde::Deserialize, Event)]
struct TradingSignal {
    qty: u32,
}

streamkit::topics!();

// `signals.validated` carries `validated_signal`: a `trading_signal` payload does not build.
#[stream_handler(topics = "*.signals.raw", group = "risk.signals", publishes = "signals.validated")]
async fn validate(Data(signal): Data<TradingSignal>, ctx: Context) -> Result<(), HandlerError> {
    ctx.publish(&topics::signals_validated::on(ctx.broker()), &signal).await?;
    Ok(())
}

fn main() {}
