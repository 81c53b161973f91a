use streamkit::prelude::*;
use streamkit::topic::typed::TypedTopic;

#[derive(serde::Serialize, serde::Deserialize, Event)]
struct TradingSignal {
    qty: u32,
}

#[derive(serde::Serialize, serde::Deserialize, Event)]
struct ValidatedSignal {
    qty: u32,
}

#[derive(serde::Serialize, serde::Deserialize, Event)]
#[event(type = "order_filled")]
struct Fill {
    qty: u32,
}

streamkit::topics!();

// Typed topics on the message's broker and on a named one, a topic only known at run time
// (a string: checked at run time), and several declared outputs.
#[stream_handler(
    topics = "*.signals.raw",
    group = "risk.signals",
    publishes = ["signals.validated", "paper.orders.filled"]
)]
async fn validate(Data(signal): Data<TradingSignal>, ctx: Context) -> Result<(), HandlerError> {
    let out: TypedTopic<topics::signals_validated::Topic> = topics::signals_validated::on(ctx.broker());
    ctx.publish(&out, &ValidatedSignal { qty: signal.qty }).await?;
    ctx.send(&topics::PAPER_ORDERS_FILLED, &Fill { qty: signal.qty }).await?;
    ctx.publish_keyed(&topics::ZERODHA_SIGNALS_VALIDATED, "key", &ValidatedSignal { qty: 1 }).await?;
    let dynamic = format!("{}.signals.validated", ctx.broker());
    ctx.send_keyed(&dynamic, "key", &ValidatedSignal { qty: 2 }).await?;
    ctx.publish("paper.signals.validated", &ValidatedSignal { qty: 3 }).await?;
    Ok(())
}

// A pattern output, one string.
#[stream_handler(topics = "*.signals.validated", group = "engine.signals", publishes = "*.orders.filled")]
async fn fill(Data(v): Data<ValidatedSignal>, ctx: Context) -> Result<(), HandlerError> {
    ctx.publish(&topics::orders_filled::on(ctx.broker()), &Fill { qty: v.qty }).await?;
    Ok(())
}

// The producer takes typed topics too.
#[allow(dead_code)]
async fn produce(producer: &streamkit::MessageProducer) -> Result<(), Box<dyn std::error::Error>> {
    producer.send(&topics::PAPER_SIGNALS_RAW, "key", &TradingSignal { qty: 1 }).await?;
    let delivery = producer.enqueue(&topics::ZERODHA_SIGNALS_RAW, "key", &TradingSignal { qty: 2 }).await?;
    delivery.await?;
    producer.send("paper.signals.raw", "key", &TradingSignal { qty: 3 }).await?;
    Ok(())
}

fn main() {
    let spec = |name: &str| {
        streamkit::service::registry::registered()
            .find(|h| h.name == name)
            .map(|h| (h.make)())
            .unwrap()
    };
    assert_eq!(spec("validate").outputs(), ["signals.validated", "paper.orders.filled"]);
    assert_eq!(spec("fill").outputs(), ["*.orders.filled"]);
    assert_eq!(topics::PAPER_SIGNALS_VALIDATED, "paper.signals.validated");
    assert_eq!(topics::PAPER_SIGNALS_VALIDATED.event_type(), "validated_signal");
    assert_eq!(topics::PAPER_SIGNALS_VALIDATED.name_without_broker(), "signals.validated");
    let broker = streamkit::Broker::new("zerodha").unwrap();
    assert_eq!(topics::signals_raw::on(&broker).to_string(), "zerodha.signals.raw");
    let _ = (validate, fill);
}
