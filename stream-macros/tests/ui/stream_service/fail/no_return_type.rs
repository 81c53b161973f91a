#[streamkit::stream_service(name = "risk-manager")]
async fn main() {}
