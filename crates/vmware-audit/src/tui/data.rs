//! The data worker: a thread that owns the database connections and answers
//! the UI's requests, so a slow query or a long search never freezes the
//! screen. Requests carry the generation of the filters they were made for;
//! a search scan stops as soon as a newer generation is asked for.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};

use vmware_policy::audit::Filter;
use vmware_policy::audit::stats::{Bucket, Stats};

pub use super::paging::{Anchor, Pos, Row, ScanError, page};

#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Page {
        generation: u64,
        filter: Filter,
        search: Option<super::search::SearchSpec>,
        anchor: Anchor,
        limit: usize,
    },
    /// Rows written since the last tail (every row: the UI filters them, and
    /// counts them all).
    Tail,
    Stats {
        generation: u64,
        filter: Filter,
        bucket: Bucket,
    },
    /// Totals and the values present, for the header and the pickers.
    Overview,
    /// The users present and their counts (the user picker: no rollup has them).
    UserValues,
    /// The last row at or before a time (a jump), found by binary search.
    Locate { generation: u64, ts: String },
    /// Read the archives with the live file as one history (or stop).
    Archives(bool),
    /// The nearest row past `from` (newer when `forward`) that the view
    /// shows (`filter`, `search`) and `find` matches: `n`/`N` beyond the rows
    /// loaded.
    Find {
        generation: u64,
        filter: Filter,
        search: Option<super::search::SearchSpec>,
        find: super::search::SearchSpec,
        from: Pos,
        forward: bool,
    },
    /// Write the rows of the view (its filter and search) to a new file.
    Export {
        path: std::path::PathBuf,
        filter: Filter,
        search: Option<super::search::SearchSpec>,
    },
    /// The rows of a range under two rule sets (the editor's replay).
    Replay(Box<ReplayJob>),
    /// The editor's diagnostics of `text` with the blast radius of each rule a
    /// typo widened (how many recent calls it would deny).
    BlastRadius { rev: u64, text: String },
}

/// A replay: the rows `filter` selects (newest first, at most `limit`) under
/// the rules in force (`before`) and the edited buffer (`after`).
#[derive(Debug, Clone)]
pub struct ReplayJob {
    pub filter: Filter,
    pub before: std::sync::Arc<vmware_policy::policy::RuleSet>,
    pub after: std::sync::Arc<vmware_policy::policy::RuleSet>,
    pub limit: usize,
}

impl PartialEq for ReplayJob {
    fn eq(&self, o: &ReplayJob) -> bool {
        self.filter == o.filter
            && self.limit == o.limit
            && std::sync::Arc::ptr_eq(&self.before, &o.before)
            && std::sync::Arc::ptr_eq(&self.after, &o.after)
    }
}

/// What went wrong with the database, said so an operator knows what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbProblem {
    Missing(String),
    Unreadable(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    Page {
        generation: u64,
        anchor: Anchor,
        /// Oldest first.
        rows: Vec<Row>,
        /// Where the scan reached (the next page continues past it); for a
        /// search this can lie beyond the last match.
        edge: Pos,
        /// Nothing further in that direction.
        exhausted: bool,
        took_ms: u64,
    },
    Tail {
        rows: Vec<Row>,
        rotated: bool,
        /// More rows wait (a full batch was read).
        more: bool,
    },
    Stats {
        generation: u64,
        stats: Result<Stats, String>,
    },
    Overview(Result<Stats, String>),
    UserValues(Result<Vec<(String, u64)>, String>),
    /// Where a jump lands: the last row at or before `ts`, if any.
    Located {
        generation: u64,
        ts: String,
        at: Option<Pos>,
    },
    /// A sidecar index is being built: `done` of `total` rows so far.
    Indexing {
        done: u64,
        total: u64,
    },
    /// [`Request::Find`]'s answer.
    Found {
        generation: u64,
        forward: bool,
        at: Option<Pos>,
    },
    /// Rows written to the file, or why not.
    Exported(Result<(std::path::PathBuf, u64), String>),
    /// The replay's report and how long it took (ms).
    Replay {
        result: Result<(vmware_policy::replay::Report, u64), String>,
    },
    Problem(DbProblem),
    /// The database is readable (again).
    Ready,
    /// [`Request::BlastRadius`]'s answer, for the buffer at `rev`.
    BlastRadius {
        rev: u64,
        diagnostics: Vec<vmware_policy::policy::Diagnostic>,
    },
}

/// The UI's side of the worker.
pub struct Worker {
    tx: Sender<Request>,
    latest_gen: Arc<AtomicU64>,
}

impl Worker {
    /// Start the worker on `db` (with its archives when `archives`); its
    /// answers go to `out`, wrapped by `wrap`.
    pub fn spawn<E: Send + 'static>(
        db: PathBuf,
        archives: bool,
        out: Sender<E>,
        wrap: fn(Response) -> E,
    ) -> Worker {
        let db = super::data_local::Db::new(db, archives);
        Worker::start(Backend::Local(Box::new(db)), out, wrap)
    }

    /// The worker on the fleet's PostgreSQL (`tui --source postgres://`).
    pub fn spawn_fleet<E: Send + 'static>(
        target: crate::fleet::connect::Target,
        out: Sender<E>,
        wrap: fn(Response) -> E,
    ) -> Worker {
        Worker::start(
            Backend::Fleet(Box::new(super::data_fleet::FleetDb::new(target))),
            out,
            wrap,
        )
    }

    fn start<E: Send + 'static>(
        backend: Backend,
        out: Sender<E>,
        wrap: fn(Response) -> E,
    ) -> Worker {
        let (tx, rx) = std::sync::mpsc::channel();
        let latest_gen = Arc::new(AtomicU64::new(0));
        let generation = latest_gen.clone();
        std::thread::Builder::new()
            .name("tui-data".into())
            .spawn(move || serve(backend, rx, generation, move |r| out.send(wrap(r)).is_ok()))
            .expect("spawn the data worker thread");
        Worker { tx, latest_gen }
    }

    pub fn send(&self, r: Request) {
        if let Request::Page { generation, .. }
        | Request::Stats { generation, .. }
        | Request::Find { generation, .. } = &r
        {
            self.latest_gen.fetch_max(*generation, Ordering::Relaxed);
        }
        let _ = self.tx.send(r);
    }
}

/// What the worker reads.
enum Backend {
    Local(Box<super::data_local::Db>),
    Fleet(Box<super::data_fleet::FleetDb>),
}

fn serve(
    mut backend: Backend,
    rx: Receiver<Request>,
    latest_gen: Arc<AtomicU64>,
    send: impl Fn(Response) -> bool,
) {
    let mut problem: Option<DbProblem> = None;
    while let Ok(req) = rx.recv() {
        let stale = |generation: u64| generation < latest_gen.load(Ordering::Relaxed);
        let answer = match &mut backend {
            Backend::Local(db) => super::data_local::handle(db, req, &stale, &latest_gen, &|r| {
                let _ = send(r);
            }),
            Backend::Fleet(f) => super::data_fleet::handle(f, req, &stale),
        };
        let answer = match answer {
            Ok(Some(a)) => {
                if problem.take().is_some() && !send(Response::Ready) {
                    return;
                }
                a
            }
            Ok(None) => continue,
            Err(p) => {
                problem = Some(p.clone());
                Response::Problem(p)
            }
        };
        if !send(answer) {
            return;
        }
    }
}

#[cfg(test)]
#[path = "data_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "data_index_tests.rs"]
mod index_tests;
