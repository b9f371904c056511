//! `vmware-audit ship`: this host's audit rows to the fleet's PostgreSQL,
//! exactly once.
//!
//! Every pass reads each database file, archives first (oldest first) then
//! the live one, from its cursor on, 500 rows at a time, each batch one
//! transaction. A row is keyed by (host, db_uuid, row id): the live file is
//! given a db_uuid if it has none, and a file's uuid is read in the same
//! SQLite transaction as its rows, so a rotation of either kind (our copy,
//! Python's rename) can never attach rows to the wrong file. The cursor of a
//! file is read from the central rows at start and after every reconnect, and
//! moves only after COMMIT: a lost local state loses nothing, a batch sent
//! twice lands once. While the server is down the shipper backs off
//! (exponential, with jitter) and the skills, which never talk to it, do not
//! notice.

pub mod batch;
pub mod state;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use vmware_policy::audit::{Reader, db_uuid, rotate};

use super::connect::{Target, explain};
use crate::cli::signals;
use state::{FileState, State};

/// Rows per batch (one INSERT of 500 rows binds 10,000 values).
pub const BATCH: usize = 500;
/// How often a caught-up shipper looks for new rows: rows wait at most this
/// long plus one commit.
const POLL: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

pub struct Options {
    pub db: PathBuf,
    pub target: Target,
    pub host_id: String,
    /// Ship what there is and exit (0 when all of it is committed).
    pub once: bool,
}

/// What a run did, for the last line it prints.
#[derive(Debug, Default)]
pub struct Totals {
    pub rows: u64,
    pub batches: u64,
    pub gaps: u64,
}

struct Shipper {
    opts: Options,
    client: Option<postgres::Client>,
    /// db_uuid -> last row id committed centrally (valid for this connection).
    cursors: HashMap<String, i64>,
    state: State,
    totals: Totals,
    /// The state changed since it was saved.
    dirty: bool,
}

/// One shipper per home: a second one would only race the first's state.
fn lock(db: &Path) -> Result<std::fs::File, String> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let name = format!("{}.ship-lock", file_name(db));
    let path = db.with_file_name(name);
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    // SAFETY: a valid descriptor for the duration of the call.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return Err(format!(
            "another `vmware-audit ship` is running for {} (it holds {})",
            db.display(),
            path.display()
        ));
    }
    Ok(f)
}

