//! Tests of `data`.
use super::*;
use crate::tui::paging::CHECK_EVERY;
use crate::tui::search::Search;
use std::path::PathBuf;
use std::time::Duration;
use vmware_policy::audit::{AuditEngine, Record};
use vmware_policy::audit::{History, Order, Reader};

fn write(engine: &AuditEngine, tool: &str, status: &str, params: &str) {
    engine.append(Record {
        skill: "vsphere".into(),
        tool: tool.into(),
        params: params.into(),
        status: status.into(),
        ..Record::default()
    });
}

fn db_with(n: usize) -> (tempfile::TempDir, PathBuf, AuditEngine) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let engine = AuditEngine::new(&db);
    for i in 0..n {
        let (tool, status) = if i % 10 == 3 {
            ("delete_vm", "denied")
        } else {
            ("list_vms", "ok")
        };
        write(
            &engine,
            tool,
            status,
            &format!("{{\"vm\": \"web-{i:03}\"}}"),
        );
    }
    (dir, db, engine)
}

#[test]
fn pages_walk_back_and_forth_without_gaps_or_repeats() {
    let (_d, db, _e) = db_with(100);
    let r = [Reader::open(&db).unwrap()];
    let never = || false;
    let f = Filter::default();
    let (rows, edge, exhausted) = page(&r, &f, None, Anchor::Newest, 100, 30, &never)
        .unwrap()
        .unwrap();
    assert_eq!(rows.first().unwrap().id, 71);
    assert_eq!(rows.last().unwrap().id, 100);
    assert!(!exhausted);
    let (older, edge2, _) = page(&r, &f, None, Anchor::Before(edge), 100, 30, &never)
        .unwrap()
        .unwrap();
    assert_eq!(
        (older.first().unwrap().id, older.last().unwrap().id),
        (41, 70)
    );
    let (newer, _, exhausted) = page(
        &r,
        &f,
        None,
        Anchor::After(Pos {
            id: edge2.id + 29,
            ..edge2
        }),
        100,
        30,
        &never,
    )
    .unwrap()
    .unwrap();
    assert_eq!(newer.first().unwrap().id, 71);
    assert!(exhausted || newer.len() == 30);
    // Never past the tail's cursor: rows after it arrive by the tail.
    let (rows, _, _) = page(&r, &f, None, Anchor::Newest, 50, 10, &never)
        .unwrap()
        .unwrap();
    assert_eq!(rows.last().unwrap().id, 50);
    // A jump: the rows up to the one jumped to, included, and older from there.
    let (rows, edge, _) = page(
        &r,
        &f,
        None,
        Anchor::At(Pos { file: 0, id: 64 }),
        100,
        10,
        &never,
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        (rows.first().unwrap().id, rows.last().unwrap().id),
        (55, 64)
    );
    assert_eq!(edge, Pos { file: 0, id: 55 });
}

#[test]
fn a_search_scans_past_rows_that_do_not_match() {
    let (_d, db, _e) = db_with(200);
    let r = [Reader::open(&db).unwrap()];
    let s = Search::new("web-013");
    let (rows, _, exhausted) = page(
        &r,
        &Filter::default(),
        Some(&s),
        Anchor::Newest,
        200,
        5,
        &|| false,
    )
    .unwrap()
    .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].params, "{\"vm\": \"web-013\"}");
    assert!(exhausted);
}

#[test]
fn a_newer_request_interrupts_a_scan_inside_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    vmware_policy::audit::generate::generate(&db, 5000, 1, 7, chrono::Utc::now()).unwrap();
    let mut r = Reader::open(&db).unwrap();
    let f = Filter {
        in_order: Some("no-such-thing".into()),
        ..Filter::default()
    };
    r.interrupt_when(Some(|| true));
    let e = r.query(&f, Order::NewestFirst, Some(10)).unwrap_err();
    assert!(e.to_string().contains("interrupt"), "{e}");
    r.interrupt_when(None::<fn() -> bool>);
    assert!(
        r.query(&f, Order::NewestFirst, Some(10))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_long_search_gives_up_when_a_newer_request_comes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    vmware_policy::audit::generate::generate(&db, 3 * CHECK_EVERY as u64, 1, 7, chrono::Utc::now())
        .unwrap();
    let r = [Reader::open(&db).unwrap()];
    // Not ASCII: no SQL prefilter, so every row is scored in Rust.
    let s = Search::new("nö-such-thing-anywhere");
    let f = Filter::default();
    let newest = r[0].max_id().unwrap();
    let stale = page(&r, &f, Some(&s), Anchor::Newest, newest, 5, &|| true).unwrap();
    assert!(stale.is_none());
    let (rows, edge, exhausted) = page(&r, &f, Some(&s), Anchor::Newest, newest, 5, &|| false)
        .unwrap()
        .unwrap();
    assert!(rows.is_empty() && exhausted && edge.id == 1);
}

