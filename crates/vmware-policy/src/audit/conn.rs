//! Opening the database the way every writer must: private files, WAL, busy
//! timeout, the schema in place.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::schema;
use crate::home;

/// How long a write waits for another process's lock, as in the Python package.
pub const BUSY_TIMEOUT_MS: u64 = 5000;

/// Durability of a committed row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: a row is on disk when `append` returns (the default).
    #[default]
    Full,
    /// `synchronous=NORMAL`: faster; a power loss may take the last rows (never
    /// corrupts). Only for operators who choose it explicitly.
    Normal,
}

/// Which file a path names now: a rotation replaces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

/// The identity and size of the file at `path`, or `None` if it is gone.
pub fn file_id(path: &Path) -> Option<(FileId, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let id = {
        use std::os::unix::fs::MetadataExt;
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    };
    #[cfg(not(unix))]
    let id = FileId { dev: 0, ino: 0 };
    Some((id, meta.len()))
}

/// The `-wal` / `-shm` companion of a database path.
pub fn sidecar(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    name.into()
}

/// Open (creating if needed) a database for writing, schema and all.
pub fn open_writer(path: &Path, durability: Durability) -> Result<Connection, String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        home::ensure_private_dir(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    create_private(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    configure(&conn, durability)
        .map_err(|e| format!("cannot initialise {}: {e}", path.display()))?;
    harden_permissions(path);
    Ok(conn)
}

fn configure(conn: &Connection, durability: Durability) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))?;
    persist_wal(conn);
    // Switching the journal mode needs an exclusive lock: only when it is not WAL yet.
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        let _: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    }
    // Keep the WAL file small after checkpoints (it is persistent, see below): a
    // read-only reader of a large stale WAL must re-read all of it on every open.
    let _: i64 = conn.query_row("PRAGMA journal_size_limit=4194304", [], |r| r.get(0))?;
    conn.execute_batch(match durability {
        Durability::Full => "PRAGMA synchronous=FULL",
        Durability::Normal => "PRAGMA synchronous=NORMAL",
    })?;
    schema::ensure(conn)?;
    schema::drop_legacy(conn)?;
    // What a rotation left to delete (`cut`), a budget's worth.
    super::cut::drain(conn, super::cut::BUDGET);
    Ok(())
}

/// Create the database file `0600` before SQLite does (its mode would follow
/// the umask). Non-blocking, and refused unless it is a regular file: a FIFO
/// at `audit.db` would block every audited call for good.
pub(crate) fn create_private(path: &Path) -> std::io::Result<()> {
    let not_a_file = || {
        std::io::Error::other(
            "it is not a regular file (a FIFO, device or directory); move it aside",
        )
    };
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return Err(not_a_file());
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = opts.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(not_a_file());
    }
    Ok(())
}

/// The home directory `0700` (no other directory), database and its
/// `-wal`/`-shm` `0600`. Best effort.
pub fn harden_permissions(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = home::harden_home(dir);
    }
    for suffix in ["", "-wal", "-shm"] {
        let p = sidecar(path, suffix);
        if p.exists() {
            let _ = home::set_mode(&p, 0o600);
        }
    }
}

/// Keep the WAL file when this connection closes.
///
/// After another process rotates the database, closing a connection to the old
/// file would otherwise delete `audit.db-wal` by name: the live WAL of the new
/// database. With a persistent WAL, SQLite never unlinks it.
pub(crate) fn persist_wal(conn: &Connection) {
    let mut on: std::ffi::c_int = 1;
    // SAFETY: the handle is valid for the life of `conn`; the op reads one int.
    unsafe {
        rusqlite::ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            rusqlite::ffi::SQLITE_FCNTL_PERSIST_WAL,
            (&raw mut on).cast(),
        );
    }
}

/// Whether the path this connection opened now names another file (or none):
/// a rename by another process's rotation.
pub(crate) fn has_moved(conn: &Connection) -> bool {
    let mut moved: std::ffi::c_int = 0;
    // SAFETY: the handle is valid for the life of `conn`; the op writes one int.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            rusqlite::ffi::SQLITE_FCNTL_HAS_MOVED,
            (&raw mut moved).cast(),
        )
    };
    rc == rusqlite::ffi::SQLITE_OK && moved != 0
}