/// Run until SIGTERM/SIGINT (or, with `once`, until caught up). Exit code.
pub fn run(opts: Options) -> i32 {
    let _lock = match lock(&opts.db) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("vmware-audit ship: {e}");
            return 2;
        }
    };
    signals::catch();
    let mut state = State::load(&opts.db);
    if !state.host_id.is_empty() && state.host_id != opts.host_id {
        eprintln!(
            "vmware-audit ship: this home was shipped as host {:?}; now {:?}. Rows are keyed by \
             host: the fleet will hold this host's rows under both names.",
            state.host_id, opts.host_id
        );
    }
    state.host_id = opts.host_id.clone();
    let mut s = Shipper {
        opts,
        client: None,
        cursors: HashMap::new(),
        state,
        totals: Totals::default(),
        dirty: true,
    };
    let mut backoff = Duration::from_millis(500);
    let mut down_since: Option<Instant> = None;
    let mut failures = 0;
    loop {
        match s.pass() {
            Ok(shipped) => {
                if let Some(t) = down_since.take() {
                    eprintln!(
                        "vmware-audit ship: {} reachable again after {:.0?}",
                        s.opts.target.shown,
                        t.elapsed()
                    );
                }
                backoff = Duration::from_millis(500);
                failures = 0;
                if s.opts.once && shipped == 0 {
                    break;
                }
                if signals::stopping() {
                    break;
                }
                if shipped == 0 {
                    signals::sleep(POLL);
                }
            }
            Err(e) => {
                // The transaction in flight may or may not have committed:
                // the cursors are read again from the server.
                s.client = None;
                s.cursors.clear();
                failures += 1;
                if down_since.is_none() {
                    down_since = Some(Instant::now());
                    eprintln!("vmware-audit ship: {e}; retrying with backoff");
                }
                if s.opts.once && failures >= 3 {
                    let _ = s.state.save(&s.opts.db);
                    eprintln!("vmware-audit ship: giving up (--once): {e}");
                    return 1;
                }
                if signals::stopping() {
                    break;
                }
                signals::sleep(jitter(backoff));
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
    let _ = s.state.save(&s.opts.db);
    eprintln!(
        "vmware-audit ship: {} rows in {} batches to {} as host {}{}",
        s.totals.rows,
        s.totals.batches,
        s.opts.target.shown,
        s.opts.host_id,
        if s.totals.gaps > 0 {
            format!("; {} gaps recorded", s.totals.gaps)
        } else {
            String::new()
        }
    );
    0
}

/// Between half and all of `d`, so many shippers do not retry in step.
fn jitter(d: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.subsec_nanos() as u64)
        ^ u64::from(std::process::id()).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let half = d / 2;
    half + Duration::from_nanos(nanos % (half.as_nanos() as u64 + 1))
}

impl Shipper {
    fn client(&mut self) -> Result<&mut postgres::Client, String> {
        if self.client.is_none() {
            self.client = Some(self.opts.target.connect()?);
        }
        Ok(self.client.as_mut().expect("connected above"))
    }

    fn cursor(&mut self, uuid: &str) -> Result<i64, String> {
        if let Some(c) = self.cursors.get(uuid) {
            return Ok(*c);
        }
        let host = self.opts.host_id.clone();
        let c = batch::cursor(self.client()?, &host, uuid).map_err(|e| explain(&e))?;
        self.cursors.insert(uuid.to_string(), c);
        Ok(c)
    }

    /// Ship everything there is now; the rows shipped.
    fn pass(&mut self) -> Result<u64, String> {
        self.client()?;
        let db = self.opts.db.clone();
        let mut shipped = 0;
        let mut present = BTreeSet::new();
        let mut complete_view = true;
        let archives = rotate::archives(&db);
        for archive in &archives {
            let name = file_name(archive);
            if self.state.archive_done(&name) {
                if let Some(u) = self.state.archive_uuids.get(&name) {
                    present.insert(u.clone());
                }
                continue;
            }
            match self.ship_file(archive, false)? {
                Some((uuid, n, done)) => {
                    shipped += n;
                    present.insert(uuid.clone());
                    if done {
                        self.state.shipped_archives.push(name.clone());
                        self.state.archive_uuids.insert(name, uuid);
                        self.dirty = true;
                    }
                }
                None => complete_view = false,
            }
        }
        if db.exists() {
            match self.ship_file(&db, true)? {
                Some((uuid, n, _)) => {
                    shipped += n;
                    present.insert(uuid);
                }
                None => complete_view = false,
            }
        }
        // Forget archives that are gone.
        let names: BTreeSet<String> = archives.iter().map(|a| file_name(a)).collect();
        let known = self.state.shipped_archives.len();
        self.state.shipped_archives.retain(|n| names.contains(n));
        self.state.archive_uuids.retain(|n, _| names.contains(n));
        self.dirty |= known != self.state.shipped_archives.len();
        if complete_view {
            self.vanished(&present)?;
        }
        // Saved when it changed, and once a minute as a heartbeat (our
        // retention's hold lapses without one).
        if self.dirty || state::now_secs() >= self.state.heartbeat + 60 {
            self.state.save(&db)?;
            self.dirty = false;
        }
        Ok(shipped)
    }

    /// Files that went away with rows never shipped: a gap, recorded centrally.
    fn vanished(&mut self, present: &BTreeSet<String>) -> Result<(), String> {
        let gone: Vec<(String, FileState)> = self
            .state
            .files
            .iter()
            .filter(|(u, _)| !present.contains(*u))
            .map(|(u, f)| (u.clone(), f.clone()))
            .collect();
        for (uuid, f) in gone {
            if f.seen > f.shipped {
                let host = self.opts.host_id.clone();
                let reason = "the file was deleted before these rows were shipped (a retention that does not wait for ship: Python's)";
                batch::gap(
                    self.client()?,
                    &host,
                    &uuid,
                    f.shipped + 1,
                    Some(f.seen),
                    reason,
                )
                .map_err(|e| explain(&e))?;
                self.totals.gaps += 1;
                eprintln!(
                    "vmware-audit ship: gap: rows {}..={} of database {uuid} were lost before shipping ({reason})",
                    f.shipped + 1,
                    f.seen
                );
            }
            self.state.files.remove(&uuid);
            self.dirty = true;
        }
        Ok(())
    }

    /// Ship one file from its cursor to its end. Its uuid, the rows shipped,
    /// and whether it is all shipped; `None` when it cannot be read now.
    fn ship_file(
        &mut self,
        path: &Path,
        live: bool,
    ) -> Result<Option<(String, u64, bool)>, String> {
        let Ok(reader) = Reader::open(path) else {
            return Ok(None);
        };
        // A file with no uuid of its own (an archive rotated before any
        // shipper or seal named it) is named by its first row, as seal does.
        let mut first = reader.snapshot_after(i64::MAX, 0);
        if live && first.as_ref().is_ok_and(|s| s.db_uuid.is_none()) {
            // The live file is given one (what both rotations carry on).
            name_live(path);
            first = reader.snapshot_after(i64::MAX, 0);
        }
        let derived = match first {
            Ok(s) if s.db_uuid.is_some() => None,
            Ok(_) if live => return Ok(None), // could not be named: said
            Ok(_) => match derived_name(path) {
                Some(d) => Some(d),
                None => return Ok(None),
            },
            Err(_) => return Ok(None),
        };
        let mut shipped = 0;
        let mut tries = 0;
        loop {
            let uuid = match &derived {
                Some(d) => d.clone(),
                None => match reader.snapshot_after(i64::MAX, 0) {
                    Ok(s) => match s.db_uuid {
                        Some(u) => u,
                        None => return Ok(None),
                    },
                    Err(_) => return Ok(None),
                },
            };
            let cursor = self.cursor(&uuid)?;
            let Ok(snap) = reader.snapshot_after(cursor, BATCH) else {
                return Ok(None);
            };
            if derived.is_none() && snap.db_uuid.as_deref() != Some(uuid.as_str()) {
                // A rotation between the two reads: read again.
                tries += 1;
                if tries > 3 {
                    return Ok(None);
                }
                continue;
            }
            let rows = snap.rows;
            let entry = self.state.files.entry(uuid.clone()).or_default();
            let before = entry.clone();
            entry.seen = entry.seen.max(snap.max_id);
            entry.shipped = entry.shipped.max(cursor);
            self.dirty |= *entry != before;
            let Some(last) = rows.last().map(|r| r.id) else {
                return Ok(Some((uuid, shipped, true)));
            };
            let host = self.opts.host_id.clone();
            if cursor > 0 && rows[0].id > cursor + 1 {
                let reason = "ids missing inside the file";
                batch::gap(
                    self.client()?,
                    &host,
                    &uuid,
                    cursor + 1,
                    Some(rows[0].id - 1),
                    reason,
                )
                .map_err(|e| explain(&e))?;
                self.totals.gaps += 1;
            }
            batch::insert(self.client()?, &host, &uuid, &rows).map_err(|e| explain(&e))?;
            // Committed: the cursor moves.
            self.cursors.insert(uuid.clone(), last);
            self.state.files.entry(uuid.clone()).or_default().shipped = last;
            self.dirty = true;
            shipped += rows.len() as u64;
            self.totals.rows += rows.len() as u64;
            self.totals.batches += 1;
            if rows.len() < BATCH || signals::stopping() {
                let done = rows.len() < BATCH && !live;
                return Ok(Some((uuid, shipped, done)));
            }
        }
    }
}

/// Give the live file a db_uuid (one small write transaction).
fn name_live(path: &Path) {
    let named =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)
            .and_then(|c| {
                c.busy_timeout(Duration::from_millis(
                    vmware_policy::audit::conn::BUSY_TIMEOUT_MS,
                ))?;
                db_uuid::ensure(&c)
            });
    if let Err(e) = named {
        eprintln!(
            "vmware-audit ship: cannot name {} (its rows wait): {e}",
            path.display()
        );
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn derived_name(path: &Path) -> Option<String> {
    let file = crate::seal::db::DbFile {
        path: path.to_path_buf(),
        live: false,
    };
    crate::seal::db::Snapshot::open(&file, false).ok()?.log
}
