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
use vmware_policy::audit::{Bucket, Filter, History, rotate, stats};
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
    Connection::open(db)
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
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
