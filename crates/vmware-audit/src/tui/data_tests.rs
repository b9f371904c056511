//! Tests of `data`.
use super::*;
use std::time::Duration;
use vmware_policy::audit::{AuditEngine, Record};

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
    let r = Reader::open(&db).unwrap();
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
    let (newer, _, exhausted) = page(&r, &f, None, Anchor::After(edge2 + 29), 100, 30, &never)
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
    let (rows, edge, _) = page(&r, &f, None, Anchor::At(64), 100, 10, &never)
        .unwrap()
        .unwrap();
    assert_eq!(
        (rows.first().unwrap().id, rows.last().unwrap().id),
        (55, 64)
    );
    assert_eq!(edge, 55);
}

#[test]
fn a_search_scans_past_rows_that_do_not_match() {
    let (_d, db, _e) = db_with(200);
    let r = Reader::open(&db).unwrap();
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
    let r = Reader::open(&db).unwrap();
    // Not ASCII: no SQL prefilter, so every row is scored in Rust.
    let s = Search::new("nö-such-thing-anywhere");
    let f = Filter::default();
    let newest = r.max_id().unwrap();
    let stale = page(&r, &f, Some(&s), Anchor::Newest, newest, 5, &|| true).unwrap();
    assert!(stale.is_none());
    let (rows, edge, exhausted) = page(&r, &f, Some(&s), Anchor::Newest, newest, 5, &|| false)
        .unwrap()
        .unwrap();
    assert!(rows.is_empty() && exhausted && edge == 1);
}

#[test]
fn the_worker_answers_pages_and_tails_new_rows() {
    let (_d, db, engine) = db_with(20);
    let (tx, rx) = std::sync::mpsc::channel();
    let w = Worker::spawn(db.clone(), tx, |r| r);
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
    let w = Worker::spawn(db.clone(), tx, |r| r);
    let ask = |g| Request::Page {
        generation: g,
        filter: Filter::default(),
        search: None,
        anchor: Anchor::Newest,
        limit: 10,
    };
    w.send(ask(1));
    let got = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(
        matches!(&got, Response::Problem(DbProblem::Missing(m)) if m.contains("audit.db")),
        "{got:?}"
    );
    assert!(!db.exists(), "a reader never creates the database");
    let engine = AuditEngine::new(&db);
    write(&engine, "list_vms", "ok", "{}");
    w.send(ask(2));
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
    let w = Worker::spawn(db, tx, |r| r);
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
    let w = Worker::spawn(db, tx, |r| r);
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
