//! Every input kept in the fuzz corpus (`fuzz/corpus/<target>/`), replayed
//! through the same property checks the fuzz targets run. The corpus holds
//! what libFuzzer found interesting (and every input that once failed), so a
//! change that breaks a property on any of them fails `cargo test` without a
//! fuzzing toolchain.

#[path = "../../../fuzz/checks.rs"]
mod checks;

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(
            outcome.is_ok(),
            "{target}: the input {} breaks a property (reproduce: cargo fuzz run {target} {})",
            path.display(),
            path.display()
        );
        n += 1;
    }
    n
}

#[test]
fn the_rules_corpus_loads_validates_and_decides_without_breaking_a_property() {
    let n = replay("rules", checks::rules);
    assert!(n >= 100, "the rules corpus has only {n} inputs");
}

#[test]
fn the_sanitize_corpus_keeps_its_properties() {
    let n = replay("sanitize", checks::sanitize);
    assert!(n >= 50, "the sanitize corpus has only {n} inputs");
}

#[test]
fn the_term_safe_corpus_keeps_its_properties() {
    let n = replay("term_safe", checks::term_safe_text);
    assert!(n >= 50, "the term_safe corpus has only {n} inputs");
}
