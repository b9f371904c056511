//! AuditEngine: append one row, durably, without ever breaking the caller.
//!
//! One long-lived connection and prepared statement per engine. Concurrent
//! appends share a transaction (group commit): the first caller to find no
//! commit in progress becomes the leader, writes every row queued so far in one
//! transaction, and wakes their callers; each caller still returns only once its
//! own row is committed. Under contention that is one fsync for many rows.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::conn::{self, Durability, FileId, file_id};
use super::{format, rotate, schema};

/// Size at which the database is rotated, as in the Python package.
pub const DEFAULT_ROTATE_BYTES: u64 = 100 * 1024 * 1024;

/// One audit row to write. Text fields are stored as given; `params` and
/// `result` are JSON text (see [`crate::audit::python_json`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// When the call happened; `None` stamps the time of the append.
    pub ts: Option<DateTime<Utc>>,
    pub skill: String,
    pub tool: String,
    pub params: String,
    pub result: String,
    pub status: String,
    pub duration_ms: i64,
    pub agent: String,
    pub workflow_id: String,
    pub user: String,
    pub risk_level: String,
    pub rationale: String,
    pub approved_by: String,
    pub risk_tier: String,
    pub surface: String,
    pub correlation_id: String,
    pub role: String,
}

impl Default for Record {
    fn default() -> Record {
        Record {
            ts: None,
            skill: "unknown".into(),
            tool: String::new(),
            params: "{}".into(),
            result: "{}".into(),
            status: "ok".into(),
            duration_ms: 0,
            agent: "unknown".into(),
            workflow_id: String::new(),
            user: "unknown".into(),
            risk_level: "low".into(),
            rationale: String::new(),
            approved_by: String::new(),
            risk_tier: String::new(),
            surface: String::new(),
            correlation_id: String::new(),
            role: String::new(),
        }
    }
}

/// What happened to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Committed (durable under the engine's [`Durability`]), with its id.
    Written(i64),
    /// Could not be written: reported on stderr and counted in `lost_rows()`.
    Lost,
}

/// Tunables; the defaults are the Python package's.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    pub rotate_bytes: u64,
    pub max_archives: usize,
    pub durability: Durability,
}

impl Default for AuditOptions {
    fn default() -> AuditOptions {
        AuditOptions {
            rotate_bytes: DEFAULT_ROTATE_BYTES,
            max_archives: rotate::MAX_ARCHIVES,
            durability: Durability::Full,
        }
    }
}

/// The audit log writer. Cheap to clone; clones share one connection.
#[derive(Clone)]
pub struct AuditEngine {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    opts: AuditOptions,
    queue: Mutex<Queue>,
    conn: Mutex<Option<Open>>,
    lost: AtomicU64,
    /// After a failed rotation (a full disk, say), the next try waits: a
    /// rotation copies the whole file, and every write must not pay for that.
    rotate_after: Mutex<Option<Instant>>,
    /// Why there is nowhere to write (the home cannot be resolved): every row
    /// is lost with this reason rather than written somewhere unexpected.
    unusable: Option<String>,
}

/// How long a failed rotation waits before it is tried again.
const ROTATION_RETRY: Duration = Duration::from_secs(30);

struct Open {
    conn: Connection,
    id: Option<FileId>,
}

#[derive(Default)]
struct Queue {
    pending: Vec<(Record, Arc<Ticket>)>,
    leader: bool,
}

/// One caller's wait for its row.
#[derive(Default)]
struct Ticket {
    state: Mutex<TicketState>,
    cv: Condvar,
}

#[derive(Default, Clone, Copy)]
enum TicketState {
    #[default]
    Waiting,
    /// Handed the leader's role: write the queue.
    Lead,
    Done(Appended),
}

impl Ticket {
    fn set(&self, state: TicketState) {
        *lock(&self.state) = state;
        self.cv.notify_one();
    }
    fn wait(&self) -> TicketState {
        let mut s = lock(&self.state);
        while matches!(*s, TicketState::Waiting) {
            s = self.cv.wait(s).unwrap_or_else(|p| p.into_inner());
        }
        *s
    }
}

