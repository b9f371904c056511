//! The connection's half: one connection, batches written in one
//! transaction each, rotation when due, healing after another process rotated
//! or deleted the file. Only its holder (behind the engine's lock) touches a
//! [`Committer`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use rusqlite::Connection;

use super::conn::{self, FileId, file_id};
use super::record::{Appended, AuditOptions, Record};
use super::{format, rotate, schema};

/// How long a failed rotation waits before it is tried again.
const ROTATION_RETRY: Duration = Duration::from_secs(30);

pub(crate) struct Committer {
    pub(crate) path: PathBuf,
    pub(crate) opts: AuditOptions,
    pub(crate) lost: Arc<AtomicU64>,
    /// Why there is nowhere to write (the home cannot be resolved): every row
    /// is lost with this reason rather than written somewhere unexpected.
    pub(crate) unusable: Option<String>,
    open: Option<Open>,
    /// After a failed rotation (a full disk, say), the next try waits: a
    /// rotation copies the whole file, and every write must not pay for that.
    rotate_after: Option<Instant>,
}

struct Open {
    conn: Connection,
    id: Option<FileId>,
}

impl Committer {
    pub(crate) fn new(
        path: PathBuf,
        opts: AuditOptions,
        lost: Arc<AtomicU64>,
        unusable: Option<String>,
    ) -> Committer {
        Committer {
            path,
            opts,
            lost,
            unusable,
            open: None,
            rotate_after: None,
        }
    }

    /// Open now so the first call pays nothing; a failure retries on write.
    pub(crate) fn warm_up(&mut self) {
        let _ = self.connection(None);
    }

    /// Write every record in one transaction; one outcome per record, in order.
    /// Never panics and never fails: a row that cannot be written is reported.
    pub(crate) fn write(&mut self, batch: &[&Record]) -> Vec<Appended> {
        if batch.is_empty() {
            return Vec::new();
        }
        let attempt =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.try_write(batch)));
        match attempt {
            Ok(Ok(ids)) => ids.into_iter().map(Appended::Written).collect(),
            Ok(Err(reason)) => self.lose(batch, &reason),
            Err(_) => self.lose(batch, "internal error while writing"),
        }
    }

    /// The open connection, (re)initialising it if it is missing or no longer
    /// names the file at `path` (deleted, or rotated by another process).
    /// `seen`: the path's identity if it was just read (one stat per commit
    /// fewer), else it is read here.
    fn connection(&mut self, seen: Option<Option<FileId>>) -> Result<&mut Open, String> {
        let current = seen.unwrap_or_else(|| file_id(&self.path).map(|(id, _)| id));
        if self
            .open
            .as_ref()
            .is_some_and(|o| current.is_none() || o.id != current)
        {
            self.retire();
        }
        if let Some(why) = &self.unusable {
            return Err(why.clone());
        }
        if self.open.is_none() {
            // Never in the middle of another process's rotation. (No lock when
            // the directory is missing: `open_writer` creates it, and then
            // there is nothing to rotate yet.)
            rotate::finish_interrupted(&self.path);
            let _no_rotation = rotate::RotationLock::shared(&self.path).ok();
            let conn = conn::open_writer(&self.path, self.opts.durability)?;
            let id = file_id(&self.path).map(|(id, _)| id);
            self.open = Some(Open { conn, id });
        }
        Ok(self.open.as_mut().expect("just opened"))
    }

    fn lose(&self, batch: &[&Record], reason: &str) -> Vec<Appended> {
        report_lost(&self.path, &self.lost, batch, reason);
        vec![Appended::Lost; batch.len()]
    }

    fn try_write(&mut self, batch: &[&Record]) -> Result<Vec<i64>, String> {
        // One stat for the rotation's size check and the connection's identity
        // check (our rotation copies: it never changes the file's identity).
        let now = file_id(&self.path);
        self.rotate_if_due(now.map(|(_, size)| size));
        let mut seen = Some(now.map(|(id, _)| id));
        // Lock contention (another process creating, migrating or rotating the
        // file) is retried within the busy budget; anything else gets one more
        // try after re-initialising, which is how a deleted or rotated file heals.
        let deadline = Instant::now() + Duration::from_millis(conn::BUSY_TIMEOUT_MS);
        let mut other_failures = 0;
        let mut pause = Duration::from_millis(2);
        loop {
            let path = self.path.clone();
            let e: String = match self.connection(seen.take()) {
                Err(e) => format!("cannot initialise: {e}"),
                Ok(open) => match insert_all(open, &path, batch) {
                    Ok(Some(ids)) => return Ok(ids),
                    Ok(None) => "the database was replaced while writing".to_string(),
                    Err(e) => format!("write failed: {e}"),
                },
            };
            self.retire();
            let contended = e.contains("locked") || e.contains("busy") || e.contains("replaced");
            if contended && Instant::now() < deadline {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            } else {
                other_failures += 1;
                if other_failures > 1 {
                    return Err(e);
                }
            }
        }
    }

    fn rotate_if_due(&mut self, size: Option<u64>) {
        if self.rotate_after.is_some_and(|t| Instant::now() < t)
            || size.is_none_or(|s| s < self.opts.rotate_bytes)
        {
            return;
        }
        match rotate::maybe_rotate(&self.path, self.opts.rotate_bytes, self.opts.max_archives) {
            Ok(_) => self.rotate_after = None,
            Err(e) => {
                self.rotate_after = Some(Instant::now() + ROTATION_RETRY);
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "vmware-policy: audit db rotation failed (retried in {} s; rows are still written): {e}",
                    ROTATION_RETRY.as_secs()
                );
            }
        }
    }

    /// Drop the connection; if the path no longer names its file (a rotation),
    /// first checkpoint what it committed into that file, the archive.
    pub(crate) fn retire(&mut self) {
        if let Some(open) = self.open.take()
            && file_id(&self.path).map(|(id, _)| id) != open.id
        {
            salvage(&open.conn);
        }
    }
}

