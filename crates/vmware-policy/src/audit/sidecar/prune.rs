//! Sidecars outlive the files they index: an archive deleted by rotation's
//! cleanup (ours or Python's) leaves its sidecar behind. When a new sidecar
//! is made (after a rotation, the moment archives are deleted), the ones no
//! database beside it is named by are removed.

use std::collections::HashSet;
use std::path::Path;

use super::super::query::{ReadError, Reader};
use super::{identity, remove};

/// Remove the sidecars in `index_dir` that no `*.db` file in `db_dir` is
/// named by. Best effort: a sidecar removed by mistake costs a rebuild.
pub(super) fn prune(db_dir: &Path, index_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(db_dir) else {
        return;
    };
    let mut named: HashSet<String> = HashSet::new();
    for e in entries.flatten() {
        let path = e.path();
        let is_db =
            path.extension().is_some_and(|x| x == "db") && e.file_type().is_ok_and(|t| t.is_file());
        if !is_db {
            continue;
        }
        match Reader::open(&path).map(|r| identity(&r)) {
            Ok(Ok(Some(name))) => {
                named.insert(name);
            }
            // Not an audit database (another tool's file): it names none.
            Err(ReadError::Sqlite(e)) | Ok(Err(e)) if !busy(&e) => {}
            Err(ReadError::Missing(_) | ReadError::NotAFile(_)) | Ok(Ok(None)) => {}
            // Busy (a rotation, a migration): keep everything this time.
            Err(ReadError::Sqlite(_)) | Ok(Err(_)) => return,
        }
    }
    let Ok(sidecars) = std::fs::read_dir(index_dir) else {
        return;
    };
    for e in sidecars.flatten() {
        let path = e.path();
        if path.extension().is_none_or(|x| x != "sqlite") {
            continue;
        }
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !named.contains(&stem) {
            remove(&path);
        }
    }
}

fn busy(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if matches!(
        f.code,
        rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
    ))
}
