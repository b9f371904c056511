//! Writing rows for machines: JSON (an array laid out as Python's
//! `json.dump(indent=2)`), JSON lines and CSV, streamed row by row. JSON text is
//! escaped so it is exact and terminal-safe at once.

use std::io::Write;

use vmware_policy::audit::AuditRow;
use vmware_policy::safe_text::{is_unsafe, term_safe};

use super::common::EXIT_ERROR;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Jsonl,
}

impl Format {
    pub fn of(json: bool, jsonl: bool) -> Format {
        if json {
            Format::Json
        } else if jsonl {
            Format::Jsonl
        } else {
            Format::Table
        }
    }
}

/// Print one error line and give the exit code for it.
pub fn fail(msg: &str) -> i32 {
    let _ = writeln!(std::io::stderr(), "vmware-audit: {}", term_safe(msg));
    EXIT_ERROR
}

/// A JSON string: `"` `\` and C0 as JSON escapes them, DEL, C1 and format
/// characters as `\uXXXX` too (exact JSON, and nothing raw reaches a terminal).
pub fn json_str(w: &mut impl Write, s: &str) -> std::io::Result<()> {
    w.write_all(b"\"")?;
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // ASCII needs no Unicode lookup: only `"`, `\`, C0 and DEL are special.
        let (c, len) = if b < 0x80 {
            if b >= 0x20 && b != b'"' && b != b'\\' && b != 0x7f {
                i += 1;
                continue;
            }
            (b as char, 1)
        } else {
            let c = s[i..].chars().next().unwrap_or('\u{fffd}');
            if !is_unsafe(c) {
                i += c.len_utf8();
                continue;
            }
            (c, c.len_utf8())
        };
        w.write_all(&bytes[start..i])?;
        match c {
            '"' => w.write_all(b"\\\"")?,
            '\\' => w.write_all(b"\\\\")?,
            '\n' => w.write_all(b"\\n")?,
            '\r' => w.write_all(b"\\r")?,
            '\t' => w.write_all(b"\\t")?,
            '\u{8}' => w.write_all(b"\\b")?,
            '\u{c}' => w.write_all(b"\\f")?,
            c => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    write!(w, "\\u{u:04x}")?;
                }
            }
        }
        i += len;
        start = i;
    }
    w.write_all(&bytes[start..])?;
    w.write_all(b"\"")
}

fn fields(r: &AuditRow) -> [(&'static str, Result<i64, &str>); 18] {
    [
        ("id", Ok(r.id)),
        ("ts", Err(&r.ts)),
        ("skill", Err(&r.skill)),
        ("tool", Err(&r.tool)),
        ("params", Err(&r.params)),
        ("result", Err(&r.result)),
        ("status", Err(&r.status)),
        ("duration_ms", Ok(r.duration_ms)),
        ("agent", Err(&r.agent)),
        ("workflow_id", Err(&r.workflow_id)),
        ("user", Err(&r.user)),
        ("risk_level", Err(&r.risk_level)),
        ("rationale", Err(&r.rationale)),
        ("approved_by", Err(&r.approved_by)),
        ("risk_tier", Err(&r.risk_tier)),
        ("surface", Err(&r.surface)),
        ("correlation_id", Err(&r.correlation_id)),
        ("role", Err(&r.role)),
    ]
}

/// One row as a JSON object, keyed by column name: Python's `indent=2` layout
/// as an element of an array, or compact.
pub fn json_row(w: &mut impl Write, r: &AuditRow, indented: bool) -> std::io::Result<()> {
    let (open, sep, close): (&[u8], &[u8], &[u8]) = if indented {
        (b"  {\n    ", b",\n    ", b"\n  }")
    } else {
        (b"{", b", ", b"}")
    };
    w.write_all(open)?;
    for (i, (name, value)) in fields(r).into_iter().enumerate() {
        if i > 0 {
            w.write_all(sep)?;
        }
        w.write_all(b"\"")?;
        w.write_all(name.as_bytes())?;
        w.write_all(b"\": ")?;
        match value {
            Ok(n) => write_int(w, n)?,
            Err(s) => json_str(w, s)?,
        }
    }
    // A fleet row says its host; a local row has none, and no such key.
    if !r.host.is_empty() {
        w.write_all(sep)?;
        w.write_all(b"\"host\": ")?;
        json_str(w, &r.host)?;
    }
    w.write_all(close)
}

/// An integer without the formatting machinery (hot in a full export).
fn write_int(w: &mut impl Write, n: i64) -> std::io::Result<()> {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        w.write_all(b"-")?;
    }
    w.write_all(&buf[i..])
}

pub fn json_line(w: &mut impl Write, r: &AuditRow) -> std::io::Result<()> {
    json_row(w, r, false)?;
    w.write_all(b"\n")
}

/// Rows as one JSON array, in Python's `json.dump(rows, indent=2)` layout.
pub fn json_array(w: &mut impl Write, rows: &[AuditRow]) -> std::io::Result<()> {
    let mut a = JsonArray::default();
    rows.iter().try_for_each(|r| a.push(w, r))?;
    a.finish(w)
}

/// A JSON array written one row at a time (constant memory).
#[derive(Default)]
pub struct JsonArray {
    started: bool,
}

impl JsonArray {
    pub fn push(&mut self, w: &mut impl Write, r: &AuditRow) -> std::io::Result<()> {
        w.write_all(if self.started { b",\n" } else { b"[\n" })?;
        self.started = true;
        json_row(w, r, true)
    }
    pub fn finish(self, w: &mut impl Write) -> std::io::Result<()> {
        w.write_all(if self.started { b"\n]\n" } else { b"[]\n" })
    }
}

pub const CSV_HEADER: &str = "id,ts,skill,tool,params,result,status,duration_ms,agent,workflow_id,user,risk_level,rationale,approved_by,risk_tier,surface,correlation_id,role\n";

/// One CSV record (RFC 4180). On a terminal, text is made terminal-safe first.
/// A fleet export's header: the host last.
pub const CSV_HEADER_FLEET: &str = "id,ts,skill,tool,params,result,status,duration_ms,agent,workflow_id,user,risk_level,rationale,approved_by,risk_tier,surface,correlation_id,role,host\n";

pub fn csv_row(w: &mut impl Write, r: &AuditRow, tty: bool) -> std::io::Result<()> {
    let host = (!r.host.is_empty()).then_some(("host", Err(r.host.as_str())));
    for (i, (_, value)) in fields(r).into_iter().chain(host).enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        match value {
            Ok(n) => write!(w, "{n}")?,
            Err(s) => {
                let s = if tty {
                    term_safe(s)
                } else {
                    std::borrow::Cow::Borrowed(s)
                };
                if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
                    write!(w, "\"{}\"", s.replace('"', "\"\""))?;
                } else {
                    w.write_all(s.as_bytes())?;
                }
            }
        }
    }
    w.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_rows_are_exact_json_with_nothing_raw() {
        let r = AuditRow {
            id: 3,
            tool: "x\u{1b}]52;c;aGk=\u{7}\u{202e}\"\\\u{85}\u{7f}".into(),
            ..AuditRow::default()
        };
        let mut out = Vec::new();
        json_array(&mut out, &[r.clone(), r.clone()]).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.chars().any(|c| is_unsafe(c) && c != '\n'), "{text:?}");
        let back: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        assert_eq!(back[1]["tool"], r.tool.as_str());
        assert!(
            text.starts_with("[\n  {\n    \"id\": 3,\n    \"ts\": \"\","),
            "{text}"
        );
    }
}
