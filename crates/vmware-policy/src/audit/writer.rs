//! AuditEngine: append one row, durably, without ever breaking the caller.
//!
//! Rows queue up in one list; whoever holds the connection writes everything
//! queued in one transaction (group commit: under contention, one fsync for
//! many rows) and resolves each row's receipt. A sync caller
//! ([`AuditEngine::append`], which returns once its row is committed) takes
//! the connection itself and commits on its own thread: handing the row to
//! another thread and being woken afterwards cost a third of a commit on a
//! two-core virtual machine, where a halted core is slow to wake. An async
//! caller cannot block, so its rows are written by a helper thread, started
//! at the first async row, and it awaits the receipt.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;

use super::commit::Committer;
use super::receipt::{Leader, Receipt, Slot};
pub use super::record::{Appended, AuditOptions, DEFAULT_ROTATE_BYTES, Record};

/// Most rows in one transaction: under a flood, receipts still resolve in
/// bounded time.
const MAX_BATCH: usize = 1024;

/// The audit log writer. Cheap to clone; clones share one queue, one
/// connection and (once an async row needs it) one helper thread. Every row
/// queued is written when the last clone is dropped.
#[derive(Clone)]
pub struct AuditEngine {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    lost: Arc<AtomicU64>,
    shared: Arc<Shared>,
}

/// What callers and the helper thread share.
struct Shared {
    queue: Mutex<Queue>,
    /// Wakes the helper thread when an async row or the shutdown arrives.
    work: Condvar,
    /// The one connection: its holder writes whatever has queued.
    committer: Mutex<Committer>,
    /// The helper thread for async rows; `None` until the first one.
    helper: Mutex<Option<JoinHandle<()>>>,
    /// Itself, for the helper thread to hold.
    me: Weak<Shared>,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    /// Rows the helper thread must write (sync callers write their own).
    for_helper: bool,
    closing: bool,
}

struct Job {
    /// `None`: a flush marker, resolved once everything before it is written.
    record: Option<Record>,
    slot: Arc<Slot>,
}

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
        let lost = Arc::new(AtomicU64::new(0));
        let mut committer = Committer::new(path.clone(), opts, lost.clone(), unusable);
        // Open now so the first call pays nothing (a failure retries on write).
        committer.warm_up();
        AuditEngine {
            inner: Arc::new(Inner {
                path,
                lost,
                shared: Arc::new_cyclic(|me| Shared {
                    queue: Mutex::new(Queue::default()),
                    work: Condvar::new(),
                    committer: Mutex::new(committer),
                    helper: Mutex::new(None),
                    me: me.clone(),
                }),
            }),
        }
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
    /// Blocks the calling thread, which does the commit itself (with any rows
    /// queued beside it): from async code, `.await` [`AuditEngine::submit`].
    pub fn append(&self, record: Record) -> Appended {
        let slot = self.inner.shared.push(Some(record));
        self.inner.shared.lead_until(&slot)
    }

    /// Hand one row to the writer and return at once; the receipt resolves
    /// when the row is committed. The row is written even if the receipt is
    /// dropped.
    pub fn submit(&self, record: Record) -> Receipt {
        self.enqueue(Some(record))
    }

    /// Resolves once every row submitted before this call is committed (or
    /// known lost): what a skill awaits before it exits on SIGTERM.
    pub fn flush(&self) -> Flush {
        Flush(self.enqueue(None))
    }

    /// Queue a job and hand it to the helper thread at once: its receipt
    /// may be held, and the row must not wait for it.
    fn enqueue(&self, record: Option<Record>) -> Receipt {
        let shared = &self.inner.shared;
        let slot = shared.push(record);
        shared.hand_off();
        Receipt::pending(slot, shared.clone())
    }

    /// Queue a row that is written when its receipt is first waited for (on
    /// the waiter's thread), polled or dropped (by the helper thread). The
    /// guard's rows: a sync call then commits its own row, with no thread
    /// woken on its way.
    pub(crate) fn submit_deferred(&self, record: Record) -> Receipt {
        let shared = &self.inner.shared;
        Receipt::deferred(shared.push(Some(record)), shared.clone())
    }
}

