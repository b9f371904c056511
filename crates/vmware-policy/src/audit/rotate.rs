//! Size-based rotation and archive retention, as compat.md describes it, made
//! safe for several processes, Python's included, writing at once.
//!
//! The Python package renames the live file to an archive and creates a new
//! one. Its writers open a connection per row, and SQLite opens a database's
//! `-wal`/`-shm` files lazily, by name: a connection opened just before such a
//! rename reads the archive's pages through the new file's WAL, and can commit
//! into the wrong file or fail. No lock closes that window, since opening
//! takes none. So our rotation never renames the live file. It *copies*:
//!
//! 1. a snapshot of the live file (`VACUUM INTO`, a read: writers go on) to a
//!    hidden partial file, made `0600` and fsynced;
//! 2. under SQLite's write lock, the rows the snapshot holds (ids up to its
//!    last) are cut from the live file, in time proportional to the rows kept,
//!    not the rows archived (the table is emptied with SQLite's truncate
//!    optimisation and the few newer rows put back with their ids; past
//!    128 MiB the table is swapped aside and deleted in short steps after
//!    step 3: see `cut`);
//! 3. the partial file gets its archive name with `link`, which never
//!    replaces an archive;
//!    The live file gets a new `db_uuid` in the same transaction (the copy
//!    keeps the old one): see `db_uuid`.
//! 4. the live file is compacted (`VACUUM`, then a passive checkpoint), so its
//!    size on disk, which Python's own threshold reads, drops again.
//!
//! The live file keeps its inode and its WAL, so no connection anywhere is
//! ever left on the wrong file, and ids go on increasing (AUTOINCREMENT) across
//! our rotations. A crash between steps loses nothing: before step 2 commits,
//! the live file still has every row and the partial file is dropped; after,
//! the partial file is complete and is given its archive name by the next
//! writer that opens the database or rotates. Our processes rotate one at a
//! time (an advisory lock file beside the database).

use std::path::{Path, PathBuf};

use chrono::Utc;
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::archive_order;
use super::conn::{self, file_id, sidecar};
use super::cut;

/// Archives kept beside the live database.
pub const MAX_ARCHIVES: usize = 5;

/// Rotate `path` if it has reached `threshold` bytes. Returns the archive made,
/// if any. Errors are reported, never fatal: the row is still written.
pub fn maybe_rotate(path: &Path, threshold: u64, keep: usize) -> Result<Option<PathBuf>, String> {
    match file_id(path) {
        Some((_, size)) if size >= threshold => {}
        _ => return Ok(None),
    }
    let _lock = RotationLock::acquire(path)?;
    finish_locked(path);
    let Some(archive) = rotate_locked(path, threshold)? else {
        return Ok(None);
    };
    cleanup_archives(path, keep);
    Ok(Some(archive))
}

/// Finish a rotation a crash interrupted, if there is one: give its complete
/// copy an archive name, or drop an incomplete one. Cheap when there is none
/// (one `stat`); writers call it when they open the database.
pub fn finish_interrupted(path: &Path) {
    if !partial_path(path).exists() {
        return;
    }
    if let Ok(_lock) = RotationLock::acquire(path) {
        finish_locked(path);
    }
}

fn finish_locked(path: &Path) {
    let partial = partial_path(path);
    if !partial.exists() {
        return;
    }
    match last_row(&partial) {
        // Complete, and the live file no longer has its last row: the cut
        // committed, so this copy is the only home of those rows.
        Some(last) if !last_row_is_live(path, &last) => {
            let _ = promote(path, &partial);
        }
        // Unreadable (the copy itself was interrupted), empty, or its rows
        // are all still in the live file: the rotation never took effect.
        _ => remove_partial(&partial),
    }
}

/// `(id, ts)` of the last row of a database file, if it can be read.
fn last_row(db: &Path) -> Option<(i64, String)> {
    let c = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
    c.query_row(
        "SELECT id, ts FROM audit_log ORDER BY id DESC LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .ok()
}

fn last_row_is_live(path: &Path, (id, ts): &(i64, String)) -> bool {
    let Ok(c) = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY) else {
        return false;
    };
    let _ = c.busy_timeout(std::time::Duration::from_millis(conn::BUSY_TIMEOUT_MS));
    c.query_row(
        "SELECT 1 FROM audit_log WHERE id = ?1 AND ts = ?2",
        rusqlite::params![id, ts],
        |_| Ok(()),
    )
    .optional()
    // Cannot tell: keep the copy (a duplicate is better than a loss).
    .is_ok_and(|found| found.is_some())
}

