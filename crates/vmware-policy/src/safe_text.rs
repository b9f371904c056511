//! Rows are written by agents: every field is untrusted. Nothing from a row may
//! reach a terminal as a control sequence. One helper for the CLI and the TUI.

use std::borrow::Cow;
use std::io::Write;

use unicode_general_category::{GeneralCategory, get_general_category};

/// Whether `c` could act on a terminal or reorder text: C0, DEL, C1, format
/// characters (bidi overrides, zero-width), line and paragraph separators.
pub fn is_unsafe(c: char) -> bool {
    (c as u32) < 0x20
        || (0x7f..=0x9f).contains(&(c as u32))
        || matches!(
            get_general_category(c),
            GeneralCategory::Format
                | GeneralCategory::LineSeparator
                | GeneralCategory::ParagraphSeparator
        )
}

/// Text for a terminal: every unsafe character shown visibly escaped (`\u{1b}`),
/// tab, newline and carriage return as `\t`, `\n`, `\r`, and a backslash as `\\`
/// so an escape in the data cannot pass for one of ours. Borrowed when clean.
pub fn term_safe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c == '\\' || is_unsafe(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if is_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// serde_json formatting that also escapes DEL, C1 and format characters as
/// `\uXXXX` (serde_json escapes only C0): the output is exact JSON, and safe on
/// a terminal. `pretty` indents by two spaces, as Python's `json.dump(indent=2)`.
pub struct SafeJson {
    pretty: Option<serde_json::ser::PrettyFormatter<'static>>,
}

impl SafeJson {
    pub fn compact() -> SafeJson {
        SafeJson { pretty: None }
    }
    pub fn pretty() -> SafeJson {
        SafeJson {
            pretty: Some(serde_json::ser::PrettyFormatter::with_indent(b"  ")),
        }
    }
}

macro_rules! delegate {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $name<W: ?Sized + Write>(&mut self, w: &mut W $(, $arg: $ty)*) -> std::io::Result<()> {
            match &mut self.pretty {
                Some(p) => serde_json::ser::Formatter::$name(p, w $(, $arg)*),
                None => serde_json::ser::Formatter::$name(&mut serde_json::ser::CompactFormatter, w $(, $arg)*),
            }
        }
    )*};
}

impl serde_json::ser::Formatter for SafeJson {
    delegate! {
        begin_array();
        end_array();
        begin_array_value(first: bool);
        end_array_value();
        begin_object();
        end_object();
        begin_object_key(first: bool);
        end_object_key();
        begin_object_value();
        end_object_value();
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if is_unsafe(c) {
                w.write_all(&fragment.as_bytes()[start..i])?;
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    write!(w, "\\u{u:04x}")?;
                }
                start = i + c.len_utf8();
            }
        }
        w.write_all(&fragment.as_bytes()[start..])
    }
}

/// `value` as terminal-safe JSON text.
pub fn to_json<T: serde::Serialize + ?Sized>(value: &T, pretty: bool) -> String {
    let mut out = Vec::new();
    let fmt = if pretty {
        SafeJson::pretty()
    } else {
        SafeJson::compact()
    };
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    if value.serialize(&mut ser).is_err() {
        return "null".into();
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_is_shown_escaped() {
        let hostile = "a\u{1b}]52;c;aGk=\u{7}b\u{9b}31m\u{202e}c\0\u{7f}\\u{1b}\nd";
        let shown = term_safe(hostile);
        assert_eq!(
            shown,
            "a\\u{1b}]52;c;aGk=\\u{7}b\\u{9b}31m\\u{202e}c\\u{0}\\u{7f}\\\\u{1b}\\nd"
        );
        assert!(!shown.chars().any(is_unsafe));
        assert!(matches!(term_safe("plain ünïcödé"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_stays_exact_and_safe() {
        let v = serde_json::json!({"k": "x\u{1b}[2J\u{202e}\u{85}\u{7f}😀"});
        for pretty in [false, true] {
            let text = to_json(&v, pretty);
            assert!(!text.chars().any(|c| is_unsafe(c) && c != '\n'), "{text:?}");
            let back: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(back, v);
        }
    }
}
