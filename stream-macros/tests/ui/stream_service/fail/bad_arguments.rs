#[streamkit::stream_service(nmae = "risk-manager")]
async fn main() -> streamkit::Result<()> {
    Ok(())
}