#[test]
fn the_worker_answers_pages_and_tails_new_rows() {
    let (_d, db, engine) = db_with(20);
    let (tx, rx) = std::sync::mpsc::channel();
    let w = Worker::spawn(db.clone(), false, tx, |r| r);
    w.send(Request::Page {
        generation: 1,
        filter: Filter {
            statuses: vec!["denied".into()],
            ..Filter::default()
        },
        search: None,
        anchor: Anchor::Newest,
        limit: 50,
    });
    let got = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    let Response::Page { rows, .. } = got else {
        panic!("{got:?}")
    };
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.status == "denied"));
    write(&engine, "power_off_vm", "ok", "{}");
    w.send(Request::Tail);
    let got = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    let Response::Tail { rows, .. } = got else {
        panic!("{got:?}")
    };
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].tool, "power_off_vm");
}

#[test]
fn a_missing_then_created_database_is_reported_then_read() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let (tx, rx) = std::sync::mpsc::channel();
    let w = Worker::spawn(db.clone(), false, tx, |r| r);
    w.send(newest_page(1));
    let got = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(
        matches!(&got, Response::Problem(DbProblem::Missing(m)) if m.contains("audit.db")),
        "{got:?}"
    );
    assert!(!db.exists(), "a reader never creates the database");
    let engine = AuditEngine::new(&db);
    write(&engine, "list_vms", "ok", "{}");
    w.send(newest_page(2));
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5)).unwrap(),
        Response::Ready
    );
    let got = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(
        matches!(got, Response::Page { ref rows, .. } if rows.len() == 1),
        "{got:?}"
    );
}

#[test]
fn a_file_that_is_not_sqlite_is_reported_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    std::fs::write(&db, vec![b'x'; 8192]).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let w = Worker::spawn(db, false, tx, |r| r);
    w.send(Request::Overview);
    let got = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(
        matches!(&got, Response::Problem(DbProblem::Unreadable(m)) if m.contains("move it aside")),
        "{got:?}"
    );
}

/// A typo'd key widens a rule: the editor asks the worker for its blast radius
/// over the real audit log, and the diagnostic says how many calls it would deny.
#[test]
fn a_widened_rule_gets_its_blast_radius_from_the_audit_log() {
    let (_d, db, _e) = db_with(50); // 5 delete_vm among 50 calls
    let (tx, rx) = std::sync::mpsc::channel();
    let w = Worker::spawn(db, false, tx, |r| r);
    let text = "deny:\n  - name: no-deletes\n    operation: [\"delete_*\"]\n".to_string();
    w.send(Request::BlastRadius { rev: 7, text });
    let mut got = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    if got == Response::Ready {
        got = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    }
    let Response::BlastRadius { rev, diagnostics } = got else {
        panic!("{got:?}")
    };
    assert_eq!(rev, 7);
    let d = diagnostics
        .iter()
        .find(|d| d.widens_rule == Some(0))
        .expect("the typo");
    assert!(
        d.message.contains("of the last 50 calls") && d.message.contains("would deny 50"),
        "without `operations` the rule denies every call: {}",
        d.message
    );
}

/// The history rotations leave: a Python archive (renamed away, so the next
/// file's ids restart at 1), one of ours (copied out, rows cut from the live
/// file) and the live file. Rows are a minute apart, the files in time order.
fn three_files() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-11-30T08:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let mut minute = 0;
    let mut write_n = |tool: &str, n: usize| {
        let engine = AuditEngine::new(&db);
        for i in 0..n {
            engine.append(Record {
                ts: Some(t0 + chrono::Duration::minutes(minute)),
                skill: "vsphere".into(),
                tool: tool.into(),
                params: format!("{{\"seq\": {i}}}"),
                status: if i % 4 == 0 { "denied" } else { "ok" }.into(),
                user: format!("{tool}-user"),
                ..Record::default()
            });
            minute += 1;
        }
    };
    write_n("first", 25);
    let python = dir.path().join("audit.20261130-090000.db");
    std::fs::rename(&db, &python).unwrap();
    let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&python)
        .unwrap()
        .set_modified(hour_ago)
        .unwrap();
    write_n("second", 35);
    vmware_policy::audit::rotate::maybe_rotate(&db, 0, 10).unwrap();
    write_n("third", 20);
    assert_eq!(vmware_policy::audit::rotate::archives(&db).len(), 2);
    (dir, db)
}

