#[streamkit::stream_service(name = "risk-manager")]
async fn main(limit: u32) -> Result<(), String> {
    let _ = limit;
    Ok(())
}
