//! Writing rows for machines: JSON (an array laid out as Python's
//! `json.dump(indent=2)`), JSON lines and CSV, streamed row by row. JSON text is
//! escaped so it is exact and terminal-safe at once.

use std::io::Write;
use std::mem::MaybeUninit;

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

/// A JSON string appended to `out`: `"` `\` and C0 as JSON escapes them,
/// DEL, C1 and format characters as `\uXXXX` too (exact JSON, and nothing
/// raw reaches a terminal). Plain ASCII is copied eight bytes at a
/// time, found by [`special_bytes`]: a full export of a million rows (JSON
/// text with a quote every few bytes) spent a third of its time escaping.
pub fn json_str_into(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let mut rest = s;
    while !rest.is_empty() {
        // A long text in pieces, so the room reserved below stays small.
        let mut cut = rest.len().min(PIECE);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (piece, next) = rest.split_at(cut);
        // Room for the worst case, so the escaper writes without growing:
        // each byte at most 6 (`\u00XX` for one byte; a char of n >= 2 bytes
        // is at most two `\uXXXX`, 12 <= 6n), and the 8 bytes a chunk write
        // may reach past the end of what it keeps.
        out.reserve(piece.len() * 6 + 8);
        let start = out.len();
        let written = escape_into(out.spare_capacity_mut(), piece);
        // SAFETY: `escape_into` wrote every byte of the spare room before
        // `written` (it writes in order and only moves past what it wrote).
        unsafe { out.set_len(start + written) };
        rest = next;
    }
    out.push(b'"');
}

/// How much of a text is escaped at a time (the room reserved is 6 times it).
const PIECE: usize = 1 << 14;

/// [`json_str_into`]'s work without the quotes, into `dst` (checked
/// indexing: too little room panics, never writes out of bounds). Returns how
/// many bytes it wrote.
fn escape_into(dst: &mut [MaybeUninit<u8>], s: &str) -> usize {
    fn put(dst: &mut [MaybeUninit<u8>], w: &mut usize, b: &[u8]) {
        for (d, b) in dst[*w..*w + b.len()].iter_mut().zip(b) {
            d.write(*b);
        }
        *w += b.len();
    }
    let bytes = s.as_bytes();
    let mut w = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Eight at a time: written whole, kept up to the first special byte.
        if let Some(chunk) = bytes.get(i..i + 8) {
            let chunk: [u8; 8] = chunk.try_into().unwrap_or([0; 8]);
            for (d, b) in dst[w..w + 8].iter_mut().zip(chunk) {
                d.write(b);
            }
            let special = special_bytes(u64::from_le_bytes(chunk));
            if special == 0 {
                i += 8;
                w += 8;
                continue;
            }
            let k = (special.trailing_zeros() / 8) as usize;
            i += k;
            w += k;
        } else if PLAIN[bytes[i] as usize] {
            dst[w].write(bytes[i]);
            w += 1;
            i += 1;
            continue;
        }
        // bytes[i] needs a look; a quote, by far the commonest, first.
        let b = bytes[i];
        if b == b'"' {
            put(dst, &mut w, b"\\\"");
            i += 1;
            continue;
        }
        let c = if b < 0x80 {
            b as char
        } else {
            let c = s[i..].chars().next().unwrap_or('\u{fffd}');
            if !is_unsafe(c) {
                let n = c.len_utf8();
                put(dst, &mut w, &bytes[i..i + n]);
                i += n;
                continue;
            }
            c
        };
        i += c.len_utf8();
        match c {
            '\\' => put(dst, &mut w, b"\\\\"),
            '\n' => put(dst, &mut w, b"\\n"),
            '\r' => put(dst, &mut w, b"\\r"),
            '\t' => put(dst, &mut w, b"\\t"),
            '\u{8}' => put(dst, &mut w, b"\\b"),
            '\u{c}' => put(dst, &mut w, b"\\f"),
            c => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    let u = *u as usize;
                    put(
                        dst,
                        &mut w,
                        &[
                            b'\\',
                            b'u',
                            HEX[u >> 12],
                            HEX[(u >> 8) & 15],
                            HEX[(u >> 4) & 15],
                            HEX[u & 15],
                        ],
                    );
                }
            }
        }
    }
    w
}

/// The high bit of every byte of `x` that is not [`PLAIN`] (below 0x20,
/// `"`, `\`, DEL, or not ASCII), exact up to the first such byte: the lowest
/// set bit says where the plain run ends.
fn special_bytes(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let eq = |c: u8| {
        let y = x ^ (ONES * u64::from(c));
        y.wrapping_sub(ONES) & !y & HIGH
    };
    let below = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
    below | eq(b'"') | eq(b'\\') | eq(0x7f) | (x & HIGH)
}