/// The hidden copy a rotation in progress writes (never an archive name).
fn partial_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.rotating"))
}

fn remove_partial(partial: &Path) {
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let _ = std::fs::remove_file(sidecar(partial, suffix));
    }
}

fn rotate_locked(path: &Path, threshold: u64) -> Result<Option<PathBuf>, String> {
    let c = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(|e| format!("rotation: cannot open {}: {e}", path.display()))?;
    c.busy_timeout(std::time::Duration::from_millis(conn::BUSY_TIMEOUT_MS))
        .map_err(|e| e.to_string())?;
    conn::persist_wal(&c);
    // The rows an earlier rotation swapped aside go first: no rotation
    // (whose copy would hold them again) until they are gone.
    if cut::pending(&c) {
        if cut::drain(&c, cut::BUDGET) {
            compact(&c);
        }
        return Ok(None);
    }
    // The size that counts is the database's own, WAL included and free pages
    // excluded: the file on disk stays large after a rotation until a
    // checkpoint can shrink it.
    let (size, free): (i64, i64) = c
        .query_row(
            "SELECT (page_count - freelist_count) * page_size, freelist_count * page_size \
             FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(|e| format!("rotation: cannot read {}: {e}", path.display()))?;
    if (size as u64) < threshold {
        if (free as u64) >= threshold {
            // Emptied by a drain that finished outside a rotation: the file
            // on disk would stay large, and every write would come here.
            compact(&c);
        } else {
            let _ = c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        }
        return Ok(None);
    }
    let partial = partial_path(path);
    remove_partial(&partial);
    snapshot(&c, &partial)?;
    let Some((last, _)) = last_row(&partial) else {
        remove_partial(&partial);
        return Ok(None);
    };
    crash_point("copied");
    match cut::cut(&c, last, size as u64) {
        Ok(true) => {}
        Ok(false) => {
            // Renamed under us by another process's rotation: nothing cut.
            remove_partial(&partial);
            return Ok(None);
        }
        Err(e) => {
            // Rolled back, as a rule; but a commit that failed in its fsync may
            // still come back after a crash. Let the live file decide.
            finish_locked(path);
            return Err(format!("rotation: cannot remove archived rows: {e}"));
        }
    }
    crash_point("cut");
    let archive = promote(path, &partial)?;
    crash_point("named");
    if cut::drain(&c, cut::BUDGET) {
        compact(&c);
    }
    Ok(Some(archive))
}

/// For the crash tests: `VMWARE_POLICY_CRASH_AT=copied|cut|named|drained-once` ends the
/// process at that step of a rotation, as a power cut or a SIGKILL would.
pub(super) fn crash_point(step: &str) {
    if std::env::var_os("VMWARE_POLICY_CRASH_AT").is_some_and(|v| v == step) {
        std::process::abort();
    }
}

/// Step 1: a consistent copy of the live file, private and on disk.
fn snapshot(c: &Connection, partial: &Path) -> Result<(), String> {
    // Exclusively (O_EXCL never follows a link): a link planted at this
    // predictable name in a shared directory must not send the copy elsewhere.
    // Any earlier partial file was finished or dropped under the same lock.
    crate::home::create_exclusive(partial)
        .map_err(|e| format!("rotation: cannot create {}: {e}", partial.display()))?;
    let target = partial.to_string_lossy().into_owned();
    let copied = c
        .execute("VACUUM INTO ?1", [&target])
        .map_err(|e| format!("rotation: cannot copy the database: {e}"));
    let synced = copied.and_then(|_| {
        std::fs::File::open(partial)
            .and_then(|f| f.sync_all())
            .map_err(|e| format!("rotation: cannot sync {}: {e}", partial.display()))
    });
    if synced.is_err() {
        remove_partial(partial);
    }
    synced
}

/// Step 4: give the freed pages back to the file system. Best effort: a
/// reader in the middle of a long read may hold the checkpoint back, and a
/// later checkpoint (any writer's) finishes it.
fn compact(c: &Connection) {
    let _ = c.execute_batch("VACUUM");
    let _ = c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
}

/// Step 3: the partial copy takes an archive name, never replacing one.
fn promote(path: &Path, partial: &Path) -> Result<PathBuf, String> {
    let stamp = Utc::now().format("%Y%m%d-%H%M%S").to_string();
    for n in 0..1000 {
        let candidate = archive_name(path, &stamp, n);
        match std::fs::hard_link(partial, &candidate) {
            Ok(()) => {
                remove_partial(partial);
                sync_dir(path);
                return Ok(candidate);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(_) if !candidate.exists() => {
                // No hard links on this file system: check, then rename.
                std::fs::rename(partial, &candidate)
                    .map_err(|e| format!("rotation: cannot name the archive: {e}"))?;
                sync_dir(path);
                return Ok(candidate);
            }
            Err(e) => return Err(format!("rotation: cannot name the archive: {e}")),
        }
    }
    Err("rotation: no free archive name".into())
}

/// The directory entry of the new archive survives a power loss.
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
}

/// Whether an archive was named by our rotation (see `archive_name`).
pub fn is_our_archive(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
        n.ends_with(&format!("{OUR_MARK}.db")) || n.contains(&format!("{OUR_MARK}-"))
    })
}