fn files_of(db: &std::path::Path) -> Vec<Reader> {
    let mut files: Vec<Reader> = vmware_policy::audit::rotate::archives(db)
        .iter()
        .map(|a| Reader::open(a).unwrap())
        .collect();
    files.push(Reader::open(db).unwrap());
    files
}

fn history_in(db: &std::path::Path, order: Order) -> Vec<(String, String)> {
    let mut out = Vec::new();
    History::open(db, true)
        .unwrap()
        .for_each(&Filter::default(), order, None, |r| {
            out.push((r.tool, r.params));
            true
        })
        .unwrap();
    out
}

#[test]
fn pages_walk_the_archives_and_the_live_file_as_one_history() {
    let (_d, db) = three_files();
    let files = files_of(&db);
    let newest = files.last().unwrap().max_id().unwrap();
    let never = || false;
    let f = Filter::default();
    // Back from the newest row, 7 at a time, across both rotations.
    let mut seen: Vec<Row> = Vec::new();
    let mut anchor = Anchor::Newest;
    loop {
        let (rows, edge, exhausted) = page(&files, &f, None, anchor, newest, 7, &never)
            .unwrap()
            .unwrap();
        seen.splice(0..0, rows);
        if exhausted {
            break;
        }
        anchor = Anchor::Before(edge);
    }
    let oldest_first = history_in(&db, Order::OldestFirst);
    let got: Vec<_> = seen
        .iter()
        .map(|r| (r.tool.clone(), r.params.clone()))
        .collect();
    assert_eq!(got, oldest_first, "every row once, in order");
    assert!(seen.windows(2).all(|w| w[0].pos < w[1].pos));
    assert_eq!(seen[0].pos, Pos { file: 0, id: 1 });
    assert_eq!(seen[25].pos.file, 1, "ids restart in the next file");
    assert_eq!(seen.last().unwrap().pos.file, 2);
    // Forward from the oldest row, the same rows.
    let mut forward: Vec<Row> = Vec::new();
    let mut from = Pos::default();
    loop {
        let (rows, edge, exhausted) =
            page(&files, &f, None, Anchor::After(from), newest, 9, &never)
                .unwrap()
                .unwrap();
        forward.extend(rows);
        if exhausted {
            break;
        }
        from = edge;
    }
    assert_eq!(forward, seen);
    // A filter and a search reach every file too.
    let denied = Filter {
        statuses: vec!["denied".into()],
        ..Filter::default()
    };
    let (rows, _, exhausted) = page(&files, &denied, None, Anchor::Newest, newest, 100, &never)
        .unwrap()
        .unwrap();
    assert!(exhausted);
    assert_eq!(rows.len(), 7 + 9 + 5);
    let s = Search::new("second");
    let (rows, _, _) = page(&files, &f, Some(&s), Anchor::Newest, newest, 100, &never)
        .unwrap()
        .unwrap();
    assert_eq!(rows.len(), 35);
    assert!(rows.iter().all(|r| r.pos.file == 1));
}

/// The worker's next answer, past any `Ready` (said when a problem clears).
fn answer(rx: &std::sync::mpsc::Receiver<Response>) -> Response {
    loop {
        match rx.recv_timeout(Duration::from_secs(5)).unwrap() {
            Response::Ready => continue,
            r => return r,
        }
    }
}

/// The newest page of everything, for `generation`.
fn newest_page(generation: u64) -> Request {
    Request::Page {
        generation,
        filter: Filter::default(),
        search: None,
        anchor: Anchor::Newest,
        limit: 1000,
    }
}

