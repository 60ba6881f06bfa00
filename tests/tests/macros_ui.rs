//! Compile-fail and compile-pass cases for `#[secured]`, `#[derive(Role)]` and
//! `#[derive(AuthUser)]`: one mistake per file under `tests/ui/<macro>/fail`, with the
//! reviewed compiler output beside it. Regenerate with `TRYBUILD=overwrite` and read the
//! diff.

#[test]
fn macro_errors_are_precise_and_say_what_to_write() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/*/fail/*.rs");
}

#[test]
fn macro_usages_compile() {
    let cases = trybuild::TestCases::new();
    cases.pass("ui/*/pass/*.rs");
}
