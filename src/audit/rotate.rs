//! Size-based rotation and archive retention, as compat.md describes it, made
//! safe for several processes crossing the threshold at once.
//!
//! Our processes rotate one at a time (an advisory lock file beside the
//! database). The rename happens while we hold SQLite's write lock on an empty,
//! checkpointed WAL, so no writer (Python's included) can commit into the file
//! being archived. Archives are created with `link`, which never replaces an
//! existing file, so no archive is ever overwritten.

use std::path::{Path, PathBuf};

use chrono::Utc;
use rusqlite::Connection;

use super::conn::{self, file_id, sidecar};

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
    // Another process may have rotated while we waited for the lock.
    match file_id(path) {
        Some((_, size)) if size >= threshold => {}
        _ => return Ok(None),
    }
    let archive = rotate_locked(path)?;
    cleanup_archives(path, keep);
    Ok(Some(archive))
}

fn rotate_locked(path: &Path) -> Result<PathBuf, String> {
    let c = Connection::open(path)
        .map_err(|e| format!("rotation: cannot open {}: {e}", path.display()))?;
    c.busy_timeout(std::time::Duration::from_millis(conn::BUSY_TIMEOUT_MS))
        .map_err(|e| e.to_string())?;
    // Closing this connection after the rename must not delete the new database's WAL.
    conn::persist_wal(&c);
    let wal = sidecar(path, "-wal");
    // Prepared before taking SQLite's write lock, so writers wait no longer.
    let fresh = fresh_database(path)?;
    for _ in 0..5 {
        // Copy every committed row into the main file and empty the WAL.
        let busy: i64 = c
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
            .map_err(|e| format!("rotation: checkpoint failed: {e}"))?;
        if busy != 0 {
            continue;
        }
        // Hold the write lock across the rename, so nothing commits in between.
        c.execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| format!("rotation: cannot lock: {e}"))?;
        let wal_empty = std::fs::metadata(&wal)
            .map(|m| m.len() == 0)
            .unwrap_or(true);
        if !wal_empty {
            let _ = c.execute_batch("ROLLBACK");
            continue;
        }
        let result = archive_file(path, &fresh);
        let _ = c.execute_batch("ROLLBACK");
        let _ = std::fs::remove_file(&fresh); // still there only if not renamed
        return result;
    }
    let _ = std::fs::remove_file(&fresh);
    Err("rotation: the database stayed busy; will try again on a later write".into())
}

/// The WAL and shared-memory files of the file being archived go before its
/// name does: a process that opens the path in between still opens the old
/// file (its rows land in the archive), and no new database can ever be
/// created next to the old file's sidecars and lose them when they are
/// removed. (Our own processes cannot open it then at all: they take the
/// rotation lock, shared, to open a connection.)
fn remove_sidecars(path: &Path) {
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(sidecar(path, suffix));
    }
}

/// A new, empty database with the schema, beside `path`, to take its name:
/// the live path then never names a missing or empty file, which a writer
/// that does not re-create the schema (the Python package) would fail on.
fn fresh_database(path: &Path) -> Result<PathBuf, String> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.new-{}", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(sidecar(&tmp, suffix));
    }
    let c = conn::open_writer(&tmp, conn::Durability::Full)?;
    c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .map_err(|e| format!("rotation: cannot prepare {}: {e}", tmp.display()))?;
    drop(c);
    // Its sidecars are ours alone (empty after the checkpoint): the new file
    // must not arrive with them.
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(sidecar(&tmp, suffix));
    }
    Ok(tmp)
}

/// Give the live file its archive name without ever replacing an archive,
/// and put a fresh database in its place in the same step.
fn archive_file(path: &Path, fresh: &Path) -> Result<PathBuf, String> {
    let stamp = Utc::now().format("%Y%m%d-%H%M%S").to_string();
    for n in 0..1000 {
        let candidate = archive_name(path, &stamp, n);
        match std::fs::hard_link(path, &candidate) {
            Ok(()) => {
                remove_sidecars(path);
                // Atomically: the path names the fresh database from now on.
                std::fs::rename(fresh, path)
                    .map_err(|e| format!("rotation: cannot replace {}: {e}", path.display()))?;
                return Ok(candidate);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(_) if !candidate.exists() => {
                // No hard links on this file system: check, then rename (as Python does).
                std::fs::rename(path, &candidate)
                    .map_err(|e| format!("rotation: cannot rename: {e}"))?;
                remove_sidecars(path);
                let _ = std::fs::rename(fresh, path);
                return Ok(candidate);
            }
            Err(e) => return Err(format!("rotation: cannot archive {}: {e}", path.display())),
        }
    }
    Err("rotation: no free archive name".into())
}

/// `audit.db` -> `audit.<stamp>.db`, then `audit.<stamp>-<n>.db`.
fn archive_name(path: &Path, stamp: &str, n: usize) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = if n == 0 {
        format!("{stem}.{stamp}.db")
    } else {
        format!("{stem}.{stamp}-{n}.db")
    };
    path.with_file_name(name)
}

/// The archives of `path` (`<stem>.*.db` beside it), oldest first.
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
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let is_archive =
                name.starts_with(&prefix) && name.ends_with(".db") && name.len() > prefix.len() + 3;
            let mtime = e.metadata().ok()?.modified().ok()?;
            is_archive.then(|| (mtime, e.path()))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, p)| p).collect()
}

/// Keep only the `keep` newest archives (by modification time, as Python does).
fn cleanup_archives(path: &Path, keep: usize) {
    let all = archives(path);
    let excess = all.len().saturating_sub(keep);
    for old in &all[..excess] {
        let _ = std::fs::remove_file(old);
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
            opts.mode(0o600);
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
