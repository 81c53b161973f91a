//! Trading engine: places orders for validated signals, and simulates their fills.
//! `*.signals.validated` → `<broker>.orders.placed` → `<broker>.orders.filled`.

use streamkit::prelude::*;

use super::events::{OrderFilled, OrderPlaced, ValidatedSignal};

// The catalog's topics as typed publish targets (`topics::signals_validated::on(broker)`).
streamkit::topics!();

#[stream_handler(
    topics = "*.signals.validated",
    group = "trading-engine.signals",
    publishes = "orders.placed"
)]
pub async fn place_order(
    Envelope(v): Envelope<ValidatedSignal>,
    ctx: Context,
) -> Result<(), HandlerError> {
    let s = &v.data.signal;
    let order = OrderPlaced {
        order_id: format!("{}-{}", ctx.broker(), v.id.simple()),
        symbol: s.symbol.clone(),
        side: s.side,
        quantity: s.quantity,
        limit_price: s.price,
    };
    let out = topics::orders_placed::on(ctx.broker());
    ctx.publish_keyed(&out, &s.symbol, &order).await?;
    Ok(())
}

/// The simulated venue fills every order in full at its limit price.
#[stream_handler(
    topics = "*.orders.placed",
    group = "trading-engine.orders",
    publishes = "orders.filled"
)]
pub async fn simulate_fill(
    Envelope(order): Envelope<OrderPlaced>,
    ctx: Context,
) -> Result<(), HandlerError> {
    let o = &order.data;
    let fill = OrderFilled {
        order_id: o.order_id.clone(),
        symbol: o.symbol.clone(),
        side: o.side,
        quantity: o.quantity,
        fill_price: o.limit_price,
    };
    let out = topics::orders_filled::on(ctx.broker());
    ctx.publish_keyed(&out, &o.symbol, &fill).await?;
    Ok(())
}
