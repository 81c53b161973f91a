#[derive(serde::Serialize, serde::Deserialize, stream_macros::Event)]
#[event(crate = "stream_core")]
struct Wrapper<T> {
    inner: T,
}

fn main() {}
