//! Compile-time behaviour of the macros, as a user sees it: what compiles, and for what does not,
//! the exact error and the token it points at (trybuild; `TRYBUILD=overwrite` rewrites the
//! expected `.stderr` files, which must then be read).
//!
//! The fixtures' topic catalog is `tests/ui/topics.toml`, given to the macros through
//! `STREAMKIT_TOPICS_FILE` because trybuild builds the fixtures from a crate of its own.

#[test]
fn ui() {
    let catalog = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui/topics.toml");
    // SAFETY: set before trybuild starts its cargo processes; this test binary runs this one test.
    unsafe {
        std::env::set_var("STREAMKIT_TOPICS_FILE", catalog);
        // The `pass` fixtures run: services check their wiring and exit instead of consuming,
        // on librdkafka's in-process mock cluster (the fixtures' topics are not on a real one).
        std::env::set_var("STREAMKIT_DRY_RUN", "1");
        std::env::remove_var("KAFKA_BOOTSTRAP_SERVERS");
        std::env::remove_var("STREAMKIT_CONFIG");
    }
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/derive_event/pass/*.rs");
    t.compile_fail("tests/ui/derive_event/fail/*.rs");
    t.pass("tests/ui/stream_handler/pass/*.rs");
    t.compile_fail("tests/ui/stream_handler/fail/*.rs");
    t.pass("tests/ui/stream_service/pass/*.rs");
    t.compile_fail("tests/ui/stream_service/fail/*.rs");
    t.pass("tests/ui/typed_topics/pass/*.rs");
    t.compile_fail("tests/ui/typed_topics/fail/*.rs");
}
