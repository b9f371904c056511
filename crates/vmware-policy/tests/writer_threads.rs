//! Who commits a row. A sync caller commits its own (no thread is started
//! for it, none is woken); an async row, or a receipt held and never waited
//! for, is committed by the engine's helper thread, started at the first one,
//! without anyone waiting.

use std::time::{Duration, Instant};

use vmware_policy::{AuditEngine, Record};

fn helper_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|c| c.trim() == "vmware-policy-a")
        })
        .count()
}

fn rows(db: &std::path::Path) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM audit_log", [], |r| r.get(0))
        .unwrap()
}

fn row(tool: &str) -> Record {
    Record {
        tool: tool.into(),
        ..Record::default()
    }
}

#[test]
fn sync_rows_are_committed_by_their_caller_and_held_receipts_by_the_helper() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let engine = AuditEngine::new(&db);
    let before = helper_threads();
    // Sync appends from four threads: all written, in one file, no helper.
    std::thread::scope(|s| {
        for t in 0..4 {
            let engine = engine.clone();
            s.spawn(move || {
                for i in 0..50 {
                    let a = engine.append(row(&format!("sync_{t}_{i}")));
                    assert!(matches!(a, vmware_policy::Appended::Written(id) if id > 0));
                }
            });
        }
    });
    assert_eq!(rows(&db), 200);
    assert_eq!(helper_threads(), before, "no thread for sync callers");

    // A receipt held, never waited for: the helper writes it all the same.
    let held = engine.submit(row("held"));
    let until = Instant::now() + Duration::from_secs(10);
    // (A thread names itself once it runs.)
    while helper_threads() == before && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(
        helper_threads(),
        before + 1,
        "the helper starts at the first"
    );
    while rows(&db) < 201 {
        assert!(
            Instant::now() < until,
            "a held receipt's row was not written"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(held.try_get().is_some());
    drop(engine);
    assert_eq!(helper_threads(), before, "the helper stops with the engine");
}
