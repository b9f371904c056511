//! The audit log on real SQLite files and real processes: schema, migration,
//! permissions, lost rows, self-healing, rotation, group commit.

mod common;

use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{Home, all_rows, skill, skill_cmd};
use rusqlite::Connection;
use vmware_policy::audit::{Reader, rotate, schema};
use vmware_policy::{Appended, AuditEngine, AuditOptions, Record};

fn record(tool: &str, params: &str) -> Record {
    Record {
        skill: "test".into(),
        tool: tool.into(),
        params: params.into(),
        ..Record::default()
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_new_database_has_the_shared_schema_private_files_and_python_timestamps() {
    let home = Home::new();
    let dir = home.path().join("fresh");
    let db = dir.join("audit.db");
    let engine = AuditEngine::new(&db);
    assert!(matches!(
        engine.append(record("t", "{}")),
        Appended::Written(1)
    ));
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&db), 0o600);
    assert_eq!(mode(&dir.join("audit.db-wal")), 0o600);
    let conn = Connection::open(&db).unwrap();
    let cols = schema::existing_columns(&conn).unwrap();
    assert_eq!(cols, schema::COLUMNS);
    let journal: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
    let ts: String = conn
        .query_row("SELECT ts FROM audit_log", [], |r| r.get(0))
        .unwrap();
    let re = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$").unwrap();
    assert!(re.is_match(&ts), "{ts}");
}

#[test]
fn an_older_12_column_database_is_migrated_in_place_with_its_rows() {
    let home = Home::new();
    let conn = Connection::open(home.db()).unwrap();
    conn.execute_batch(
        "CREATE TABLE audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, ts TEXT NOT NULL, skill TEXT NOT NULL, \
         tool TEXT NOT NULL, params TEXT NOT NULL DEFAULT '{}', result TEXT NOT NULL DEFAULT '{}', \
         status TEXT NOT NULL DEFAULT 'ok', duration_ms INTEGER NOT NULL DEFAULT 0, agent TEXT NOT NULL DEFAULT 'unknown', \
         workflow_id TEXT NOT NULL DEFAULT '', user TEXT NOT NULL DEFAULT 'unknown', risk_level TEXT NOT NULL DEFAULT 'low');
         INSERT INTO audit_log (ts, skill, tool, status) VALUES ('2025-01-01T00:00:00+00:00', 'aiops', 'old_a', 'ok');
         INSERT INTO audit_log (ts, skill, tool, status) VALUES ('2025-01-02T00:00:00+00:00', 'aiops', 'old_b', 'denied');",
    )
    .unwrap();
    drop(conn);
    // A reader reads it as it is and never migrates.
    let before = Reader::open(&home.db()).unwrap().latest(10).unwrap();
    assert_eq!(before.len(), 2);
    assert_eq!(before[0].surface, "");
    let cols = schema::existing_columns(&Connection::open(home.db()).unwrap()).unwrap();
    assert_eq!(cols.len(), 12);

    let engine = AuditEngine::new(home.db());
    assert!(matches!(
        engine.append(record("new", "{}")),
        Appended::Written(3)
    ));
    let cols = schema::existing_columns(&Connection::open(home.db()).unwrap()).unwrap();
    assert_eq!(cols, schema::COLUMNS);
    let rows = Reader::open(&home.db()).unwrap().after(0, 10).unwrap();
    let tools: Vec<_> = rows
        .iter()
        .map(|r| (r.tool.as_str(), r.status.as_str(), r.role.as_str()))
        .collect();
    assert_eq!(
        tools,
        [
            ("old_a", "ok", ""),
            ("old_b", "denied", ""),
            ("new", "ok", "")
        ]
    );
}

#[test]
fn a_database_with_columns_we_do_not_know_still_works() {
    let home = Home::new();
    let conn = Connection::open(home.db()).unwrap();
    conn.execute_batch(schema::CREATE_TABLE).unwrap();
    conn.execute_batch("ALTER TABLE audit_log ADD COLUMN tenant TEXT NOT NULL DEFAULT 'blue'")
        .unwrap();
    drop(conn);
    let engine = AuditEngine::new(home.db());
    assert!(matches!(
        engine.append(record("t", "{}")),
        Appended::Written(1)
    ));
    assert_eq!(
        Reader::open(&home.db()).unwrap().latest(1).unwrap()[0].tool,
        "t"
    );
}

