//! Rotation by copy (`audit::rotate`): the live file keeps its inode and its
//! ids, its stats stay exact, its size on disk drops; a tail left behind reads
//! the archived rows from the archive, once; and a rotation interrupted at any
//! step is finished or dropped by the next writer, losing and doubling nothing.

mod common;

use std::collections::HashSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use common::{Home, all_rows};
use rusqlite::Connection;
use vmware_policy::audit::tail::Tail;
use vmware_policy::audit::{Bucket, Filter, History, Reader, rotate, stats};
use vmware_policy::{Appended, AuditEngine, AuditOptions, Record};

const THRESHOLD: u64 = 256 * 1024;

fn record(tool: &str) -> Record {
    Record {
        skill: "test".into(),
        tool: tool.into(),
        params: format!("{{\"pad\": \"{}\"}}", "x".repeat(700)),
        ..Record::default()
    }
}

fn engine(db: &Path) -> AuditEngine {
    AuditEngine::with_options(
        db.to_path_buf(),
        AuditOptions {
            rotate_bytes: THRESHOLD,
            max_archives: 50,
            ..AuditOptions::default()
        },
    )
}

fn write(e: &AuditEngine, tool: &str) -> i64 {
    match e.append(record(tool)) {
        Appended::Written(id) => id,
        other => panic!("{tool}: {other:?}"),
    }
}

/// The hidden copy a rotation in progress writes (`rotate::partial_path`).
fn partial(db: &Path) -> PathBuf {
    db.with_file_name(".audit.db.rotating")
}

fn integrity(db: &Path) -> String {
    common::scalar(db, "PRAGMA integrity_check")
}

#[test]
fn rotation_keeps_the_live_file_its_ids_and_exact_stats_and_shrinks_it() {
    let home = Home::new();
    let db = home.db();
    let e = engine(&db);
    write(&e, "t0");
    let inode = std::fs::metadata(&db).unwrap().ino();
    let mut n = 1;
    while rotate::archives(&db).len() < 3 {
        write(&e, &format!("t{n}"));
        n += 1;
    }
    // One file all along: no connection, ours or Python's, is left on an archive.
    assert_eq!(std::fs::metadata(&db).unwrap().ino(), inode);
    // Every row once, in order, ids increasing across the archives and the live file.
    let rows = all_rows(&db);
    let tools: Vec<String> = rows.iter().map(|r| r.tool.clone()).collect();
    assert_eq!(tools, (0..n).map(|i| format!("t{i}")).collect::<Vec<_>>());
    assert!(rows.windows(2).all(|w| w[1].id == w[0].id + 1));
    for a in rotate::archives(&db) {
        assert_eq!(integrity(&a), "ok");
        let mode = std::fs::metadata(&a).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", a.display());
    }
    assert_eq!(integrity(&db), "ok");
    // The file on disk is back under the threshold (Python's check reads it).
    assert!(std::fs::metadata(&db).unwrap().len() < THRESHOLD);
    assert!(!partial(&db).exists());
    // The live file's rollups count exactly its own rows.
    let h = History::open(&db, false).unwrap();
    let fast = stats::compute(&h, &Filter::default(), Bucket::Hour).unwrap();
    // A bound every row meets: the raw rows, not the sidecar.
    let scan = Filter {
        until: Some("\u{7f}".into()),
        ..Filter::default()
    };
    let slow = stats::compute(&h, &scan, Bucket::Hour).unwrap();
    assert_eq!(format!("{fast:?}"), format!("{slow:?}"));
    let live = common::all_rows_of(&db).len() as u64;
    assert_eq!(fast.total, live);
}