/// Count rows that could not be written and say so on stderr, one line each
/// (the reason redacted): the one place a lost row is reported.
pub(crate) fn report_lost(path: &Path, lost: &AtomicU64, rows: &[&Record], reason: &str) {
    let reason = crate::redact::redact_text(reason);
    let reason: String = reason.chars().take(300).collect();
    for r in rows {
        lost.fetch_add(1, Ordering::Relaxed);
        // A closed stderr must not break the call.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "vmware-policy: audit row lost — {}.{} status={}: {reason} (audit db: {})",
            r.skill,
            r.tool,
            r.status,
            path.display()
        );
    }
}

/// Copy every committed frame of this connection's WAL into its database file
/// (by its open descriptors, so into the archive after a rename).
fn salvage(conn: &Connection) {
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
}

/// Insert every row in one transaction. `Ok(None)` when, once we hold the write
/// lock, the path turns out to name another file (a rotation by another process):
/// nothing was written, and the caller reopens.
fn insert_all(
    open: &mut Open,
    path: &Path,
    batch: &[&Record],
) -> rusqlite::Result<Option<Vec<i64>>> {
    let conn = &open.conn;
    // Cached, as the insert is: parsed once per connection, not per commit.
    conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    if file_id(path).map(|(id, _)| id) != open.id {
        conn.execute_batch("ROLLBACK")?;
        return Ok(None);
    }
    let result = (|| {
        let mut stmt = conn.prepare_cached(schema::INSERT)?;
        let mut ids = Vec::with_capacity(batch.len());
        for r in batch {
            let ts = format::python_ts(r.ts.unwrap_or_else(Utc::now));
            stmt.execute(rusqlite::params![
                ts,
                r.skill,
                r.tool,
                r.params,
                r.result,
                r.status,
                r.duration_ms,
                r.agent,
                r.workflow_id,
                r.user,
                r.risk_level,
                r.rationale,
                r.approved_by,
                r.risk_tier,
                r.surface,
                r.correlation_id,
                r.role
            ])?;
            ids.push(conn.last_insert_rowid());
        }
        Ok(ids)
    })();
    match result {
        Ok(ids) => {
            conn.prepare_cached("COMMIT")?.execute([])?;
            // Renamed by another process's rotation between our check and our
            // commit: the rows may live only in a WAL that rotation unlinks next.
            // Checkpoint them into the archive now. (Only the database is checked:
            // a stat of the WAL right after its fsync costs ~50 µs here, and Python
            // renames the database before it unlinks the WAL. A rename later than
            // this check is caught at the next write or when the engine is dropped.)
            if file_id(path).map(|(id, _)| id) != open.id {
                salvage(conn);
            }
            Ok(Some(ids))
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}