#[test]
fn a_row_that_cannot_be_written_is_counted_and_writing_heals_by_itself() {
    let home = Home::new();
    // The home "directory" is a regular file: nothing can be created under it.
    let blocker = home.path().join("home");
    std::fs::write(&blocker, "not a directory").unwrap();
    let engine = AuditEngine::new(blocker.join("audit.db"));
    assert_eq!(engine.append(record("a", "{}")), Appended::Lost);
    assert_eq!(engine.append(record("b", "{}")), Appended::Lost);
    assert_eq!(engine.lost_rows(), 2);
    std::fs::remove_file(&blocker).unwrap();
    assert!(matches!(
        engine.append(record("c", "{}")),
        Appended::Written(1)
    ));
    assert_eq!(engine.lost_rows(), 2);
}

#[test]
fn a_lost_row_is_reported_on_stderr_and_never_breaks_the_tool_call() {
    let home = Home::new();
    let blocker = home.path().join("home");
    std::fs::write(&blocker, "x").unwrap();
    let out = skill(&blocker, &["list_dfw_policies"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the call itself succeeds: {stdout} {stderr}"
    );
    assert!(
        stdout.contains("allowed") && stdout.contains("web-tier"),
        "{stdout}"
    );
    let lines: Vec<_> = stderr
        .lines()
        .filter(|l| l.contains("audit row lost"))
        .collect();
    assert_eq!(lines.len(), 1, "one line per lost row: {stderr}");
    assert!(
        lines[0].contains("nsx_security.list_dfw_policies") && lines[0].contains("audit.db"),
        "{}",
        lines[0]
    );
}

#[test]
fn a_deleted_database_or_directory_heals_on_the_next_write() {
    let home = Home::new();
    let dir = home.path().join("h");
    let db = dir.join("audit.db");
    let engine = AuditEngine::new(&db);
    assert!(matches!(
        engine.append(record("a", "{}")),
        Appended::Written(_)
    ));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    assert!(matches!(
        engine.append(record("b", "{}")),
        Appended::Written(1)
    ));
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(matches!(
        engine.append(record("c", "{}")),
        Appended::Written(1)
    ));
    assert_eq!(Reader::open(&db).unwrap().latest(5).unwrap()[0].tool, "c");
    assert_eq!(engine.lost_rows(), 0);
}

#[test]
fn rotation_archives_at_the_threshold_and_keeps_five() {
    let home = Home::new();
    let engine = AuditEngine::with_options(
        home.db(),
        AuditOptions {
            rotate_bytes: 16 * 1024,
            ..AuditOptions::default()
        },
    );
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(1500));
    let mut written = 0;
    while rotate::archives(&home.db()).len() < 4 {
        assert!(matches!(
            engine.append(record(&format!("t{written}"), &big)),
            Appended::Written(_)
        ));
        written += 1;
    }
    let names: Vec<String> = rotate::archives(&home.db())
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let re = regex::Regex::new(r"^audit\.\d{8}-\d{6}\.rs(-\d+)?\.db$").unwrap();
    assert!(names.iter().all(|n| re.is_match(n)), "{names:?}");
    // Nothing lost across the live file and its archives, in order.
    let tools: Vec<String> = all_rows(&home.db()).into_iter().map(|r| r.tool).collect();
    assert_eq!(
        tools,
        (0..written).map(|i| format!("t{i}")).collect::<Vec<_>>()
    );
    for a in rotate::archives(&home.db()) {
        assert_eq!(mode(&a), 0o600);
        let c = Connection::open(&a).unwrap();
        let ok: String = c
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
    }
    // Retention: at most five archives, each deleted with the -wal/-shm a
    // reader's read-only open left beside it.
    while rotate::archives(&home.db()).len() < 5 {
        engine.append(record("more", &big));
    }
    let oldest = rotate::archives(&home.db()).remove(0);
    let beside = |suffix: &str| {
        let mut p = oldest.clone().into_os_string();
        p.push(suffix);
        std::path::PathBuf::from(p)
    };
    for suffix in ["-wal", "-shm"] {
        std::fs::write(beside(suffix), b"").unwrap();
    }
    // Until the next rotation has made a sixth and retention removed one.
    for _ in 0..2000 {
        if !oldest.exists() {
            break;
        }
        engine.append(record("more", &big));
    }
    assert!(!oldest.exists(), "the oldest archive was removed");
    assert_eq!(rotate::archives(&home.db()).len(), 5);
    for suffix in ["-wal", "-shm"] {
        assert!(
            !beside(suffix).exists(),
            "{suffix} of a deleted archive left"
        );
    }
}

