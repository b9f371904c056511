//! The order of a database's archives: the order their rows were written.
//!
//! Modification times do not give it. A renamed archive (Python's rotation)
//! can still take a late checkpoint, our writer's salvage of frames
//! committed before the rename, which moves its mtime past an archive made
//! after it; and two rotations in one second share a name stamp. The rows
//! do give it: every row of a later archive was committed after every row
//! of an earlier one, and at most one row per writer process can be stamped
//! before a rotation and committed after it. So the newest stamp among an
//! archive's last rows orders it, with the mtime for an archive with no
//! readable rows.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use rusqlite::{Connection, OpenFlags};

/// How many of an archive's last rows are read for its stamp: more than the
/// writers that could have a row in flight across one rotation.
const LAST_ROWS: i64 = 64;

/// Stamps already read, by path, valid while the file's size and mtime stay
/// the same (the TUI asks for the list on every poll).
static STAMPS: Mutex<Option<HashMap<PathBuf, Known>>> = Mutex::new(None);

#[derive(Clone)]
struct Known {
    len: u64,
    mtime: SystemTime,
    stamp: String,
}

/// One archive found on disk.
pub(super) struct Found {
    pub path: PathBuf,
    pub len: u64,
    pub mtime: SystemTime,
}

/// `found`, oldest first.
pub(super) fn oldest_first(found: Vec<Found>) -> Vec<PathBuf> {
    let mut cache = STAMPS.lock().unwrap_or_else(|p| p.into_inner());
    let cache = cache.get_or_insert_with(HashMap::new);
    let mut keyed: Vec<(String, SystemTime, PathBuf)> = found
        .into_iter()
        .map(|f| {
            let stamp = match cache.get(&f.path) {
                Some(k) if k.len == f.len && k.mtime == f.mtime => k.stamp.clone(),
                _ => {
                    let stamp = newest_stamp(&f.path).unwrap_or_else(|| iso(f.mtime));
                    cache.insert(
                        f.path.clone(),
                        Known {
                            len: f.len,
                            mtime: f.mtime,
                            stamp: stamp.clone(),
                        },
                    );
                    stamp
                }
            };
            (stamp, f.mtime, f.path)
        })
        .collect();
    // Forget files that are gone from this directory (deleted archives).
    if let Some(dir) = keyed
        .first()
        .and_then(|k| k.2.parent())
        .map(Path::to_path_buf)
    {
        cache.retain(|p, _| p.parent() != Some(&dir) || keyed.iter().any(|k| &k.2 == p));
    }
    keyed.sort();
    keyed.into_iter().map(|(_, _, p)| p).collect()
}

/// The newest `ts` among the archive's last rows; `None` when it has no rows
/// or cannot be read now.
///
/// Opened `immutable`: a plain read-only open of a file in WAL mode creates
/// its `-wal` and `-shm` beside it and cannot remove them, and this runs in
/// every writer's rotation. An archive's rows are in its file (Python
/// checkpoints before its rename, ours is a copy); a frame still in a WAL
/// can only make one stamp a little early.
fn newest_stamp(path: &Path) -> Option<String> {
    let path = path.to_str()?;
    // `?` `#` `%` mean something in a URI: no stamp for such a path (the mtime).
    if path.contains(['?', '#', '%']) {
        return None;
    }
    let conn = Connection::open_with_flags(
        format!("file:{path}?immutable=1"),
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )
    .ok()?;
    conn.query_row(
        "SELECT MAX(ts) FROM (SELECT ts FROM audit_log ORDER BY id DESC LIMIT ?1)",
        [LAST_ROWS],
        |r| r.get::<_, Option<String>>(0),
    )
    .ok()
    .flatten()
}

/// A time as the rows stamp it (UTC, microseconds, `+00:00`), so an mtime
/// sorts among row stamps.
fn iso(t: SystemTime) -> String {
    let t: chrono::DateTime<chrono::Utc> = t.into();
    t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}
