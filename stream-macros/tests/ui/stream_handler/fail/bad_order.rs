use streamkit::prelude::*;

// Not a mode.
#[stream_handler(topics = "*.signals.raw", group = "risk.a", concurrency = 8, order = "keys")]
async fn a(_ctx: Context) -> Result<(), HandlerError> {
    Ok(())
}

// An order without concurrency would do nothing.
#[stream_handler(topics = "*.signals.raw", group = "risk.b", order = "key")]
async fn b(_ctx: Context) -> Result<(), HandlerError> {
    Ok(())
}

// Partition order with concurrency would do nothing either.
#[stream_handler(topics = "*.signals.raw", group = "risk.c", concurrency = 8, order = "partition")]
async fn c(_ctx: Context) -> Result<(), HandlerError> {
    Ok(())
}

// Not a string.
#[stream_handler(topics = "*.signals.raw", group = "risk.d", concurrency = 8, order = key)]
async fn d(_ctx: Context) -> Result<(), HandlerError> {
    Ok(())
}

// Transactions commit contiguous offsets only.
#[stream_handler(topics = "*.signals.raw", group = "risk.e", concurrency = 8, exactly_once)]
async fn e(_ctx: Context) -> Result<(), HandlerError> {
    Ok(())
}

fn main() {}
