use streamkit::prelude::*;

#[stream_handler(topics = "*.signals.raw", group = "a", accept = "market_tick")]
async fn single(_ctx: Context) -> Result<(), HandlerError> {
    Ok(())
}

#[stream_handler(topics = "*.signals.raw", group = "b", accept = [market_tick, "", "order_filled"])]
async fn tokens(_ctx: Context) -> Result<(), HandlerError> {
    Ok(())
}

#[stream_handler(topics = "*.signals.raw", group = "c", accept = ["a"], accept = ["b"])]
async fn twice(_ctx: Context) -> Result<(), HandlerError> {
    Ok(())
}

fn main() {}
