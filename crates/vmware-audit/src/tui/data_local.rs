//! The data worker on this host's files: the live database (with its
//! archives on request), each request answered from them, pages scanned and
//! interrupted when a newer request makes them stale.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use vmware_policy::audit::stats::{self, Bucket};
use vmware_policy::audit::tail::{BATCH, Tail};
use vmware_policy::audit::{Filter, History, ReadError, Reader, sidecar};

use super::data::{DbProblem, Pos, Request, Response, Row, ScanError, page};
use super::search::Search;

pub struct Db {
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
    pub fn new(path: PathBuf, archives: bool) -> Db {
        Db {
            path,
            archives,
            files: Vec::new(),
            archive_list: Vec::new(),
            tail: None,
        }
    }

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

pub fn handle(
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
            // A substring search, a workflow or a correlation id needs a
            // part of the sidecar built the first time: build the live
            // file's here, said as it goes, rather than behind a silent page.
            // (An archive's is built when a page first reaches it: most
            // pages never do.)
            let scanned = search
                .as_ref()
                .map_or_else(|| filter.clone(), |s| s.prefilter(&filter));
            if scanned.contains.is_some()
                || !scanned.workflow_ids.is_empty()
                || !scanned.correlation_ids.is_empty()
            {
                sidecar::narrow_with_progress(db.live(), &scanned, &mut progress);
                if stale(generation) {
                    return Ok(None);
                }
            }
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
            let found = super::paging::find(
                &db.files,
                &filter,
                &find,
                search.as_ref(),
                from,
                forward,
                newest,
                &|| stale(generation),
            );
            match found {
                Ok(Some(at)) => Ok(Some(Response::Found {
                    generation,
                    forward,
                    at,
                })),
                Ok(None) => Ok(None),
                Err(_) if stale(generation) => Ok(None),
                Err(e) => Err(db.fail_scan(e)),
            }
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
