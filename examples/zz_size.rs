mod bench { pub mod signals; }
use bench::signals::{BenchSignal, CheckedSignal};
use streamkit::prelude::*;
impl Event for BenchSignal { const EVENT_TYPE: &'static str = "bench_signal"; }
impl Event for CheckedSignal { const EVENT_TYPE: &'static str = "checked_signal"; }
async fn check(Envelope(signal): Envelope<BenchSignal>, ctx: Context) -> Result<(), HandlerError> {
    let checked = CheckedSignal::check(signal.data);
    ctx.publish_keyed("paper.benchsvc.checked", &checked.strategy_id.clone(), &checked).await?;
    Ok(())
}
async fn check2(Envelope(signal): Envelope<BenchSignal>, ctx: Context) -> Result<(), HandlerError> {
    let checked = CheckedSignal::check(signal.data);
    ctx.publish_keyed("paper.benchsvc.checked", "k", &checked).await?;
    Ok(())
}
fn main() { println!("publish_keyed future {}", publish_size());
    fn sz<F, A, Fut>(f: F) -> usize where F: Fn(Envelope<BenchSignal>, Context) -> Fut, Fut: std::future::Future { let _ = f; std::mem::size_of::<Fut>() }
    println!("check future {} bytes; check2 {}; envelope {} ; context {}; checked {}", sz::<_, (), _>(check), sz::<_, (), _>(check2), std::mem::size_of::<Envelope<BenchSignal>>(), std::mem::size_of::<Context>(), std::mem::size_of::<CheckedSignal>());
}
fn p<'a>(ctx: &'a Context, c: &'a CheckedSignal) -> impl std::future::Future + 'a { ctx.publish_keyed("t", "k", c) }
fn ret<A, B, R>(_: fn(A, B) -> R) -> usize { std::mem::size_of::<R>() }
#[allow(dead_code)]
fn main2() {}
pub fn publish_size() -> usize { ret::<&'static Context, &'static CheckedSignal, _>(p) }
