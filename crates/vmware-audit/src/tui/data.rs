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
use vmware_policy::audit::{Filter, History, ReadError, Reader};

pub use super::paging::{Anchor, Pos, Row, ScanError, page};
use super::search::Search;

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
        let db = Db {
            path: db,
            archives,
            files: Vec::new(),
            archive_list: Vec::new(),
            tail: None,
        };
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

struct Db {
    path: PathBuf,
    /// Read the archives before the live file.
    archives: bool,
    /// The files read, oldest first, the live one last; empty until opened.
    files: Vec<Reader>,
    /// The archives among them, as listed when they were opened.
    archive_list: Vec<PathBuf>,
    tail: Option<Tail>,
}

impl Db {
    /// Open the files and the tail if needed; the tail starts after the rows
    /// that exist now, which the first page shows.
    fn ensure(&mut self) -> Result<&Reader, DbProblem> {
        if self.files.is_empty() {
            let live = Reader::open(&self.path).map_err(|e| problem(&e, &self.path))?;
            if self.tail.is_none() {
                let max = live
                    .max_id()
                    .map_err(|e| problem(&ReadError::Sqlite(e), &self.path))?;
                self.tail = Some(Tail::new(&self.path, max));
            }
            let mut files = Vec::new();
            self.archive_list.clear();
            if self.archives {
                self.archive_list = vmware_policy::audit::rotate::archives(&self.path);
                for a in &self.archive_list {
                    files.push(Reader::open(a).map_err(|e| problem(&e, a))?);
                }
            }
            files.push(live);
            self.files = files;
        }
        Ok(self.live())
    }

    /// The live file's reader (opened).
    fn live(&self) -> &Reader {
        self.files.last().expect("ensured")
    }

    fn live_mut(&mut self) -> &mut Reader {
        self.files.last_mut().expect("ensured")
    }

    fn fail(&mut self, e: &ReadError) -> DbProblem {
        self.files.clear();
        self.tail = None;
        problem(e, &self.path)
    }