/// What sets our archive names apart from Python's.
const OUR_MARK: &str = ".rs";

/// `audit.db` -> `audit.<stamp>.rs.db`, then `audit.<stamp>.rs-<n>.db`.
///
/// Python names its archives `audit.<stamp>.db` / `audit.<stamp>-<n>.db`,
/// picks a free one, checkpoints (up to 5 s), then `rename()`s over whatever
/// holds that name by then. An archive of ours under a name of that shape
/// could be replaced in that window and its rows lost; a name with `.rs` is
/// one Python never picks. It still matches Python's `audit.*.db` retention
/// glob and sorts by its time stamp.
fn archive_name(path: &Path, stamp: &str, n: usize) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = if n == 0 {
        format!("{stem}.{stamp}{OUR_MARK}.db")
    } else {
        format!("{stem}.{stamp}{OUR_MARK}-{n}.db")
    };
    path.with_file_name(name)
}

/// The archives of `path` (`<stem>.*.db` beside it), oldest first: in the
/// order their rows were written (`archive_order`).
pub fn archives(path: &Path) -> Vec<PathBuf> {
    let Some(dir) = path.parent() else {
        return Vec::new();
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!("{stem}.");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let found: Vec<archive_order::Found> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let is_archive =
                name.starts_with(&prefix) && name.ends_with(".db") && name.len() > prefix.len() + 3;
            let meta = e.metadata().ok()?;
            let mtime = meta.modified().ok()?;
            is_archive.then(|| archive_order::Found {
                path: e.path(),
                len: meta.len(),
                mtime,
            })
        })
        .collect();
    archive_order::oldest_first(found)
}

/// Keep only the `keep` newest archives, and any a running shipper has not
/// sent yet (`ship_hold`). Newest by their rows (`archive_order`); Python
/// goes by mtime, which a late checkpoint can move.
fn cleanup_archives(path: &Path, keep: usize) {
    let all = archives(path);
    let excess = all.len().saturating_sub(keep);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let held = super::ship_hold::unshipped(path, &all[..excess], now);
    for old in all[..excess].iter().filter(|a| !held.contains(a)) {
        // With the `-wal`/`-shm` a reader's open left beside it (a read-only
        // connection cannot remove them): nobody else would.
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(sidecar(old, suffix));
        }
    }
}

/// A `flock` on `<db>.rotate-lock`, released on drop: exclusive to rotate,
/// shared to open a connection (so no connection of ours is ever opened in
/// the middle of a rotation, next to sidecars about to be removed).
pub struct RotationLock {
    _file: std::fs::File,
}

impl RotationLock {
    fn acquire(path: &Path) -> Result<RotationLock, String> {
        RotationLock::take(path, libc::LOCK_EX)
    }

    /// The shared lock a writer holds while it opens its connection.
    pub fn shared(path: &Path) -> Result<RotationLock, String> {
        RotationLock::take(path, libc::LOCK_SH)
    }

    fn take(path: &Path, how: libc::c_int) -> Result<RotationLock, String> {
        let lock_path = sidecar(path, ".rotate-lock");
        let mut opts = std::fs::OpenOptions::new();
        opts.create(true).truncate(false).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // Never through a link: a planted one would create files elsewhere.
            opts.mode(0o600).custom_flags(libc::O_NOFOLLOW);
        }
        let file = opts
            .open(&lock_path)
            .map_err(|e| format!("rotation: cannot open {}: {e}", lock_path.display()))?;
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: a valid fd owned by `file` for the duration of the call.
            let rc = unsafe { libc::flock(file.as_raw_fd(), how) };
            if rc != 0 {
                return Err(format!(
                    "rotation: cannot lock {}: {}",
                    lock_path.display(),
                    std::io::Error::last_os_error()
                ));
            }
        }
        Ok(RotationLock { _file: file })
    }
}
