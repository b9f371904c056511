//! Tests of `data`: the sidecar part a page needs, built with progress.
use super::*;
use std::time::Duration;
use vmware_policy::audit::{Order, Reader};

#[test]
fn a_first_substring_search_on_a_large_file_says_it_is_indexing_then_pages() {
    use crate::tui::search::{Mode, SearchSpec};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    vmware_policy::audit::generate::generate(&db, 60_000, 5, 3, chrono::Utc::now()).unwrap();
    // An object id from one row's result.
    let result: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT result FROM audit_log WHERE id = 4242", [], |r| {
            r.get(0)
        })
        .unwrap();
    let needle = result
        .split('"')
        .find(|s| s.starts_with("obj-"))
        .expect("an object id")
        .to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    let w = Worker::spawn(db.clone(), false, tx, |r| r);
    w.send(Request::Page {
        generation: 1,
        filter: Filter::default(),
        search: Some(SearchSpec::new(&needle, Mode::Substring)),
        anchor: Anchor::Newest,
        limit: 50,
    });
    let mut said = Vec::new();
    let rows = loop {
        match rx.recv_timeout(Duration::from_secs(60)).unwrap() {
            Response::Indexing { done, total } => said.push((done, total)),
            Response::Page { rows, .. } => break rows,
            other => panic!("{other:?}"),
        }
    };
    // Said before the page, ending at done = total (the line then goes).
    assert!(!said.is_empty(), "no progress before the first page");
    assert!(said.iter().all(|(d, t)| d <= t && *t >= 50_000), "{said:?}");
    assert!(said.last().is_some_and(|(d, t)| d == t), "{said:?}");
    // The rows are a plain scan's.
    let plain = Filter {
        contains: Some(needle.clone()),
        ..Filter::default()
    };
    let expected: Vec<i64> = Reader::open(&db)
        .unwrap()
        .query(&plain, Order::NewestFirst, Some(50))
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), expected);
    // Built once: the next search says nothing.
    w.send(Request::Page {
        generation: 2,
        filter: Filter::default(),
        search: Some(SearchSpec::new("no-such-text", Mode::Substring)),
        anchor: Anchor::Newest,
        limit: 50,
    });
    let got = rx.recv_timeout(Duration::from_secs(60)).unwrap();
    assert!(matches!(got, Response::Page { .. }), "{got:?}");
}