impl Leader for Shared {
    /// Write queued rows, a batch at a time, until `slot`'s row is written
    /// (by us, or by whoever held the connection before us).
    fn lead_until(&self, slot: &Slot) -> Appended {
        loop {
            if let Some(done) = slot.outcome() {
                return done;
            }
            let mut committer = lock(&self.committer);
            self.write_batch(&mut committer);
        }
    }

    fn hand_off(&self) {
        if self.helper_running() {
            lock(&self.queue).for_helper = true;
            self.work.notify_one();
        } else {
            // No thread to be had (a process at its thread limit): write it
            // here, as durably. Unless this thread already writes (a waker
            // run from inside a commit dropped a receipt): then the row is
            // written by the next commit or when the engine is dropped.
            let mut committer = match self.committer.try_lock() {
                Ok(c) => c,
                Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => return,
            };
            while self.write_batch(&mut committer) {}
        }
    }
}

impl Shared {
    /// Whether the helper thread runs, starting it if it does not yet.
    fn helper_running(&self) -> bool {
        let mut helper = lock(&self.helper);
        if helper.is_some() {
            return true;
        }
        let Some(shared) = self.me.upgrade() else {
            return false;
        };
        match std::thread::Builder::new()
            .name("vmware-policy-audit".into())
            .spawn(move || shared.helper_loop())
        {
            Ok(handle) => {
                *helper = Some(handle);
                true
            }
            Err(_) => false,
        }
    }

    fn push(&self, record: Option<Record>) -> Arc<Slot> {
        let slot = Arc::new(Slot::default());
        lock(&self.queue).jobs.push_back(Job {
            record,
            slot: slot.clone(),
        });
        slot
    }

    /// Take up to [`MAX_BATCH`] queued jobs, write them in one transaction
    /// and resolve them. Only with the connection held, so rows reach the
    /// file in the order they were queued. False when nothing was queued.
    fn write_batch(&self, committer: &mut Committer) -> bool {
        let jobs: Vec<Job> = {
            let mut q = lock(&self.queue);
            let n = q.jobs.len().min(MAX_BATCH);
            if q.jobs.len() == n {
                q.for_helper = false;
            }
            q.jobs.drain(..n).collect()
        };
        if jobs.is_empty() {
            return false;
        }
        let records: Vec<&Record> = jobs.iter().filter_map(|j| j.record.as_ref()).collect();
        let mut outcomes = committer.write(&records).into_iter();
        for job in &jobs {
            let outcome = match job.record {
                Some(_) => outcomes.next().unwrap_or(Appended::Lost),
                None => Appended::Written(0),
            };
            job.slot.complete(outcome);
        }
        true
    }

    /// The helper thread: write async rows as they arrive, until the engine
    /// is dropped and the queue is empty.
    fn helper_loop(&self) {
        loop {
            {
                let mut q = lock(&self.queue);
                while !q.for_helper && !q.closing {
                    q = self.work.wait(q).unwrap_or_else(|p| p.into_inner());
                }
                if q.closing && q.jobs.is_empty() {
                    return;
                }
            }
            let mut committer = lock(&self.committer);
            self.write_batch(&mut committer);
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        lock(&self.shared.queue).closing = true;
        self.shared.work.notify_all();
        let helper = lock(&self.shared.helper).take();
        if let Some(h) = helper {
            let _ = h.join();
        }
        // Whatever is still queued (no helper ran), then close the file.
        let mut committer = lock(&self.shared.committer);
        while self.shared.write_batch(&mut committer) {}
        committer.retire();
    }
}

/// Resolves once every row submitted before it is committed.
#[must_use = "a flush does nothing unless waited for or awaited"]
#[derive(Debug)]
pub struct Flush(Receipt);

impl Flush {
    /// Block until the rows before it are written. Not on an executor thread.
    pub fn wait(self) {
        self.0.wait();
    }
}

impl std::future::Future for Flush {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        std::pin::Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}
