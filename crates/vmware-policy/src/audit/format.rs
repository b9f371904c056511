//! Values written exactly as the Python package writes them: `ts` as
//! `datetime.isoformat()`, JSON as `json.dumps(..., ensure_ascii=False)`.

use chrono::{DateTime, Timelike, Utc};
use serde::Serialize;
use serde_json::Value;

/// Python's `datetime.now(tz=timezone.utc).isoformat()`: microseconds, and
/// `+00:00`; like Python, the fraction is left out when it is exactly zero.
pub fn python_ts(t: DateTime<Utc>) -> String {
    let micros = t.nanosecond() / 1000 % 1_000_000;
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
}
