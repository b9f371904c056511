//! Stats read from the sidecar's rollups equal stats grouped from the raw
//! rows, exactly, whatever the `since` boundary; rows the Python package
//! inserts are counted; and the shared file no longer carries rollups or the
//! trigger that made every writer pay for them.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::{Home, run_python};
use vmware_policy::audit::{Bucket, Filter, History, format::python_ts, generate, stats};

fn forced_scan(f: &Filter) -> Filter {
    // A bound every row meets (every ts sorts before DEL): same rows, but
    // not the sidecar's fast path.
    Filter {
        until: Some("\u{7f}".into()),
        ..f.clone()
    }
}

#[test]
fn rollups_and_raw_rows_give_the_same_stats() {
    let home = Home::new();
    let end = DateTime::parse_from_rfc3339("2026-11-21T12:34:56Z")
        .unwrap()
        .with_timezone(&Utc);
    generate::generate(&home.db(), 20_000, 10, 3, end).unwrap();
    let h = History::open(&home.db(), false).unwrap();
    for since in [
        None,
        Some(end - Duration::hours(77) - Duration::minutes(13)),
        Some(end - Duration::days(3)),
    ] {
        let f = Filter {
            since: since.map(python_ts),
            ..Filter::default()
        };
        for bucket in [Bucket::Hour, Bucket::Day] {
            let fast = stats::compute(&h, &f, bucket).unwrap();
            let slow = stats::compute(&h, &forced_scan(&f), bucket).unwrap();
            assert_eq!(
                format!("{fast:?}"),
                format!("{slow:?}"),
                "since {since:?} bucket {bucket:?}"
            );
            assert!(fast.total > 0);
        }
    }
}

#[test]
fn rows_inserted_by_python_are_counted_and_the_shared_file_holds_only_rows() {
    let home = Home::new();
    generate::generate(&home.db(), 500, 2, 1, Utc::now()).unwrap();
    let out = run_python(home.path(), "writer.py", &["py", "120"]);
    assert!(out.is_empty(), "{out}");
    let h = History::open(&home.db(), false).unwrap();
    let fast = stats::compute(&h, &Filter::default(), Bucket::Hour).unwrap();
    let slow = stats::compute(&h, &forced_scan(&Filter::default()), Bucket::Hour).unwrap();
    assert_eq!(fast.total, 620);
    assert_eq!(format!("{fast:?}"), format!("{slow:?}"));
    assert!(
        fast.by_skill
            .iter()
            .any(|(s, n)| s == "pyskill" && *n == 120)
    );
    let c = rusqlite::Connection::open(home.db()).unwrap();
    let derived: Vec<String> = c
        .prepare(
            "SELECT name FROM sqlite_master WHERE name NOT IN ('audit_log', 'sqlite_sequence', 'audit_meta') \
             AND name NOT LIKE 'sqlite_autoindex%'",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(derived.is_empty(), "{derived:?}");
}

/// The indexes version 2 kept in the shared file.
const V2_INDEXES: &str = "CREATE INDEX audit_log_ts ON audit_log(ts);
         CREATE INDEX audit_log_status ON audit_log(status);
         CREATE INDEX audit_log_tool ON audit_log(tool, skill);";

/// A file version 1 left with its rollups and trigger, and version 2 with its
/// indexes: the next writer drops them in one short transaction.
#[test]
fn an_older_file_loses_its_rollups_and_indexes_at_the_next_writer() {
    let home = Home::new();
    generate::generate(&home.db(), 60_000, 2, 1, Utc::now()).unwrap();
    let c = rusqlite::Connection::open(home.db()).unwrap();
    c.execute_batch(&format!(
        "CREATE TABLE audit_rollup_status (hour TEXT, status TEXT, n INTEGER);
         CREATE TRIGGER audit_rollup_insert AFTER INSERT ON audit_log BEGIN
             INSERT INTO audit_rollup_status VALUES (substr(NEW.ts, 1, 13), NEW.status, 1);
         END;
         {V2_INDEXES}",
    ))
    .unwrap();
    drop(c);
    let engine = vmware_policy::AuditEngine::new(home.db());
    engine.append(vmware_policy::Record::default());
    drop(engine);
    let left = common::scalar::<i64>(
        &home.db(),
        "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'audit_rollup%' \
         OR type = 'index' AND name LIKE 'audit_log_%'",
    );
    assert_eq!(left, 0);
    let rows = common::scalar::<i64>(&home.db(), "SELECT COUNT(*) FROM audit_log");
    assert_eq!(rows, 60_001, "no row lost");
}

/// The same while the Python package writes all along (a connection per row,
/// its 5 s busy timeout): an index read before the drop goes stale, the drop
/// is tried again (then takes the lock first), and neither side loses a row.
#[test]
fn indexes_are_dropped_while_a_python_writer_commits_and_no_row_is_lost() {
    const PY_ROWS: i64 = 1000;
    let home = Home::new();
    generate::generate(&home.db(), 60_000, 2, 1, Utc::now()).unwrap();
    let c = rusqlite::Connection::open(home.db()).unwrap();
    c.execute_batch(V2_INDEXES).unwrap();
    drop(c);
    let mut python =
        common::python_cmd(home.path(), "write_many.py", &["py", &PY_ROWS.to_string()])
            .spawn()
            .unwrap();
    // Ours opens once Python is writing.
    let started = std::time::Instant::now();
    while common::scalar::<i64>(&home.db(), "SELECT COUNT(*) FROM audit_log") < 60_020 {
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let engine = vmware_policy::AuditEngine::new(home.db());
    engine.append(vmware_policy::Record::default());
    drop(engine);
    let py_running = python.try_wait().unwrap().is_none();
    assert!(python.wait().unwrap().success());
    assert!(
        py_running,
        "Python was still writing when ours had dropped them"
    );
    let left = common::scalar::<i64>(
        &home.db(),
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'audit_log_%'",
    );
    assert_eq!(left, 0);
    let rows = common::scalar::<i64>(&home.db(), "SELECT COUNT(*) FROM audit_log");
    assert_eq!(rows, 60_001 + PY_ROWS, "no row lost");
}
