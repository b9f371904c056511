//! AuditEngine: append one row, durably, without ever breaking the caller.
//!
//! One writer thread per engine owns the connection. Callers hand it rows over
//! a channel and get a [`Receipt`]; the thread writes whatever has queued up
//! since its last commit in one transaction (group commit: under contention,
//! one fsync for many rows) and then resolves each row's receipt. A sync
//! caller blocks on its receipt ([`AuditEngine::append`], the contract of
//! before: it returns once its row is committed); an async caller awaits it,
//! so no executor thread ever waits for an fsync.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::commit::{Committer, report_lost};
use super::receipt::{Receipt, Slot};
pub use super::record::{Appended, AuditOptions, DEFAULT_ROTATE_BYTES, Record};

/// Most rows in one transaction: under a flood, receipts still resolve in
/// bounded time.
const MAX_BATCH: usize = 1024;

/// The audit log writer. Cheap to clone; clones share one writer thread. The
/// thread stops, after writing every row handed to it, when the last clone is
/// dropped.
#[derive(Clone)]
pub struct AuditEngine {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    lost: Arc<AtomicU64>,
    backend: Backend,
}

enum Backend {
    Thread {
        tx: Option<Sender<Job>>,
        handle: Option<JoinHandle<()>>,
    },
    /// The thread could not be started (a process at its thread limit): rows
    /// are written on the caller's thread instead, as durably.
    Inline(Mutex<Committer>),
}

struct Job {
    /// `None`: a flush marker, resolved once everything before it is written.
    record: Option<Record>,
    slot: Arc<Slot>,
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
        let (tx, rx) = mpsc::channel::<Job>();
        // Handed to the thread through a slot, so that if the thread cannot
        // start, the committer is still ours to write with inline.
        let handoff = Arc::new(Mutex::new(Some(committer)));
        let theirs = handoff.clone();
        let spawned = std::thread::Builder::new()
            .name("vmware-policy-audit".into())
            .spawn(move || {
                let committer = theirs.lock().unwrap_or_else(|p| p.into_inner()).take();
                if let Some(c) = committer {
                    write_loop(c, rx);
                }
            });
        let backend = match spawned {
            Ok(handle) => Backend::Thread {
                tx: Some(tx),
                handle: Some(handle),
            },
            Err(_) => {
                let committer = handoff.lock().unwrap_or_else(|p| p.into_inner()).take();
                match committer {
                    Some(c) => Backend::Inline(Mutex::new(c)),
                    None => Backend::Thread {
                        tx: None,
                        handle: None,
                    },
                }
            }
        };
        AuditEngine {
            inner: Arc::new(Inner {
                path,
                lost,
                backend,
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
    /// Blocks the calling thread: from async code, `.await` [`AuditEngine::submit`].
    pub fn append(&self, record: Record) -> Appended {
        self.submit(record).wait()
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

    fn enqueue(&self, record: Option<Record>) -> Receipt {
        match &self.inner.backend {
            Backend::Thread { tx: Some(tx), .. } => {
                let slot = Arc::new(Slot::default());
                let job = Job {
                    record,
                    slot: slot.clone(),
                };
                match tx.send(job) {
                    Ok(()) => Receipt::pending(slot),
                    // The thread is gone (it never panics; this is defensive).
                    Err(mpsc::SendError(job)) => self.write_inline_lost(job.record),
                }
            }
            Backend::Thread { tx: None, .. } => self.write_inline_lost(record),
            Backend::Inline(committer) => {
                let mut c = committer.lock().unwrap_or_else(|p| p.into_inner());
                match record {
                    Some(r) => Receipt::ready(c.write(&[&r])[0]),
                    None => Receipt::ready(Appended::Written(0)),
                }
            }
        }
    }

    fn write_inline_lost(&self, record: Option<Record>) -> Receipt {
        if let Some(r) = record {
            let why = "the audit writer has stopped";
            report_lost(&self.inner.path, &self.inner.lost, &[&r], why);
        }
        Receipt::ready(Appended::Lost)
    }
}

/// The writer thread: take what has queued, write it in one transaction,
/// resolve the receipts; until every engine clone is gone and the queue empty.
fn write_loop(mut committer: Committer, rx: Receiver<Job>) {
    while let Ok(first) = next_job(&rx) {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
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
    }
    committer.retire();
}

/// The next job. Back-to-back calls arrive within microseconds of the last
/// commit: look for one briefly before sleeping, as waking a sleeping thread
/// costs tens of microseconds on a virtual machine.
fn next_job(rx: &Receiver<Job>) -> Result<Job, mpsc::RecvError> {
    let until = std::time::Instant::now() + SPIN;
    while std::time::Instant::now() < until {
        match rx.try_recv() {
            Ok(job) => return Ok(job),
            Err(mpsc::TryRecvError::Disconnected) => return Err(mpsc::RecvError),
            Err(mpsc::TryRecvError::Empty) => std::thread::yield_now(),
        }
    }
    rx.recv()
}

/// How long a thread looks for its next event before sleeping.
pub(crate) const SPIN: std::time::Duration = std::time::Duration::from_micros(50);

impl Drop for Inner {
    fn drop(&mut self) {
        match &mut self.backend {
            Backend::Thread { tx, handle } => {
                // Closing the channel lets the thread write what is queued and stop.
                drop(tx.take());
                if let Some(h) = handle.take() {
                    let _ = h.join();
                }
            }
            Backend::Inline(c) => c.get_mut().unwrap_or_else(|p| p.into_inner()).retire(),
        }
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
