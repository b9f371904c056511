//! What a jump to a time costs on a large log (the TUI's `J`): the binary
//! search over ids against the plain query, on a database with no ts index
//! (as the Python package writes it) and with one.
//!
//! `cargo run --release --example jump_cost [-- ROWS]` (default 1,000,000).

use std::time::Instant;

use vmware_policy::audit::{Reader, generate};

fn main() {
    let rows: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("audit.db");
    generate::generate(&db, rows, 30, 1, chrono::Utc::now()).expect("generate");
    let conn = rusqlite::Connection::open(&db).unwrap();
    // The generated database is ours; make it look as Python leaves one.
    conn.execute_batch("DROP INDEX IF EXISTS audit_log_ts")
        .unwrap();
    let (first, last): (String, String) = conn
        .query_row("SELECT MIN(ts), MAX(ts) FROM audit_log", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    let times: Vec<String> = (0..20)
        .map(|i| {
            let a = chrono::DateTime::parse_from_rfc3339(&first).unwrap();
            let b = chrono::DateTime::parse_from_rfc3339(&last).unwrap();
            let t = a + (b - a) * i / 20;
            vmware_policy::audit::python_ts(t.with_timezone(&chrono::Utc))
        })
        .collect();
    for with_index in [false, true] {
        if with_index {
            conn.execute_batch("CREATE INDEX audit_log_ts ON audit_log(ts)")
                .unwrap();
        }
        let reader = Reader::open(&db).unwrap();
        let started = Instant::now();
        let mut found = Vec::new();
        for t in &times {
            found.push(reader.last_id_at_or_before(t).unwrap());
        }
        let search = started.elapsed().as_secs_f64() * 1000.0 / times.len() as f64;
        let started = Instant::now();
        for (t, want) in times.iter().zip(&found) {
            let plain: Option<i64> = conn
                .query_row(
                    "SELECT id FROM audit_log WHERE ts <= ?1 ORDER BY ts DESC, id DESC LIMIT 1",
                    [t],
                    |r| r.get(0),
                )
                .ok();
            assert!(plain.is_some() == want.is_some(), "{t}");
        }
        let plain = started.elapsed().as_secs_f64() * 1000.0 / times.len() as f64;
        println!(
            "{rows} rows, {} ts index: binary search {search:.3} ms a jump; plain query {plain:.1} ms",
            if with_index { "with a" } else { "no" }
        );
    }
}