#[test]
fn a_tail_left_behind_by_two_rotations_reads_the_archived_rows_first_and_once() {
    let home = Home::new();
    let db = home.db();
    let e = engine(&db);
    for i in 0..5 {
        write(&e, &format!("t{i}"));
    }
    let mut tail = Tail::new(&db, 0);
    let first = tail.poll(&Filter::default()).unwrap();
    assert_eq!(first.rows.len(), 5);
    // Two rotations while the tail is not looking.
    let mut n = 5;
    while rotate::archives(&db).len() < 2 {
        write(&e, &format!("t{n}"));
        n += 1;
    }
    for _ in 0..3 {
        write(&e, &format!("t{n}"));
        n += 1;
    }
    let mut got = Vec::new();
    let mut rotated = false;
    loop {
        let p = tail.poll(&Filter::default()).unwrap();
        rotated |= p.rotated;
        if p.rows.is_empty() {
            break;
        }
        got.extend(p.rows.into_iter().map(|r| r.tool));
    }
    assert!(rotated, "the tail must say the live file was rotated");
    assert_eq!(got, (5..n).map(|i| format!("t{i}")).collect::<Vec<_>>());
    // And it goes on with the live file.
    write(&e, "after");
    let p = tail.poll(&Filter::default()).unwrap();
    assert_eq!(
        p.rows.iter().map(|r| &r.tool).collect::<Vec<_>>(),
        ["after"]
    );
}

/// A live file with rows, and a copy of it where a rotation puts its partial
/// copy; returns the copy's last id.
fn interrupted_after_the_copy(db: &Path, rows: usize) -> i64 {
    let e = AuditEngine::new(db.to_path_buf());
    for i in 0..rows {
        write(&e, &format!("t{i}"));
    }
    drop(e);
    let c = Connection::open(db).unwrap();
    c.execute(
        "VACUUM INTO ?1",
        [partial(db).to_string_lossy().into_owned()],
    )
    .unwrap();
    c.query_row("SELECT MAX(id) FROM audit_log", [], |r| r.get(0))
        .unwrap()
}

fn ids_everywhere(db: &Path) -> Vec<i64> {
    all_rows(db).into_iter().map(|r| r.id).collect()
}

#[test]
fn a_rotation_cut_short_after_its_cut_committed_is_finished_by_the_next_writer() {
    let home = Home::new();
    let db = home.db();
    let last = interrupted_after_the_copy(&db, 40);
    // The cut committed; the process died before the copy got its name.
    Connection::open(&db)
        .unwrap()
        .execute("DELETE FROM audit_log WHERE id <= ?1", [last])
        .unwrap();
    assert!(rotate::archives(&db).is_empty());
    let e = AuditEngine::new(db.clone());
    let id = write(&e, "next");
    assert_eq!(id, last + 1, "ids go on after the archived rows");
    assert!(!partial(&db).exists());
    assert_eq!(rotate::archives(&db).len(), 1);
    assert_eq!(ids_everywhere(&db), (1..=last + 1).collect::<Vec<_>>());
}

#[test]
fn a_rotation_cut_short_before_its_cut_is_dropped_without_doubling_a_row() {
    let home = Home::new();
    let db = home.db();
    let last = interrupted_after_the_copy(&db, 40);
    let e = AuditEngine::new(db.clone());
    write(&e, "next");
    assert!(!partial(&db).exists());
    assert!(rotate::archives(&db).is_empty());
    assert_eq!(ids_everywhere(&db), (1..=last + 1).collect::<Vec<_>>());
}

#[test]
fn a_copy_cut_short_while_being_written_is_dropped() {
    let home = Home::new();
    let db = home.db();
    let last = interrupted_after_the_copy(&db, 40);
    // Half a file: the power went while VACUUM INTO was writing it.
    let bytes = std::fs::read(partial(&db)).unwrap();
    std::fs::write(partial(&db), &bytes[..bytes.len() / 3]).unwrap();
    let e = AuditEngine::new(db.clone());
    write(&e, "next");
    assert!(!partial(&db).exists());
    assert!(rotate::archives(&db).is_empty());
    let ids: HashSet<i64> = ids_everywhere(&db).into_iter().collect();
    assert_eq!(ids, (1..=last + 1).collect());
}

