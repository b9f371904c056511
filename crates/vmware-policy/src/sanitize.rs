//! Untrusted text in, safe text out: the `sanitize()` of compat.md.

use unicode_general_category::{GeneralCategory, get_general_category};

/// Strip C0 controls (but tab, newline, carriage return), DEL, C1 and every
/// Unicode format character (category Cf: zero-width spaces and joiners, bidi
/// overrides), then truncate to `max_len` characters.
///
/// Stripping comes first so padding with junk controls cannot push a payload
/// past the cut. Characters, not bytes, are counted, so a multi-byte character
/// is never split. Same semantics as the Python package's `sanitize`.
pub fn sanitize(text: &str, max_len: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_len.saturating_mul(4)));
    for c in text.chars().filter(|&c| !is_stripped(c)).take(max_len) {
        out.push(c);
    }
    out
}

/// [`sanitize`] with the Python default of 500 characters; `None` gives `""`.
pub fn sanitize_opt(text: Option<&str>) -> String {
    text.map(|t| sanitize(t, 500)).unwrap_or_default()
}

/// Whether `sanitize` removes `c`.
pub fn is_stripped(c: char) -> bool {
    matches!(c, '\u{00}'..='\u{08}' | '\u{0b}' | '\u{0c}' | '\u{0e}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
        || get_general_category(c) == GeneralCategory::Format
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_controls_and_format_then_truncates() {
        assert_eq!(
            sanitize("a\u{0}b\u{1b}[31mc\td\ne\r", 500),
            "ab[31mc\td\ne\r"
        );
        assert_eq!(sanitize("x\u{202e}y\u{200b}z\u{85}", 500), "xyz");
        // Junk before the cut does not count against the limit.
        assert_eq!(sanitize("\u{0}\u{0}\u{0}abcdef", 3), "abc");
        assert_eq!(sanitize("日本語テキスト", 2), "日本");
        assert_eq!(sanitize_opt(None), "");
    }
}