/// How many bytes at the start of `bytes` are [`PLAIN`] (tests compare it
/// with a byte-by-byte scan).
#[cfg(test)]
fn plain_run(bytes: &[u8]) -> usize {
    let mut i = 0;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let special = special_bytes(u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])));
        if special != 0 {
            return i + (special.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i + bytes[i..]
        .iter()
        .position(|b| !PLAIN[*b as usize])
        .unwrap_or(bytes.len() - i)
}

/// The bytes written as they are: printable ASCII but `"` and `\`.
/// (C0, DEL and every non-ASCII byte are looked at.)
const PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0x20;
    while b < 0x7f {
        t[b] = b != b'"' as usize && b != b'\\' as usize;
        b += 1;
    }
    t
};

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
    // Composed in memory and written once: the escapes make many small
    // writes, cheaper into a Vec than through the stream's buffer.
    ROW_BUF.with_borrow_mut(|buf| {
        buf.clear();
        compose_row(buf, r, indented)?;
        w.write_all(buf)
    })
}

thread_local! {
    static ROW_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn compose_row(w: &mut Vec<u8>, r: &AuditRow, indented: bool) -> std::io::Result<()> {
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
            Err(s) => json_str_into(w, s),
        }
    }
    // A fleet row says its host; a local row has none, and no such key.
    if !r.host.is_empty() {
        w.write_all(sep)?;
        w.write_all(b"\"host\": ")?;
        json_str_into(w, &r.host);
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

/// [`json_line`] composed straight into `buf` (a stream's own chunk: no
/// copy through a row buffer).
pub fn json_line_into(buf: &mut Vec<u8>, r: &AuditRow) {
    let _ = compose_row(buf, r, false);
    buf.push(b'\n');
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

    /// [`JsonArray::push`] composed straight into `buf`.
    pub fn push_into(&mut self, buf: &mut Vec<u8>, r: &AuditRow) {
        buf.extend_from_slice(if self.started { b",\n" } else { b"[\n" });
        self.started = true;
        let _ = compose_row(buf, r, true);
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

    /// The escaper writes what a char-by-char one does, for every char up to
    /// U+0300, format and separator chars, astral ones, at every offset
    /// around the eight-byte steps.
    #[test]
    fn json_strings_are_escaped_as_char_by_char() {
        let reference = |s: &str| {
            let mut out = String::from("\"");
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    '\u{8}' => out.push_str("\\b"),
                    '\u{c}' => out.push_str("\\f"),
                    c if (c.is_ascii() && (c < ' ' || c == '\u{7f}'))
                        || (!c.is_ascii() && is_unsafe(c)) =>
                    {
                        let mut units = [0u16; 2];
                        for u in c.encode_utf16(&mut units) {
                            out.push_str(&format!("\\u{u:04x}"));
                        }
                    }
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        };
        let mut chars: Vec<char> = (0u32..0x300).filter_map(char::from_u32).collect();
        chars.extend([
            '\u{200b}',
            '\u{202e}',
            '\u{2028}',
            '\u{feff}',
            '\u{1f600}',
            'é',
            '中',
        ]);
        for c in &chars {
            for at in 0..18 {
                let s: String = "abcdefghijklmnopqr"[..at].to_string() + &c.to_string() + "tail\"x";
                let mut got = Vec::new();
                json_str_into(&mut got, &s);
                assert_eq!(
                    String::from_utf8(got).unwrap(),
                    reference(&s),
                    "{c:?} at {at}"
                );
            }
        }
        // Texts longer than a piece, with multi-byte chars across every cut:
        // the same as one pass, appended after what the buffer held.
        for shift in 0..4 {
            let s: String =
                "x".repeat(shift) + &chars.iter().cycle().take(3 * PIECE).collect::<String>();
            assert!(s.len() > 2 * PIECE);
            let mut got = b"before".to_vec();
            json_str_into(&mut got, &s);
            assert_eq!(
                String::from_utf8(got).unwrap(),
                "before".to_string() + &reference(&s),
                "shifted by {shift}"
            );
        }
    }

    /// The eight-at-a-time scan stops where the byte-by-byte one does: every
    /// byte value at every offset, alone and after another special byte.
    #[test]
    fn the_fast_scan_finds_the_first_byte_to_escape_exactly() {
        let slow = |b: &[u8]| {
            b.iter()
                .position(|x| !PLAIN[*x as usize])
                .unwrap_or(b.len())
        };
        for special in 0..=255u8 {
            for at in 0..20 {
                let mut buf = vec![b'a'; 24];
                buf[at] = special;
                assert_eq!(plain_run(&buf), slow(&buf), "{special:#x} at {at}");
                if at + 1 < buf.len() {
                    buf[at + 1] = b'"';
                    assert_eq!(
                        plain_run(&buf),
                        slow(&buf),
                        "{special:#x} at {at}, then a quote"
                    );
                }
            }
        }
        assert_eq!(plain_run(b""), 0);
        assert_eq!(plain_run(b"plain ascii text, no escapes"), 28);
    }

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
