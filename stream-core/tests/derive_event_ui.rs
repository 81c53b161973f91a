//! `#[derive(Event)]` compiles what it should and rejects the rest with errors spanned on the
//! offending token (trybuild; `TRYBUILD=overwrite` rewrites the expected `.stderr` files).

#[test]
fn derive_event_ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/derive_event/pass/*.rs");
    t.compile_fail("tests/ui/derive_event/fail/*.rs");
}