#[test]
fn a_rotation_that_fails_still_writes_every_row_and_is_not_retried_on_every_write() {
    let home = Home::new();
    // Something in the way of the rotation's copy (as a full disk would be).
    // (Enough rows for the WAL to be checkpointed: the size read is the main
    // file's, as Python's.)
    std::fs::create_dir_all(partial(&home.db())).unwrap();
    let out = common::skill(
        home.path(),
        &[
            "list_dfw_policies",
            "--repeat",
            "1200",
            "--rotate-bytes",
            "49152",
        ],
    );
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.matches("rotation failed").count(),
        1,
        "one report, then a pause before the next try: {err}"
    );
    assert!(!err.contains("lost"), "{err}");
    assert_eq!(common::all_rows_of(&home.db()).len(), 1200);
    assert!(rotate::archives(&home.db()).is_empty());
}

#[test]
fn archives_are_read_in_the_order_their_rows_were_written_whatever_their_mtimes() {
    let home = Home::new();
    // Rows of ours, then the Python package's own rotation: a rename.
    let out = common::skill(home.path(), &["list_dfw_policies", "--repeat", "30"]);
    assert!(out.status.success());
    assert_eq!(
        common::run_python(home.path(), "rotate_now.py", &[]).trim(),
        "1"
    );
    let renamed = rotate::archives(&home.db()).remove(0);
    // Then our writer fills the new live file and rotates it by copy.
    let e = engine(&home.db());
    let mut n = 0;
    while rotate::archives(&home.db()).len() < 2 {
        write(&e, &format!("ours{n}"));
        n += 1;
    }
    write(&e, "live");
    drop(e);
    let copied = rotate::archives(&home.db()).remove(1);
    assert_ne!(renamed, copied);
    // A late checkpoint into the renamed file (our writer salvaging frames
    // committed before the rename) moves its mtime past the newer archive.
    let now = std::time::SystemTime::now();
    let set = |p: &Path, t: std::time::SystemTime| {
        std::fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(t)
            .unwrap()
    };
    set(&renamed, now + std::time::Duration::from_secs(60));
    set(&copied, now - std::time::Duration::from_secs(60));

    assert_eq!(rotate::archives(&home.db()), vec![renamed.clone(), copied]);
    // Reading the stamps left nothing beside the archive (a plain read-only
    // open of a WAL file makes a -wal and -shm it cannot remove).
    for suffix in ["-wal", "-shm"] {
        let mut p = renamed.clone().into_os_string();
        p.push(suffix);
        assert!(!Path::new(&p).exists(), "{p:?} left behind");
    }
    // And read as one history, every row in the order it was written.
    let tools: Vec<String> = all_rows(&home.db()).into_iter().map(|r| r.tool).collect();
    let mut want = vec!["list_dfw_policies".to_string(); 30];
    want.extend((0..n).map(|i| format!("ours{i}")));
    want.push("live".into());
    assert_eq!(tools, want);
}

/// A live file the Python package made (its own CREATE TABLE), grown by
/// `extra` generated rows: the rows to rotate, oldest first, by tool.
fn python_file_with(home: &Home, extra: u64) -> Vec<String> {
    common::run_python(home.path(), "write_rows.py", &[]);
    vmware_policy::audit::generate::generate(&home.db(), extra, 2, 9, chrono::Utc::now()).unwrap();
    all_rows(&home.db()).into_iter().map(|r| r.tool).collect()
}