/// A poisoned lock only means another caller panicked; the data is still sound.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AuditEngine {
    /// An engine writing to `path` with the default options.
    pub fn new(path: impl Into<PathBuf>) -> AuditEngine {
        AuditEngine::with_options(path, AuditOptions::default())
    }

    /// The engine over `<home>/audit.db`.
    /// When the home cannot be resolved (`OPS_HOME=~nobody/x`), every row is
    /// reported lost with the reason, and nothing is created anywhere.
    pub fn from_home() -> AuditEngine {
        match crate::home::try_ops_home() {
            Ok(home) => AuditEngine::new(home.join("audit.db")),
            Err(why) => AuditEngine::build(
                crate::home::audit_db_path(),
                AuditOptions::default(),
                Some(why),
            ),
        }
    }

    /// An engine with explicit options (a small rotation threshold in tests,
    /// `Durability::Normal` where an operator chooses speed over the last rows).
    pub fn with_options(path: impl Into<PathBuf>, opts: AuditOptions) -> AuditEngine {
        AuditEngine::build(path.into(), opts, None)
    }

    fn build(path: PathBuf, opts: AuditOptions, unusable: Option<String>) -> AuditEngine {
        let engine = AuditEngine {
            inner: Arc::new(Inner {
                path,
                opts,
                queue: Mutex::new(Queue::default()),
                conn: Mutex::new(None),
                lost: AtomicU64::new(0),
                rotate_after: Mutex::new(None),
                unusable,
            }),
        };
        // Initialise eagerly so the first call pays nothing; failures retry on write.
        let _ = engine.inner.connection(&mut lock(&engine.inner.conn));
        engine
    }

    /// The database this engine writes.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Rows this engine could not write since it was created.
    pub fn lost_rows(&self) -> u64 {
        self.inner.lost.load(Ordering::Relaxed)
    }

    /// Append one row; returns once it is committed (or known lost). Never panics,
    /// never fails the caller: a lost row is reported on stderr and counted.
    pub fn append(&self, record: Record) -> Appended {
        let ticket = Arc::new(Ticket::default());
        let mut q = lock(&self.inner.queue);
        q.pending.push((record, ticket.clone()));
        if q.leader {
            drop(q);
            match ticket.wait() {
                TicketState::Done(outcome) => return outcome,
                _ => q = lock(&self.inner.queue), // promoted to leader
            }
        } else {
            q.leader = true;
        }
        // Leader: write what is queued (our own row included) in one transaction.
        let batch = std::mem::take(&mut q.pending);
        drop(q);
        let mut own = Appended::Lost;
        let outcomes = self.inner.write_batch(&batch);
        for ((_, t), outcome) in batch.iter().zip(outcomes) {
            if Arc::ptr_eq(t, &ticket) {
                own = outcome;
            } else {
                t.set(TicketState::Done(outcome));
            }
        }
        // Hand over to a waiting caller, so no thread leads forever.
        let mut q = lock(&self.inner.queue);
        match q.pending.first() {
            Some((_, next)) => next.set(TicketState::Lead),
            None => q.leader = false,
        }
        own
    }
}

