//! The data worker: a thread that owns the database connections and answers
//! the UI's requests, so a slow query or a long search never freezes the
//! screen. Requests carry the generation of the filters they were made for;
//! a search scan stops as soon as a newer generation is asked for.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::time::Instant;

use vmware_policy::audit::stats::{self, Bucket, Stats};
use vmware_policy::audit::tail::{BATCH, Tail};
use vmware_policy::audit::{AuditRow, Filter, History, Order, ReadError, Reader};

use super::search::Search;

/// Where a page of rows starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The newest rows the live cursor has reached.
    Newest,
    /// Rows older than this id, newest first.
    Before(i64),
    /// Rows newer than this id, oldest first.
    After(i64),
    /// Rows up to this id included, newest first: a jump to a time.
    At(i64),
}

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
        rows: Vec<AuditRow>,
        /// The id the scan reached (the next page continues past it); for a
        /// search this can lie beyond the last match.
        edge: i64,
        /// Nothing further in that direction.
        exhausted: bool,
        took_ms: u64,
    },
    Tail {
        rows: Vec<AuditRow>,
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
        id: Option<i64>,
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
    /// Start the worker on `db`; its answers go to `out`, wrapped by `wrap`.
    pub fn spawn<E: Send + 'static>(
        db: PathBuf,
        out: Sender<E>,
        wrap: fn(Response) -> E,
    ) -> Worker {
        let (tx, rx) = std::sync::mpsc::channel();
        let latest_gen = Arc::new(AtomicU64::new(0));
        let generation = latest_gen.clone();
        std::thread::Builder::new()
            .name("tui-data".into())
            .spawn(move || serve(db, rx, generation, move |r| out.send(wrap(r)).is_ok()))
            .expect("spawn the data worker thread");
        Worker { tx, latest_gen }
    }

    pub fn send(&self, r: Request) {
        if let Request::Page { generation, .. } | Request::Stats { generation, .. } = &r {
            self.latest_gen.fetch_max(*generation, Ordering::Relaxed);
        }
        let _ = self.tx.send(r);
    }
}

struct Db {
    path: PathBuf,
    reader: Option<Reader>,
    tail: Option<Tail>,
    problem: Option<DbProblem>,
}

impl Db {
    /// Open the reader and the tail if needed; the tail starts after the rows
    /// that exist now, which the first page shows.
    fn ensure(&mut self) -> Result<&Reader, DbProblem> {
        if self.reader.is_none() {
            match Reader::open(&self.path).and_then(|r| {
                let max = r.max_id().map_err(ReadError::Sqlite)?;
                Ok((r, max))
            }) {
                Ok((r, max)) => {
                    self.tail = Some(Tail::new(&self.path, max));
                    self.reader = Some(r);
                }
                Err(e) => return Err(problem(&e, &self.path)),
            }
        }
        Ok(self.reader.as_ref().expect("opened above"))
    }

    fn fail(&mut self, e: &ReadError) -> DbProblem {
        self.reader = None;
        self.tail = None;
        problem(e, &self.path)
    }
}

fn problem(e: &ReadError, path: &std::path::Path) -> DbProblem {
    let p = path.display();
    match e {
        ReadError::Missing(_) => DbProblem::Missing(format!(
            "No audit database at {p} yet. It is created by the first audited tool call; \
             this view starts showing rows as soon as it exists. \
             (`vmware-audit demo` shows one; OPS_HOME or --db read another.)"
        )),
        ReadError::NotAFile(_) => DbProblem::Unreadable(e.to_string()),
        ReadError::Sqlite(err) => {
            let text = err.to_string();
            let hint = if text.contains("not a database") || text.contains("malformed") {
                "It is not a readable SQLite database: move it aside (skills create a new one) \
                 and keep the file for inspection."
            } else if text.contains("locked") || text.contains("busy") {
                "Another process holds a lock on it; retrying."
            } else {
                "Check the file's permissions and the disk."
            };
            DbProblem::Unreadable(format!("Cannot read {p}: {text}. {hint}"))
        }
    }
}

