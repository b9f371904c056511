//! `maintenance_window:`, read as the Python engine reads it: `str(value)`
//! split at `:` into exactly two Python `int()`s, UTC, both ends inclusive.

use super::yaml::{Node, Value};

/// `maintenance_window:`.
#[derive(Debug)]
pub enum Window {
    Absent,
    /// Minutes since midnight UTC; both inclusive; start after end wraps midnight.
    Valid {
        start: i64,
        end: i64,
        start_text: String,
        end_text: String,
    },
    Malformed {
        repr: String,
        why: String,
    },
}

impl Window {
    /// Whether `minute` (minutes since midnight UTC) is inside a valid window.
    pub fn contains(start: i64, end: i64, minute: i64) -> bool {
        if start <= end {
            start <= minute && minute <= end
        } else {
            minute >= start || minute <= end
        }
    }

    /// Minutes from `minute` until the window opens (when closed) or closes
    /// (when open; both ends are inclusive, so it closes after `end`).
    /// `None` when an end lies outside the day and the state never changes.
    pub fn minutes_until_change(start: i64, end: i64, minute: i64) -> Option<i64> {
        let day = 0..1440;
        if !day.contains(&start) || !day.contains(&end) {
            return None;
        }
        if Window::contains(start, end, minute) {
            if (end + 1).rem_euclid(1440) == start {
                return None; // open all day
            }
            Some((end + 1 - minute).rem_euclid(1440))
        } else {
            Some((start - minute).rem_euclid(1440))
        }
    }
}

