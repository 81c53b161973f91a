use streamkit::prelude::*;

#[derive(Clone, Default)]
struct Limits;

async fn extra(State(_l): State<Limits>) -> Result<(), HandlerError> {
    Ok(())
}

#[stream_service(name = "risk-manager")]
async fn main(setup: Setup) -> streamkit::Result<()> {
    setup
        .with_state(Limits)
        .add_consumer_handler(&["paper.signals.raw"], "risk.extra", extra);
    Ok(())
}