fn serve(
    path: PathBuf,
    rx: Receiver<Request>,
    latest_gen: Arc<AtomicU64>,
    send: impl Fn(Response) -> bool,
) {
    let mut db = Db {
        path,
        reader: None,
        tail: None,
        problem: None,
    };
    while let Ok(req) = rx.recv() {
        let stale = |generation: u64| generation < latest_gen.load(Ordering::Relaxed);
        let answer = handle(&mut db, req, &stale, &latest_gen);
        let answer = match answer {
            Ok(Some(a)) => {
                if db.problem.take().is_some() && !send(Response::Ready) {
                    return;
                }
                a
            }
            Ok(None) => continue,
            Err(p) => {
                db.problem = Some(p.clone());
                Response::Problem(p)
            }
        };
        if !send(answer) {
            return;
        }
    }
}

fn handle(
    db: &mut Db,
    req: Request,
    stale: &dyn Fn(u64) -> bool,
    latest_gen: &Arc<AtomicU64>,
) -> Result<Option<Response>, DbProblem> {
    match req {
        Request::Page {
            generation,
            filter,
            search,
            anchor,
            limit,
        } => {
            if stale(generation) {
                return Ok(None);
            }
            let started = Instant::now();
            db.ensure()?;
            let newest = db.tail.as_ref().map_or(0, Tail::last_id);
            let search = search.as_ref().and_then(|s| Search::compile(s).ok());
            // A newer request interrupts this one inside SQLite too (a search
            // that matches nothing reads every row).
            let latest = latest_gen.clone();
            let reader = db.reader.as_mut().expect("ensured");
            reader.interrupt_when(Some(move || generation < latest.load(Ordering::Relaxed)));
            let page = page(
                db.reader.as_ref().expect("ensured"),
                &filter,
                search.as_ref(),
                anchor,
                newest,
                limit,
                &|| stale(generation),
            );
            match page {
                Ok(Some((rows, edge, exhausted))) => Ok(Some(Response::Page {
                    generation,
                    anchor,
                    rows,
                    edge,
                    exhausted,
                    took_ms: started.elapsed().as_millis() as u64,
                })),
                Ok(None) => Ok(None),
                Err(e) if stale(generation) => {
                    let _ = e; // interrupted for a newer request
                    Ok(None)
                }
                Err(e) => Err(db.fail(&ReadError::Sqlite(e))),
            }
        }
        Request::Tail => {
            // No database yet (or unreadable): said as a problem, so the UI
            // keeps retrying.
            db.ensure()?;
            let tail = db.tail.as_mut().expect("ensured");
            match tail.poll(&Filter::default()) {
                Ok(p) => {
                    if p.rotated {
                        // The reader holds the archive now: read the new file.
                        db.reader = Reader::open(&db.path).ok();
                    }
                    let more = p.rows.len() >= BATCH;
                    Ok(Some(Response::Tail {
                        rows: p.rows,
                        rotated: p.rotated,
                        more,
                    }))
                }
                // The tail keeps its place and resumes by itself: only say why.
                Err(e) => Err(problem(&e, &db.path)),
            }
        }
        Request::Stats {
            generation,
            filter,
            bucket,
        } => {
            if stale(generation) {
                return Ok(None);
            }
            db.ensure()?;
            Ok(Some(Response::Stats {
                generation,
                stats: history(db)
                    .and_then(|h| stats::compute(&h, &filter, bucket))
                    .map_err(|e| e.to_string()),
            }))
        }
        Request::Replay(job) => {
            db.ensure()?;
            let started = Instant::now();
            let reader = db.reader.as_mut().expect("ensured");
            reader.interrupt_when(None::<fn() -> bool>);
            let result = vmware_policy::replay::replay(
                reader,
                &job.filter,
                job.limit,
                &job.before,
                &job.after,
                &|| false,
            )
            .map_err(|e| e.to_string())
            .map(|r| (r.unwrap_or_default(), started.elapsed().as_millis() as u64));
            Ok(Some(Response::Replay { result }))
        }
        Request::BlastRadius { rev, text } => {
            db.ensure()?;
            let reader = db.reader.as_mut().expect("ensured");
            reader.interrupt_when(None::<fn() -> bool>);
            let mut diagnostics = vmware_policy::policy::validate(&text);
            vmware_policy::replay::add_blast_radius(&mut diagnostics, &text, reader);
            Ok(Some(Response::BlastRadius { rev, diagnostics }))
        }
        Request::Locate { generation, ts } => {
            db.ensure()?;
            let reader = db.reader.as_mut().expect("ensured");
            reader.interrupt_when(None::<fn() -> bool>);
            let id = reader
                .last_id_at_or_before(&ts)
                .map_err(|e| problem(&ReadError::Sqlite(e), &db.path))?;
            Ok(Some(Response::Located { generation, ts, id }))
        }
        Request::Export {
            path,
            filter,
            search,
        } => {
            db.ensure()?;
            Ok(Some(Response::Exported(
                super::export::to_file(&db.path, &path, &filter, search.as_ref())
                    .map(|n| (path, n)),
            )))
        }
        Request::UserValues => {
            db.ensure()?;
            let reader = db.reader.as_mut().expect("ensured");
            reader.interrupt_when(None::<fn() -> bool>);
            Ok(Some(Response::UserValues(
                reader.user_counts().map_err(|e| e.to_string()),
            )))
        }
        Request::Overview => {
            db.ensure()?;
            Ok(Some(Response::Overview(
                history(db)
                    .and_then(|h| stats::compute(&h, &Filter::default(), Bucket::Day))
                    .map_err(|e| e.to_string()),
            )))
        }
    }
}