/// Python's `int()` of a string: surrounding Unicode white space (which, for
/// `int()`, excludes U+001C..U+001F although `str.isspace()` counts them), a
/// sign, then decimal digits of any script (`١٢`, `１２`) with single
/// underscores between them. `None` when Python raises, or when the value does
/// not fit an `i64` (no window end is that large; it is reported malformed
/// rather than wrapped).
pub(crate) fn py_int(text: &str) -> Option<i64> {
    let t = text.trim_matches(char::is_whitespace);
    let (neg, digits) = match t.chars().next()? {
        '-' => (true, &t[1..]),
        '+' => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let mut v: i64 = 0;
    for c in digits.chars().filter(|&c| c != '_') {
        v = v
            .checked_mul(10)?
            .checked_add(i64::from(decimal_value(c)?))?;
    }
    Some(if neg { -v } else { v })
}

/// The value of a Unicode decimal digit (category Nd), as Python's
/// `unicodedata.decimal`. Nd digits come in runs that start at zero, so the
/// value is the position in the run of consecutive Nd characters, modulo 10.
fn decimal_value(c: char) -> Option<u32> {
    use unicode_general_category::{GeneralCategory, get_general_category};
    let is_nd = |c: char| get_general_category(c) == GeneralCategory::DecimalNumber;
    if c.is_ascii_digit() {
        return c.to_digit(10);
    }
    if !is_nd(c) {
        return None;
    }
    let mut k = 0u32;
    let mut cp = c as u32;
    while let Some(prev) = cp.checked_sub(1).and_then(char::from_u32) {
        if !is_nd(prev) {
            break;
        }
        k += 1;
        cp -= 1;
    }
    Some(k % 10)
}

/// Parse one end of the window as Python does: `str(value).split(":")` into
/// exactly two `int()`s.
fn window_end(v: Option<&Node>, default: &str) -> Result<i64, String> {
    let text = match v {
        None => default.to_string(),
        Some(n) => match n.as_str() {
            Some(s) => s.to_string(),
            None => {
                return Err(match &n.plain {
                    Some(raw) => format!(
                        "`{raw}` is read as a {} by YAML 1.1 (quote it: \"{raw}\")",
                        n.kind()
                    ),
                    None => format!("{} is a {}, not an \"HH:MM\" string", n.py_repr(), n.kind()),
                });
            }
        },
    };
    let parts: Vec<&str> = text.split(':').collect();
    match parts.as_slice() {
        [h, m] => match (py_int(h), py_int(m)) {
            (Some(h), Some(m)) => h
                .checked_mul(60)
                .and_then(|h| h.checked_add(m))
                .ok_or_else(|| format!("'{text}' is out of range")),
            _ => Err(format!("'{text}' is not HH:MM")),
        },
        _ => Err(format!("'{text}' is not HH:MM")),
    }
}

pub(crate) fn compile_window(w: &Node) -> Window {
    if !matches!(w.value, Value::Map(_)) {
        return Window::Malformed {
            repr: w.py_repr(),
            why: format!("it is a {}, not a mapping with start and end", w.kind()),
        };
    }
    let start = window_end(w.get("start"), "22:00");
    let end = window_end(w.get("end"), "06:00");
    match (start, end) {
        (Ok(start), Ok(end)) => Window::Valid {
            start,
            end,
            start_text: w.get("start").map_or_else(|| "?".into(), Node::py_str),
            end_text: w.get("end").map_or_else(|| "?".into(), Node::py_str),
        },
        (Err(why), _) | (_, Err(why)) => Window::Malformed {
            repr: w.py_repr(),
            why,
        },
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn time_until_the_window_changes() {
        use super::Window;
        // 22:00-06:00: at 21:00 it opens in 60 minutes; at 05:30 it closes in 31.
        assert_eq!(Window::minutes_until_change(1320, 360, 1260), Some(60));
        assert_eq!(Window::minutes_until_change(1320, 360, 330), Some(31));
        assert_eq!(Window::minutes_until_change(0, 1439, 500), None);
        assert_eq!(Window::minutes_until_change(1800, 360, 500), None);
    }

    use super::*;
    use crate::policy::rules::{Body, RuleSet, Source};
    use std::path::Path;

    fn compile_text(text: &str) -> RuleSet {
        RuleSet::from_bytes(text.as_bytes(), Path::new("/x/rules.yaml"), Source::User)
    }

    #[test]
    fn python_int_parsing() {
        assert_eq!(py_int(" 22"), Some(22));
        assert_eq!(py_int("+0_7"), Some(7));
        assert_eq!(py_int("-1"), Some(-1));
        assert_eq!(py_int("2__2"), None);
        assert_eq!(py_int(""), None);
        assert_eq!(py_int("1.5"), None);
        // What CPython 3.11's int() does with these (checked by hand and in
        // tests/hostile_rules_vs_python.rs against the real engine).
        assert_eq!(py_int("\u{1c}00"), None);
        assert_eq!(py_int("00\u{1f}"), None);
        assert_eq!(py_int("\u{a0}1\u{3000}"), Some(1));
        assert_eq!(py_int("\u{661}\u{660}"), Some(10));
        assert_eq!(py_int("\u{ff11}\u{ff12}"), Some(12));
        assert_eq!(py_int("\u{1d7cf}"), Some(1));
        assert_eq!(py_int("\u{200b}1"), None);
        assert_eq!(py_int("+ 1"), None);
        assert_eq!(py_int("4611686018427387904"), Some(4611686018427387904));
        assert_eq!(py_int("99999999999999999999"), None);
    }

    #[test]
    fn window_reads_like_python() {
        let rs = compile_text("maintenance_window: {start: 22:00, end: '06:00'}\n");
        let Body::Rules(c) = &rs.body else { panic!() };
        assert!(matches!(&c.window, Window::Malformed { why, .. } if why.contains("quote it")));
        let rs = compile_text("maintenance_window: {start: '22:00'}\n");
        let Body::Rules(c) = &rs.body else { panic!() };
        assert!(
            matches!(&c.window, Window::Valid { start: 1320, end: 360, end_text, .. } if end_text == "?")
        );
        assert!(Window::contains(1320, 360, 0) && Window::contains(1320, 360, 360));
        assert!(!Window::contains(1320, 360, 361) && Window::contains(60, 120, 120));
        // h*60 used to wrap in release builds: a window open around the clock.
        let rs =
            compile_text("maintenance_window: {start: '4611686018427387904:00', end: '06:00'}\n");
        let Body::Rules(c) = &rs.body else { panic!() };
        assert!(
            matches!(&c.window, Window::Malformed { .. }),
            "{:?}",
            c.window
        );
    }
}