#[test]
fn the_worker_reads_the_archives_when_asked_and_jumps_into_them() {
    let (_d, db) = three_files();
    let (tx, rx) = std::sync::mpsc::channel();
    let w = Worker::spawn(db.clone(), false, tx, |r| r);
    let recv = || answer(&rx);
    w.send(newest_page(1));
    let Response::Page { rows, .. } = recv() else {
        panic!()
    };
    assert_eq!(rows.len(), 20, "the live file alone");
    w.send(Request::Archives(true));
    w.send(newest_page(2));
    let Response::Page { rows, .. } = recv() else {
        panic!()
    };
    assert_eq!(rows.len(), 80);
    w.send(Request::Overview);
    let Response::Overview(Ok(s)) = recv() else {
        panic!()
    };
    assert_eq!(s.total, 80);
    w.send(Request::UserValues);
    let Response::UserValues(Ok(users)) = recv() else {
        panic!()
    };
    assert_eq!(
        users,
        vec![
            ("second-user".to_string(), 35),
            ("first-user".to_string(), 25),
            ("third-user".to_string(), 20)
        ]
    );
    // 08:30 is in our archive (rows 08:25..09:00), 08:10 in Python's.
    for (ts, file, tool) in [
        ("2026-11-30T08:30:30Z", 1, "second"),
        ("2026-11-30T08:10:00Z", 0, "first"),
        ("2026-11-30T09:05:00Z", 2, "third"),
    ] {
        w.send(Request::Locate {
            generation: 3,
            ts: ts.into(),
        });
        let Response::Located { at: Some(at), .. } = recv() else {
            panic!("{ts}")
        };
        assert_eq!(at.file, file, "{ts}");
        w.send(Request::Page {
            generation: 3,
            filter: Filter::default(),
            search: None,
            anchor: Anchor::At(at),
            limit: 1,
        });
        let Response::Page { rows, .. } = recv() else {
            panic!()
        };
        assert_eq!(rows[0].tool, tool, "{ts}");
        assert!(rows[0].ts.as_str() <= ts, "{ts}: {}", rows[0].ts);
    }
    w.send(Request::Locate {
        generation: 3,
        ts: "2026-11-30T07:00:00Z".into(),
    });
    assert!(matches!(recv(), Response::Located { at: None, .. }));
    // Back to the live file alone.
    w.send(Request::Archives(false));
    w.send(newest_page(4));
    let Response::Page { rows, .. } = recv() else {
        panic!()
    };
    assert_eq!(rows.len(), 20);
}

#[test]
fn find_looks_past_the_window_across_files() {
    let (_d, db) = three_files();
    let (tx, rx) = std::sync::mpsc::channel();
    let w = Worker::spawn(db.clone(), true, tx, |r| r);
    let recv = || answer(&rx);
    let find = |from, forward, search: Option<&str>| Request::Find {
        generation: 1,
        filter: Filter {
            statuses: vec!["denied".into()],
            ..Filter::default()
        },
        search: search.map(|q| {
            super::super::search::SearchSpec::new(q, super::super::search::Mode::Substring)
        }),
        find: super::super::search::SearchSpec::new("first", super::super::search::Mode::Substring),
        from,
        forward,
    };
    // Back from the live file's first row: the newest denied "first" row
    // (seq 24) in Python's archive.
    w.send(find(Pos { file: 2, id: 1 }, false, None));
    assert_eq!(
        recv(),
        Response::Found {
            generation: 1,
            forward: false,
            at: Some(Pos { file: 0, id: 25 })
        }
    );
    // With the view's own search too: seq 20 is the newest that has a 0.
    w.send(find(Pos { file: 2, id: 1 }, false, Some("\"seq\": 20")));
    assert_eq!(
        recv(),
        Response::Found {
            generation: 1,
            forward: false,
            at: Some(Pos { file: 0, id: 21 })
        }
    );
    // Forward from there: nothing more.
    w.send(find(Pos { file: 0, id: 25 }, true, None));
    assert!(matches!(recv(), Response::Found { at: None, .. }));
}

#[test]
fn a_rotation_while_reading_the_archives_brings_the_new_archive_in() {
    let (_d, db) = three_files();
    let (tx, rx) = std::sync::mpsc::channel();
    let w = Worker::spawn(db.clone(), true, tx, |r| r);
    let recv = || answer(&rx);
    w.send(newest_page(1));
    let Response::Page { rows, .. } = recv() else {
        panic!()
    };
    assert_eq!(rows.len(), 80);
    // The live file (20 rows) rotates away under the reader; 5 rows follow.
    vmware_policy::audit::rotate::maybe_rotate(&db, 0, 10).unwrap();
    let engine = AuditEngine::new(&db);
    for _ in 0..5 {
        write(&engine, "fourth", "ok", "{}");
    }
    w.send(Request::Tail);
    let Response::Tail { rotated, .. } = recv() else {
        panic!()
    };
    assert!(rotated);
    w.send(newest_page(2));
    let Response::Page { rows, .. } = recv() else {
        panic!()
    };
    assert_eq!(rows.len(), 85, "three archives and the new live file");
    assert_eq!(rows.last().unwrap().pos.file, 3);
    assert_eq!(rows.last().unwrap().tool, "fourth");
}