fn history(db: &Db) -> rusqlite::Result<History> {
    History::open(&db.path, false).map_err(|e| match e {
        ReadError::Sqlite(e) => e,
        ReadError::Missing(_) => rusqlite::Error::QueryReturnedNoRows,
        ReadError::NotAFile(p) => rusqlite::Error::InvalidPath(p),
    })
}

/// Rows scanned between checks that the request is still wanted.
const CHECK_EVERY: usize = 2048;

/// One page: up to `limit` rows that `filter` (and `search`) select, on the
/// `anchor` side, never past `newest` (rows after it arrive by the tail).
/// `None` when the request went stale mid-scan.
pub fn page(
    reader: &Reader,
    filter: &Filter,
    search: Option<&Search>,
    anchor: Anchor,
    newest: i64,
    limit: usize,
    stale: &dyn Fn() -> bool,
) -> rusqlite::Result<Option<(Vec<AuditRow>, i64, bool)>> {
    let (f, order) = match anchor {
        Anchor::Newest => (
            Filter {
                before_id: Some(newest + 1),
                ..filter.clone()
            },
            Order::NewestFirst,
        ),
        Anchor::Before(id) => (
            Filter {
                before_id: Some(id),
                ..filter.clone()
            },
            Order::NewestFirst,
        ),
        Anchor::At(id) => (
            Filter {
                before_id: Some(id.saturating_add(1).min(newest + 1)),
                ..filter.clone()
            },
            Order::NewestFirst,
        ),
        Anchor::After(id) => (
            Filter {
                after_id: Some(id),
                before_id: Some(newest + 1),
                ..filter.clone()
            },
            Order::OldestFirst,
        ),
    };
    // SQLite skips the rows that cannot match (LIKE is ASCII case-insensitive,
    // as the fuzzy match is for ASCII; other text is left to the fuzzy match).
    let f = match search.and_then(|s| s.spec().prefilter()) {
        Some(text) => Filter {
            in_order: Some(text),
            ..f
        },
        None => f,
    };
    let mut rows = Vec::with_capacity(limit.min(1024));
    let mut edge = match anchor {
        Anchor::Newest => newest + 1,
        Anchor::Before(id) => id,
        Anchor::After(id) => id,
        Anchor::At(id) => id.saturating_add(1),
    };
    let mut scanned = 0usize;
    let mut gave_up = false;
    let mut full = false;
    // Without a search, SQL stops at `limit`; with one, rows are scanned until
    // enough match.
    let sql_limit = if search.is_some() { None } else { Some(limit) };
    reader.for_each(&f, order, sql_limit, |r| {
        scanned += 1;
        if scanned.is_multiple_of(CHECK_EVERY) && stale() {
            gave_up = true;
            return false;
        }
        edge = r.id;
        if search.is_none_or(|s| s.matches(&r)) {
            rows.push(r);
        }
        full = rows.len() >= limit;
        !full
    })?;
    if gave_up {
        return Ok(None);
    }
    if order == Order::NewestFirst {
        rows.reverse();
    }
    let exhausted = !full;
    Ok(Some((rows, edge, exhausted)))
}

#[cfg(test)]
#[path = "data_tests.rs"]
mod tests;
