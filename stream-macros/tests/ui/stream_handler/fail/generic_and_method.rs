use streamkit::prelude::*;

#[stream_handler(topics = "*.signals.raw", group = "risk.signals")]
async fn validate<T>(_ctx: Context, _t: std::marker::PhantomData<T>) -> Result<(), HandlerError> {
    Ok(())
}

struct Risk;

impl Risk {
    #[stream_handler(topics = "*.signals.raw", group = "risk.other")]
    async fn check(&self) -> Result<(), HandlerError> {
        Ok(())
    }
}

fn main() {}
