//! Values written exactly as the Python package writes them: `ts` as
//! `datetime.isoformat()`, JSON as `json.dumps(..., ensure_ascii=False)`.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::Serialize;
use serde_json::Value;

/// Python's `datetime.now(tz=timezone.utc).isoformat()`: microseconds, and
/// `+00:00`; like Python, the fraction is left out when it is exactly zero.
pub fn python_ts(t: DateTime<Utc>) -> String {
    use std::fmt::Write;
    let micros = t.nanosecond() / 1000 % 1_000_000;
    // Digits written directly (every row pays this; strftime parses its
    // format each time); chrono's own formatting for what is not a plain
    // four-digit year or is a leap second.
    if !(0..=9999).contains(&t.year()) || t.nanosecond() >= 1_000_000_000 {
        return strftime_ts(t, micros);
    }
    let mut s = String::with_capacity(32);
    let _ = write!(
        s,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if micros != 0 {
        let _ = write!(s, ".{micros:06}");
    }
    s.push_str("+00:00");
    s
}

fn strftime_ts(t: DateTime<Utc>, micros: u32) -> String {
    if micros == 0 {
        t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    } else {
        format!("{}.{micros:06}+00:00", t.format("%Y-%m-%dT%H:%M:%S"))
    }
}

/// serde_json formatting with Python's default separators (`", "` and `": "`).
struct PyFormatter;

impl serde_json::ser::Formatter for PyFormatter {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }
}

/// JSON text as Python's `json.dumps(value, ensure_ascii=False)` writes it.
pub fn python_json(value: &Value) -> String {
    let mut out = Vec::with_capacity(128);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PyFormatter);
    match value.serialize(&mut ser) {
        // serde_json writes valid UTF-8.
        Ok(()) => String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        Err(e) => format!("{{\"_raw\": {}}}", Value::String(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn formats_like_python() {
        let t = Utc.with_ymd_and_hms(2026, 11, 21, 20, 18, 0).unwrap();
        assert_eq!(python_ts(t), "2026-11-21T20:18:00+00:00");
        let t = t + chrono::Duration::microseconds(123_456);
        assert_eq!(python_ts(t), "2026-11-21T20:18:00.123456+00:00");
        let v = serde_json::json!({"a": [1, 2.5, "é\u{1b}"], "b": {}});
        assert_eq!(python_json(&v), r#"{"a": [1, 2.5, "é\u001b"], "b": {}}"#);
    }

    /// The digits written directly equal chrono's strftime, over years,
    /// months, days, hours, leap years, zero and non-zero microseconds.
    #[test]
    fn timestamps_are_written_as_strftime_writes_them() {
        use chrono::TimeZone;
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // 1970..2200, with whole seconds a tenth of the time.
            let secs = (x % 7_258_118_400) as i64;
            let micros = if x.is_multiple_of(10) {
                0
            } else {
                (x >> 20) % 1_000_000
            };
            let t = Utc.timestamp_opt(secs, (micros * 1000) as u32).unwrap();
            assert_eq!(python_ts(t), strftime_ts(t, micros as u32), "{t:?}");
        }
        let edge = Utc.with_ymd_and_hms(2024, 2, 29, 23, 59, 59).unwrap();
        assert_eq!(python_ts(edge), "2024-02-29T23:59:59+00:00");
    }
}
