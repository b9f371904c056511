//! The database files a seal covers, how each is named (its `db_uuid`), and
//! how their rows are read as leaves.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};
use tlog_tiles::{Hash, record_hash};
use vmware_policy::audit::{conn::BUSY_TIMEOUT_MS, db_uuid, rotate, schema};

use super::leaf;

/// One database file: the live one or an archive.
#[derive(Debug, Clone)]
pub struct DbFile {
    pub path: PathBuf,
    pub live: bool,
}

/// The live file, then its archives (oldest first) when asked for.
pub fn files(db: &Path, archives: bool) -> Vec<DbFile> {
    let mut out = vec![DbFile {
        path: db.to_path_buf(),
        live: true,
    }];
    if archives {
        out.extend(
            rotate::archives(db)
                .into_iter()
                .map(|path| DbFile { path, live: false }),
        );
    }
    out
}

/// A read-only connection in one read transaction (one snapshot: its uuid and
/// its rows agree, whatever a rotation does meanwhile).
pub struct Snapshot {
    conn: Connection,
    pub log: Option<String>,
    present: Vec<String>,
}

impl Snapshot {
    /// Open `file`. The live file is given a uuid first when `name_live` (one
    /// small write); an archive is never written to (its mtime orders
    /// retention) and, lacking a uuid, is named by its first row.
    pub fn open(file: &DbFile, name_live: bool) -> Result<Snapshot, String> {
        let what = |e: rusqlite::Error| format!("{}: {e}", file.path.display());
        match std::fs::metadata(&file.path) {
            Ok(m) if m.is_file() => {}
            Ok(_) => return Err(format!("{}: not a regular file", file.path.display())),
            Err(e) => return Err(format!("{}: {e}", file.path.display())),
        }
        if file.live && name_live {
            let rw = Connection::open_with_flags(&file.path, OpenFlags::SQLITE_OPEN_READ_WRITE)
                .map_err(what)?;
            rw.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))
                .map_err(what)?;
            db_uuid::ensure(&rw).map_err(what)?;
        }
        let conn = Connection::open_with_flags(
            &file.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(what)?;
        conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))
            .map_err(what)?;
        // The snapshot starts with the first read, taken while no rotation of
        // ours runs: a rotation that starts later copies every row seen here.
        let lock = if file.live {
            rotate::RotationLock::shared(&file.path).ok()
        } else {
            None
        };
        conn.execute_batch("BEGIN").map_err(what)?;
        let uuid = db_uuid::read(&conn).map_err(what)?;
        drop(lock);
        let present = schema::existing_columns(&conn).map_err(what)?;
        if !present.iter().any(|c| c == "id") {
            return Err(format!("{}: no audit_log table", file.path.display()));
        }
        let mut snap = Snapshot {
            conn,
            log: uuid,
            present,
        };
        if snap.log.is_none() {
            let mut first = None;
            snap.each_leaf(i64::MIN, |_, leaf, _| {
                first = Some(db_uuid::derived(leaf));
                Ok(false)
            })?;
            snap.log = first;
        }
        Ok(snap)
    }

    /// Call `f(id, leaf, hash)` for each row with id above `after`, in id
    /// order, until it returns `false`.
    pub fn each_leaf(
        &self,
        after: i64,
        mut f: impl FnMut(i64, &[u8], Hash) -> Result<bool, String>,
    ) -> Result<(), String> {
        let (sql, has) = leaf::select(&self.present);
        let mut st = self.conn.prepare(&sql).map_err(|e| e.to_string())?;
        let mut rows = st.query([after]).map_err(|e| e.to_string())?;
        while let Some(r) = rows.next().map_err(|e| e.to_string())? {
            let (id, bytes) = leaf::encode(r, &has).map_err(|e| e.to_string())?;
            if !f(id, &bytes, record_hash(&bytes))? {
                break;
            }
        }
        Ok(())
    }
}