impl Inner {
    /// The open connection, (re)initialising it if it is missing or no longer
    /// names the file at `path` (deleted, or rotated by another process).
    fn connection<'a>(&self, slot: &'a mut Option<Open>) -> Result<&'a mut Open, String> {
        let current = file_id(&self.path).map(|(id, _)| id);
        if slot
            .as_ref()
            .is_some_and(|o| current.is_none() || o.id != current)
        {
            retire(slot, &self.path);
        }
        if let Some(why) = &self.unusable {
            return Err(why.clone());
        }
        if slot.is_none() {
            // Never in the middle of another process's rotation. (No lock when
            // the directory is missing: `open_writer` creates it, and then
            // there is nothing to rotate yet.)
            rotate::finish_interrupted(&self.path);
            let _no_rotation = rotate::RotationLock::shared(&self.path).ok();
            let conn = conn::open_writer(&self.path, self.opts.durability)?;
            let id = file_id(&self.path).map(|(id, _)| id);
            *slot = Some(Open { conn, id });
        }
        Ok(slot.as_mut().expect("just opened"))
    }

    fn write_batch(&self, batch: &[(Record, Arc<Ticket>)]) -> Vec<Appended> {
        let attempt =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.try_write_batch(batch)));
        match attempt {
            Ok(Ok(ids)) => ids.into_iter().map(Appended::Written).collect(),
            Ok(Err(reason)) => self.lose(batch, &reason),
            Err(_) => self.lose(batch, "internal error while writing"),
        }
    }

    fn lose(&self, batch: &[(Record, Arc<Ticket>)], reason: &str) -> Vec<Appended> {
        let reason = crate::redact::redact_text(reason);
        let reason: String = reason.chars().take(300).collect();
        for (r, _) in batch {
            self.lost.fetch_add(1, Ordering::Relaxed);
            // One line per lost row; a closed stderr must not break the call.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "vmware-policy: audit row lost — {}.{} status={}: {reason} (audit db: {})",
                r.skill,
                r.tool,
                r.status,
                self.path.display()
            );
        }
        vec![Appended::Lost; batch.len()]
    }

    fn try_write_batch(&self, batch: &[(Record, Arc<Ticket>)]) -> Result<Vec<i64>, String> {
        let mut slot = lock(&self.conn);
        self.rotate_if_due();
        // Lock contention (another process creating, migrating or rotating the
        // file) is retried within the busy budget; anything else gets one more
        // try after re-initialising, which is how a deleted or rotated file heals.
        let deadline = Instant::now() + Duration::from_millis(conn::BUSY_TIMEOUT_MS);
        let mut other_failures = 0;
        let mut pause = Duration::from_millis(2);
        loop {
            let e: String = match self.connection(&mut slot) {
                Err(e) => format!("cannot initialise: {e}"),
                Ok(open) => match insert_all(open, &self.path, batch) {
                    Ok(Some(ids)) => return Ok(ids),
                    Ok(None) => "the database was replaced while writing".to_string(),
                    Err(e) => format!("write failed: {e}"),
                },
            };
            retire(&mut slot, &self.path);
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
}

impl Inner {
    fn rotate_if_due(&self) {
        let mut after = lock(&self.rotate_after);
        if after.is_some_and(|t| Instant::now() < t) {
            return;
        }
        match rotate::maybe_rotate(&self.path, self.opts.rotate_bytes, self.opts.max_archives) {
            Ok(_) => *after = None,
            Err(e) => {
                *after = Some(Instant::now() + ROTATION_RETRY);
                let _ = writeln_err(&format!(
                    "vmware-policy: audit db rotation failed (retried in {} s; rows are still written): {e}",
                    ROTATION_RETRY.as_secs()
                ));
            }
        }
    }
}

/// Drop a connection; if the path no longer names its file (a rotation), first
/// checkpoint what it committed into that file, the archive.
fn retire(slot: &mut Option<Open>, path: &Path) {
    if let Some(open) = slot.take()
        && file_id(path).map(|(id, _)| id) != open.id
    {
        salvage(&open.conn);
    }
}

/// Copy every committed frame of this connection's WAL into its database file
/// (by its open descriptors, so into the archive after a rename).
fn salvage(conn: &Connection) {
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
}

impl Drop for Inner {
    fn drop(&mut self) {
        retire(&mut lock(&self.conn), &self.path);
    }
}

fn writeln_err(line: &str) -> std::io::Result<()> {
    use std::io::Write;
    writeln!(std::io::stderr(), "{line}")
}

/// Insert every row in one transaction. `Ok(None)` when, once we hold the write
/// lock, the path turns out to name another file (a rotation by another process):
/// nothing was written, and the caller reopens.
fn insert_all(
    open: &mut Open,
    path: &Path,
    batch: &[(Record, Arc<Ticket>)],
) -> rusqlite::Result<Option<Vec<i64>>> {
    let conn = &open.conn;
    conn.execute_batch("BEGIN IMMEDIATE")?;
    if file_id(path).map(|(id, _)| id) != open.id {
        conn.execute_batch("ROLLBACK")?;
        return Ok(None);
    }
    let result = (|| {
        let mut stmt = conn.prepare_cached(schema::INSERT)?;
        let mut ids = Vec::with_capacity(batch.len());
        for (r, _) in batch {
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
            conn.execute_batch("COMMIT")?;
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