#[test]
fn rows_keep_going_to_the_live_file_after_another_writer_rotates_it() {
    let home = Home::new();
    let long_lived = AuditEngine::new(home.db());
    long_lived.append(record("before", "{}"));
    // Another writer (own connection, small threshold) crosses the threshold.
    let other = AuditEngine::with_options(
        home.db(),
        AuditOptions {
            rotate_bytes: 8 * 1024,
            ..AuditOptions::default()
        },
    );
    let pad = format!("{{\"pad\": \"{}\"}}", "y".repeat(2000));
    while rotate::archives(&home.db()).is_empty() {
        other.append(record("filler", &pad));
    }
    long_lived.append(record("after", "{}"));
    let live: Vec<String> = Reader::open(&home.db())
        .unwrap()
        .after(0, 1000)
        .unwrap()
        .into_iter()
        .map(|r| r.tool)
        .collect();
    assert!(
        live.contains(&"after".to_string()),
        "the row went to the archive: live = {live:?}"
    );
    let everything: Vec<String> = all_rows(&home.db()).into_iter().map(|r| r.tool).collect();
    assert_eq!(everything.iter().filter(|t| *t == "before").count(), 1);
    assert_eq!(everything.iter().filter(|t| *t == "after").count(), 1);
}

#[test]
fn concurrent_appends_share_transactions_and_every_row_is_written_once() {
    let home = Home::new();
    let engine = AuditEngine::new(home.db());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let e = engine.clone();
            std::thread::spawn(move || {
                (0..150)
                    .map(|i| {
                        match e.append(record("conc", &format!("{{\"t\": {t}, \"i\": {i}}}"))) {
                            Appended::Written(id) => id,
                            Appended::Lost => panic!("lost row"),
                        }
                    })
                    .collect::<Vec<i64>>()
            })
        })
        .collect();
    let ids: Vec<i64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 1200);
    let params: HashSet<String> = Reader::open(&home.db())
        .unwrap()
        .after(0, 5000)
        .unwrap()
        .into_iter()
        .map(|r| r.params)
        .collect();
    assert_eq!(params.len(), 1200);
}

#[test]
fn writer_processes_crossing_the_threshold_at_once_lose_no_row() {
    let home = Home::new();
    let children: Vec<_> = (0..4)
        .map(|w| {
            skill_cmd(
                home.path(),
                &[
                    "list_dfw_policies",
                    &format!("writer={w}"),
                    "--seq",
                    "--repeat",
                    "150",
                    "--rotate-bytes",
                    "60000",
                ],
            )
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let archives = rotate::archives(&home.db());
    assert!(!archives.is_empty(), "the test must rotate");
    assert!(
        archives.len() < 5,
        "retention would drop rows; lower the row count ({})",
        archives.len()
    );
    let seen: Vec<(i64, i64)> = all_rows(&home.db())
        .into_iter()
        .map(|r| {
            let p: serde_json::Value = serde_json::from_str(&r.params).unwrap();
            (p["writer"].as_i64().unwrap(), p["seq"].as_i64().unwrap())
        })
        .collect();
    let unique: HashSet<_> = seen.iter().copied().collect();
    assert_eq!(seen.len(), 600, "every row exactly once");
    assert_eq!(unique.len(), 600);
}
