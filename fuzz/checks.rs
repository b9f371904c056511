//! The properties the fuzz targets check, one function per target, on raw
//! bytes. Shared by the cargo-fuzz targets (`fuzz/fuzz_targets/`) and by
//! `tests/fuzz_corpus.rs`, which replays every kept input under `cargo test`,
//! so a property broken by a change fails the ordinary test run too.

#![allow(dead_code)] // each target uses one of these

use std::path::Path;

use vmware_policy::policy::{Body, CallContext, RuleSet, Source, has_errors, validate_bytes};
use vmware_policy::safe_text::{is_unsafe, term_safe, to_json};

/// The rules parser and validator: never a panic; a file the validator passes
/// without error always loads; a file that does not load denies everything.
pub fn rules(data: &[u8]) {
    let diags = validate_bytes(data);
    let set = RuleSet::from_bytes(data, Path::new("rules.yaml"), Source::User);
    if !has_errors(&diags) {
        assert!(
            !set.is_unreadable(),
            "valid per the validator, yet unreadable: {diags:?}"
        );
    }
    for op in ["delete_vm", "list_vms", ""] {
        let ctx = CallContext {
            env: "production",
            risk_level: "critical",
            ..CallContext::default()
        };
        let d = set.check(op, &ctx);
        if set.is_unreadable() {
            assert!(!d.allowed, "an unreadable file allowed {op:?}");
        }
    }
    if let Body::Rules(c) = &set.body {
        let _ = c.describe();
    }
}

/// What compat.md says `sanitize` removes: C0 but tab, newline and carriage
/// return, DEL, C1, and format characters (Cf). Line and paragraph separators
/// are kept, as the Python package keeps them.
fn stripped_by_contract(c: char) -> bool {
    use unicode_general_category::{GeneralCategory, get_general_category};
    let c0_or_c1 = (c as u32) < 0x20 || (0x7f..=0x9f).contains(&(c as u32));
    (c0_or_c1 && !matches!(c, '\t' | '\n' | '\r'))
        || get_general_category(c) == GeneralCategory::Format
}

/// `sanitize`: the first byte is the length limit, the rest the text (invalid
/// UTF-8 replaced, as a skill would decode it). Bounded, idempotent, exactly
/// the kept characters of the input in order.
pub fn sanitize(data: &[u8]) {
    let Some((&max, rest)) = data.split_first() else {
        return;
    };
    let max = max as usize;
    let text = String::from_utf8_lossy(rest);
    let out = vmware_policy::sanitize(&text, max);
    assert!(out.chars().count() <= max);
    assert_eq!(vmware_policy::sanitize(&out, max), out, "not idempotent");
    let expected: String = text
        .chars()
        .filter(|&c| !stripped_by_contract(c))
        .take(max)
        .collect();
    assert_eq!(out, expected);
}

/// The terminal-safe renderer: no unsafe character reaches the output, and
/// the JSON writer's output is exact JSON of the same value.
pub fn term_safe_text(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let shown = term_safe(&text);
    assert!(
        !shown.chars().any(is_unsafe),
        "unsafe character shown: {shown:?}"
    );
    let v = serde_json::json!({ "s": text });
    for pretty in [false, true] {
        let j = to_json(&v, pretty);
        assert!(
            !j.chars().any(|c| is_unsafe(c) && c != '\n'),
            "unsafe character in JSON: {j:?}"
        );
        let back: serde_json::Value = serde_json::from_str(&j).expect("exact JSON");
        assert_eq!(back, v);
    }
}