    fn fail_scan(&mut self, e: ScanError) -> DbProblem {
        match e {
            ScanError::Sqlite(e) => self.fail(&ReadError::Sqlite(e)),
            ScanError::Fleet(e) => DbProblem::Unreadable(e),
        }
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

/// What the worker reads.
enum Backend {
    Local(Box<Db>),
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
            Backend::Local(db) => handle(db, req, &stale, &latest_gen, &|r| {
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

fn handle(
    db: &mut Db,
    req: Request,
    stale: &dyn Fn(u64) -> bool,
    latest_gen: &Arc<AtomicU64>,
    notify: &dyn Fn(Response),
) -> Result<Option<Response>, DbProblem> {
    // A sidecar index built for the first time on a large file: said as it goes.
    let mut progress = |done: u64, total: u64| {
        if total >= 50_000 {
            notify(Response::Indexing { done, total });
        }
    };
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
            for reader in &mut db.files {
                let latest = latest_gen.clone();
                reader.interrupt_when(Some(move || generation < latest.load(Ordering::Relaxed)));
            }
            let page = page(
                &db.files,
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
                Err(e) => Err(db.fail_scan(e)),
            }
        }
        Request::Tail => {
            // No database yet (or unreadable): said as a problem, so the UI
            // keeps retrying.
            db.ensure()?;
            let tail = db.tail.as_mut().expect("ensured");
            match tail.poll(&Filter::default()) {
                Ok(p) => {
                    // Reading the archives, our copy rotation (same live
                    // file, its rows moved to a new archive) changes the
                    // history as much as Python's rename does.
                    let rotated = p.rotated
                        || (db.archives
                            && vmware_policy::audit::rotate::archives(&db.path) != db.archive_list);
                    if rotated {
                        // The reader holds the archive now: read the new
                        // file (and the new list of archives).
                        db.files.clear();
                        let _ = db.ensure();
                    }
                    let more = p.rows.len() >= BATCH;
                    let live = db.files.len().saturating_sub(1);
                    Ok(Some(Response::Tail {
                        rows: p.rows.into_iter().map(|r| Row::new(live, r)).collect(),
                        rotated,
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
        Request::Find {
            generation,
            filter,
            search,
            find,
            from,
            forward,
        } => {
            if stale(generation) {
                return Ok(None);
            }
            db.ensure()?;
            let newest = db.tail.as_ref().map_or(0, Tail::last_id);
            let (Ok(find), search) = (
                Search::compile(&find),
                search.as_ref().and_then(|s| Search::compile(s).ok()),
            ) else {
                return Ok(None);
            };
            for reader in &mut db.files {
                let latest = latest_gen.clone();
                reader.interrupt_when(Some(move || generation < latest.load(Ordering::Relaxed)));
            }
            // Rows `find` matches, one at a time, until one the view's own
            // search keeps too (most views have none: the first one).
            let mut anchor = if forward {
                Anchor::After(from)
            } else {
                Anchor::Before(from)
            };
            let at = loop {
                match page(&db.files, &filter, Some(&find), anchor, newest, 1, &|| {
                    stale(generation)
                }) {
                    Ok(Some((rows, edge, exhausted))) => {
                        if let Some(r) = rows.first()
                            && search.as_ref().is_none_or(|s| s.matches(r))
                        {
                            break Some(r.pos);
                        }
                        if exhausted {
                            break None;
                        }
                        anchor = if forward {
                            Anchor::After(edge)
                        } else {
                            Anchor::Before(edge)
                        };
                    }
                    Ok(None) => return Ok(None),
                    Err(_) if stale(generation) => return Ok(None),
                    Err(e) => return Err(db.fail_scan(e)),
                }
            };
            Ok(Some(Response::Found {
                generation,
                forward,
                at,
            }))
        }
        Request::Archives(on) => {
            if db.archives != on {
                db.archives = on;
                db.files.clear();
            }
            Ok(None)
        }
        Request::Replay(job) => {
            db.ensure()?;
            let started = Instant::now();
            let reader = db.live_mut();
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
            let reader = db.live_mut();
            reader.interrupt_when(None::<fn() -> bool>);
            let mut diagnostics = vmware_policy::policy::validate(&text);
            vmware_policy::replay::add_blast_radius(&mut diagnostics, &text, reader);
            Ok(Some(Response::BlastRadius { rev, diagnostics }))
        }
        Request::Locate { generation, ts } => {
            db.ensure()?;
            // Files are in time order: the newest one with a row at or
            // before `ts` holds the answer.
            let mut at = None;
            for (file, reader) in db.files.iter_mut().enumerate().rev() {
                reader.interrupt_when(None::<fn() -> bool>);
                let id = reader
                    .last_id_at_or_before(&ts)
                    .map_err(|e| problem(&ReadError::Sqlite(e), &db.path))?;
                if let Some(id) = id {
                    at = Some(Pos { file, id });
                    break;
                }
            }
            Ok(Some(Response::Located { generation, ts, at }))
        }
        Request::Export {
            path,
            filter,
            search,
        } => {
            db.ensure()?;
            let written = History::open(&db.path, db.archives)
                .map_err(|e| problem(&e, &db.path))
                .map(|h| crate::cli::source::Source::Local(h, db.path.clone()));
            Ok(Some(Response::Exported(match written {
                Ok(source) => super::export::to_file(&source, &path, &filter, search.as_ref())
                    .map(|n| (path, n)),
                Err(DbProblem::Missing(e) | DbProblem::Unreadable(e)) => Err(e),
            })))
        }
        Request::UserValues => {
            db.ensure()?;
            let mut counts = std::collections::BTreeMap::<String, u64>::new();
            let mut failed = None;
            for reader in &mut db.files {
                reader.interrupt_when(None::<fn() -> bool>);
                match reader.user_counts() {
                    Ok(v) => v
                        .into_iter()
                        .for_each(|(u, n)| *counts.entry(u).or_default() += n),
                    Err(e) => failed = Some(e.to_string()),
                }
            }
            Ok(Some(Response::UserValues(match failed {
                Some(e) => Err(e),
                None => {
                    // Most first, as one file's counts come.
                    let mut v: Vec<_> = counts.into_iter().collect();
                    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                    v.truncate(1000);
                    Ok(v)
                }
            })))
        }
        Request::Overview => {
            db.ensure()?;
            Ok(Some(Response::Overview(
                history(db)
                    .and_then(|h| {
                        stats::compute_with_progress(
                            &h,
                            &Filter::default(),
                            Bucket::Day,
                            &mut progress,
                        )
                    })
                    .map_err(|e| e.to_string()),
            )))
        }
    }
}

fn history(db: &Db) -> rusqlite::Result<History> {
    History::open(&db.path, db.archives).map_err(|e| match e {
        ReadError::Sqlite(e) => e,
        ReadError::Missing(_) => rusqlite::Error::QueryReturnedNoRows,
        ReadError::NotAFile(p) => rusqlite::Error::InvalidPath(p),
    })
}

#[cfg(test)]
#[path = "data_tests.rs"]
mod tests;
