//! A sidecar whose database is gone (an archive deleted by rotation's
//! cleanup, a live file replaced) is removed when the next sidecar is made;
//! the sidecars of files still there, and other tools' databases, are left.

use std::path::{Path, PathBuf};

use chrono::Utc;
use vmware_policy::audit::{Filter, Reader, generate, sidecar};

fn index_it(db: &Path) {
    let reader = Reader::open(db).unwrap();
    let f = Filter {
        statuses: vec!["denied".into()],
        ..Filter::default()
    };
    sidecar::narrow(&reader, &f);
}

fn sidecars(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(sidecar::dir_for(&dir.join("audit.db")))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sqlite"))
        .collect();
    v.sort();
    v
}

#[test]
fn sidecars_of_deleted_files_are_removed_when_the_next_one_is_made() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("audit.db");
    let kept = dir.path().join("audit.20261101T000000.db");
    let deleted = dir.path().join("audit.20261102T000000.db");
    for (i, db) in [&kept, &deleted, &live].into_iter().enumerate() {
        generate::generate(db, 2_000, 3, i as u64 + 1, Utc::now()).unwrap();
        index_it(db);
    }
    // Another tool's database beside them names no sidecar and stops nothing.
    rusqlite::Connection::open(dir.path().join("other.db"))
        .unwrap()
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    let before = sidecars(dir.path());
    assert_eq!(before.len(), 3, "{before:?}");

    // The cleanup deletes an archive: nothing is made, nothing removed yet.
    std::fs::remove_file(&deleted).unwrap();
    index_it(&live);
    assert_eq!(sidecars(dir.path()), before);

    // The live file is replaced (a new file under the name): its new
    // sidecar is made, and the two whose files are gone are removed.
    std::fs::remove_file(&live).unwrap();
    generate::generate(&live, 2_000, 3, 9, Utc::now()).unwrap();
    index_it(&live);
    let after = sidecars(dir.path());
    assert_eq!(after.len(), 2, "{after:?}");
    assert_eq!(
        before.iter().filter(|p| after.contains(p)).count(),
        1,
        "one of the old sidecars is left: the kept archive's"
    );
    // Both are the ones in use: reading the kept archive and the new live
    // file makes no new sidecar.
    index_it(&kept);
    index_it(&live);
    assert_eq!(sidecars(dir.path()), after);
}
