//! Properties of `sanitize` and the credential scrubber over arbitrary text.

use proptest::prelude::*;
use unicode_general_category::{GeneralCategory, get_general_category};
use vmware_policy::redact::redact_text;
use vmware_policy::sanitize;

/// Text rich in the characters that matter: controls, C1, bidi and zero-width, multi-byte.
fn hostile_text() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        any::<char>().prop_map(|c| c.to_string()),
        Just("\u{1b}[2J".to_string()),
        Just("\u{1b}]52;c;aGk=\u{7}".to_string()),
        Just("\u{202e}".to_string()),
        Just("\u{200b}\u{feff}\u{2066}".to_string()),
        Just("\u{9b}31m".to_string()),
        Just("\0\t\n\r".to_string()),
        Just("日本語😀".to_string()),
        "[a-z=:/@ -]{0,12}",
    ];
    prop::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
}

fn forbidden(c: char) -> bool {
    let c0_or_c1 = (c as u32) < 0x20 || (0x7f..=0x9f).contains(&(c as u32));
    (c0_or_c1 && !matches!(c, '\t' | '\n' | '\r'))
        || get_general_category(c) == GeneralCategory::Format
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn no_control_or_format_character_survives_but_tab_newline_cr(s in hostile_text(), n in 0usize..600) {
        let out = sanitize(&s, n);
        prop_assert!(!out.chars().any(forbidden), "{out:?}");
    }

    #[test]
    fn at_most_max_len_characters_and_only_whole_characters_of_the_input(s in hostile_text(), n in 0usize..60) {
        let out = sanitize(&s, n);
        prop_assert!(out.chars().count() <= n);
        // Exactly the kept characters of the input, in order, cut at n: never a split character.
        let expected: String = s.chars().filter(|&c| !forbidden(c)).take(n).collect();
        prop_assert_eq!(out, expected);
    }

    #[test]
    fn sanitize_is_idempotent(s in hostile_text(), n in 0usize..600) {
        let once = sanitize(&s, n);
        prop_assert_eq!(sanitize(&once, n), once.clone());
    }

    #[test]
    fn the_credential_scrubber_is_idempotent_and_total(s in hostile_text()) {
        let once = redact_text(&s).into_owned();
        prop_assert_eq!(redact_text(&once).into_owned(), once);
    }
}