/// Our skill, rotating on its first call, with the table swapped aside and
/// deleted in steps whatever the size (`cut`), and `env` on top.
fn rotate_in_steps(home: &Home, env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = common::skill_cmd(
        home.path(),
        &[
            "list_dfw_policies",
            "--rotate-bytes",
            "1",
            "--keep-archives",
            "50",
        ],
    );
    cmd.env("VMWARE_POLICY_STEP_CUT_BYTES", "0");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn table_aside(db: &Path) -> i64 {
    common::scalar(
        db,
        "SELECT COUNT(*) FROM sqlite_master WHERE name = 'audit_log_cut'",
    )
}

fn create_table(db: &Path) -> String {
    common::scalar(db, "SELECT sql FROM sqlite_master WHERE name = 'audit_log'")
}

#[test]
fn a_large_file_rotated_in_steps_archives_every_row_once_and_python_writes_on() {
    let home = Home::new();
    let before = python_file_with(&home, 5000);
    let table = create_table(&home.db());
    let out = rotate_in_steps(&home, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let archives = rotate::archives(&home.db());
    assert_eq!(archives.len(), 1);
    let archived: Vec<String> = Reader::open(&archives[0])
        .unwrap()
        .after(0, 100_000)
        .unwrap()
        .into_iter()
        .map(|r| r.tool)
        .collect();
    assert_eq!(archived, before, "the archive holds every row before");
    // The live file: the new row only, its id after the archive's, the old
    // table gone, the same CREATE TABLE, and sound.
    let live = Reader::open(&home.db()).unwrap().after(0, 100_000).unwrap();
    assert_eq!(live.len(), 1);
    let (_, archived_last) = Reader::open(&archives[0]).unwrap().id_bounds().unwrap();
    assert!(live[0].id > archived_last);
    assert_eq!(table_aside(&home.db()), 0);
    assert_eq!(create_table(&home.db()), table);
    assert_eq!(integrity(&home.db()), "ok");

    // The Python package writes on into the new table, ids still increasing.
    common::run_python(home.path(), "write_rows.py", &[]);
    let rows = all_rows(&home.db());
    assert!(rows.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(rows.len(), before.len() + 1 + (before.len() - 5000));
}

#[test]
fn a_rotation_killed_between_steps_loses_and_doubles_nothing_and_the_next_writer_finishes_it() {
    let home = Home::new();
    let before = python_file_with(&home, 5000);
    let out = rotate_in_steps(&home, &[("VMWARE_POLICY_CRASH_AT", "drained-once")]);
    assert!(!out.status.success(), "the process was to abort mid-drain");
    // The archive is named, the old rows wait aside, and no reader sees them twice.
    assert_eq!(rotate::archives(&home.db()).len(), 1);
    assert_eq!(table_aside(&home.db()), 1);
    // (The call that rotated died before its own row, as in a power cut.)
    let tools: Vec<String> = all_rows(&home.db()).into_iter().map(|r| r.tool).collect();
    assert_eq!(tools, before);

    // The next writer's open deletes the rest.
    let out = common::skill(home.path(), &["list_dfw_policies"]);
    assert!(out.status.success());
    assert_eq!(table_aside(&home.db()), 0);
    assert_eq!(integrity(&home.db()), "ok");
    let tools: Vec<String> = all_rows(&home.db()).into_iter().map(|r| r.tool).collect();
    assert_eq!(tools.len(), before.len() + 1);
    assert_eq!(tools[..before.len()], before[..]);
}

#[test]
fn a_large_table_aside_is_drained_a_budget_at_a_time_and_no_rotation_starts_meanwhile() {
    let home = Home::new();
    let before = python_file_with(&home, 200_000);
    let out = rotate_in_steps(&home, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(rotate::archives(&home.db()).len(), 1);
    assert_eq!(
        table_aside(&home.db()),
        1,
        "200,000 rows are not drained within one call's budget"
    );
    // Every later call (each past its 1-byte threshold) drains some more,
    // and none rotates while old rows wait aside.
    let mut calls = 1;
    while table_aside(&home.db()) == 1 {
        assert!(calls < 300, "never drained");
        let out = rotate_in_steps(&home, &[]);
        assert!(out.status.success());
        calls += 1;
        if table_aside(&home.db()) == 1 {
            assert_eq!(
                rotate::archives(&home.db()).len(),
                1,
                "a rotation began while rows waited aside"
            );
        }
    }
    assert!(calls > 2, "drained by {calls} calls");
    assert_eq!(integrity(&home.db()), "ok");
    // Every row once, in order: the archived ones, then one per call.
    let tools: Vec<String> = all_rows(&home.db()).into_iter().map(|r| r.tool).collect();
    assert_eq!(tools.len(), before.len() + calls);
    assert_eq!(tools[..before.len()], before[..]);
    // And the live file gave its pages back.
    let live = std::fs::metadata(home.db()).unwrap().len();
    assert!(live < 1 << 20, "live file still {live} bytes");
}
