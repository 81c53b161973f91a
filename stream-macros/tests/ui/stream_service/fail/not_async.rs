#[streamkit::stream_service(name = "risk-manager")]
fn main() -> streamkit::Result<()> {
    Ok(())
}
