//! Reload rules.yaml when it changes: a watcher on its directory (on Linux
//! our own inotify masks, `watch_inotify`; elsewhere notify's), with a
//! polling fallback. `VMWARE_POLICY_NOTIFY=1` uses notify's on Linux too.
//!
//! The directory is watched, not the file, so atomic-rename saves, editors that
//! replace the file, deletion and re-creation are all seen. A slow poll runs
//! beside the watcher as a safety net (a deleted and re-created directory drops
//! an inotify watch), and alone when watching is unavailable.
//!
//! A file is read only once it has been quiet: an in-place truncating write
//! shows an empty or partial file for a moment, and loading that would allow
//! what the complete file denies. A file that replaced the one loaded (a new
//! inode: an atomic rename) is whole as soon as it is there, so [`QUIET`] is
//! short; a file written in place must stay unchanged for [`IN_PLACE_QUIET`]
//! (an empty one for [`EMPTY_QUIET`]: empty means "allow everything", and a
//! writer preempted between truncating and writing looks just like it). What
//! was read is installed only if the file did not change while it was read.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use notify::{EventKind, RecursiveMode, Watcher as _};

use super::engine::Shared;

/// How long a new file (a new inode) must stay unchanged before it is read.
pub const QUIET: Duration = Duration::from_millis(20);
/// The same for the file loaded, written in place.
pub const IN_PLACE_QUIET: Duration = Duration::from_millis(200);
/// The same for an empty file written in place.
pub const EMPTY_QUIET: Duration = Duration::from_secs(1);
/// Poll interval when file watching is unavailable.
pub const POLL: Duration = Duration::from_millis(100);
/// Safety-net poll interval beside a working watcher.
pub const SAFETY_POLL: Duration = Duration::from_millis(1000);
/// Longest wait for a file to go quiet before it is read anyway.
const MAX_SETTLE: Duration = Duration::from_secs(2);

/// Stops the watcher thread when dropped.
pub(crate) struct Watcher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            // The thread wakes at least every poll interval.
            let _ = t.join();
        }
    }
}

/// What identifies one version of the file without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fingerprint {
    ino: u64,
    dev: u64,
    pub(crate) len: u64,
    pub(crate) mtime: Option<SystemTime>,
    ctime_ns: i64,
}

pub(crate) fn fingerprint(path: &Path) -> Option<Fingerprint> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let (ino, dev, ctime_ns) = {
        use std::os::unix::fs::MetadataExt;
        (
            meta.ino(),
            meta.dev(),
            meta.ctime() * 1_000_000_000 + meta.ctime_nsec(),
        )
    };
    #[cfg(not(unix))]
    let (ino, dev, ctime_ns) = (0, 0, 0);
    Some(Fingerprint {
        ino,
        dev,
        len: meta.len(),
        mtime: meta.modified().ok(),
        ctime_ns,
    })
}

/// Watch `shared.path`; `loaded` is the fingerprint taken *before* the rule set
/// in force was read, so a change made while it was being read is not missed.
pub(crate) fn spawn(shared: Arc<Shared>, loaded: Option<Fingerprint>) -> Watcher {
    let stop = Arc::new(AtomicBool::new(false));
    let weak = Arc::downgrade(&shared);
    let path = shared.path.clone();
    drop(shared);
    let stop2 = stop.clone();
    let thread = std::thread::Builder::new()
        .name("vmware-policy-rules-watch".into())
        .spawn(move || run(path, weak, stop2, loaded))
        .ok();
    Watcher { stop, thread }
}

struct Notifier {
    _watcher: Box<dyn std::any::Any + Send>,
    rx: mpsc::Receiver<notify::Result<notify::Event>>,
}

fn start_notifier(dir: &Path, name: Option<&std::ffi::OsStr>) -> Option<Notifier> {
    if std::env::var_os("VMWARE_POLICY_POLL").is_some() {
        return None; // forced polling: for tests of the fallback, and odd file systems
    }
    #[cfg(target_os = "linux")]
    if std::env::var_os("VMWARE_POLICY_NOTIFY").is_none()
        && let Some(w) = name.and_then(|n| super::watch_inotify::start(dir, n))
    {
        return Some(Notifier {
            _watcher: Box::new(w.0),
            rx: w.1,
        });
    }
    #[cfg(not(target_os = "linux"))]
    let _ = name;
    let (tx, rx) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |ev| {
        let _ = tx.send(ev);
    })
    .ok()?;
    watcher.watch(dir, RecursiveMode::NonRecursive).ok()?;
    Some(Notifier {
        _watcher: Box::new(watcher),
        rx,
    })
}

fn run(path: PathBuf, shared: Weak<Shared>, stop: Arc<AtomicBool>, loaded: Option<Fingerprint>) {
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let name = path.file_name().map(|n| n.to_os_string());
    let mut notifier = start_notifier(&dir, name.as_deref());
    let mut seen = loaded;
    let mut next_poll = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let interval = if notifier.is_some() {
            SAFETY_POLL
        } else {
            POLL
        };
        let mut relevant = false;
        // Whether the burst ended with the file renamed into place (whole),
        // rather than with data written at its name.
        let mut renamed_in = false;
        match &notifier {
            Some(n) => match n.rx.recv_timeout(interval.min(POLL)) {
                Ok(Ok(ev)) => {
                    relevant = is_relevant(&ev, name.as_deref());
                    renamed_in = note_rename(&ev, name.as_deref(), renamed_in);
                    // Drain what is already queued: one reload for a burst.
                    while let Ok(more) = n.rx.try_recv() {
                        match more {
                            Ok(e) => {
                                relevant |= is_relevant(&e, name.as_deref());
                                renamed_in = note_rename(&e, name.as_deref(), renamed_in);
                            }
                            Err(_) => relevant = true,
                        }
                    }
                }
                Ok(Err(_)) => relevant = true,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => notifier = None,
            },
            None => std::thread::sleep(POLL),
        }
        let now = Instant::now();
        let poll_due = now >= next_poll;
        if poll_due {
            next_poll = now + interval;
            if notifier.is_none() || !dir.exists() {
                // (Re-)establish the watch: the directory may have been created or replaced.
                notifier = start_notifier(&dir, name.as_deref());
            }
        }
        if !(relevant || poll_due && fingerprint(&path) != seen) {
            continue;
        }
        let Some(shared) = shared.upgrade() else {
            return;
        };
        // Read once the file is quiet, and install what was read only if the
        // file did not change meanwhile; otherwise settle and read again.
        let loaded = seen.clone();
        for _ in 0..50 {
            let now = settle(&path, &stop, loaded.as_ref(), renamed_in);
            let quiet = quiet_for(now.as_ref(), loaded.as_ref(), renamed_in);
            if shared.reload_if_stable(now.as_ref(), quiet).is_some()
                || stop.load(Ordering::Relaxed)
            {
                seen = now;
                break;
            }
        }
    }
}

/// Follow a burst of events: a rename into our name makes the file whole;
/// data written at our name (or its creation) after that makes it not.
fn note_rename(ev: &notify::Event, name: Option<&std::ffi::OsStr>, so_far: bool) -> bool {
    use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
    let ours = ev.paths.iter().any(|p| p.file_name() == name);
    if !ours {
        return so_far;
    }
    match ev.kind {
        EventKind::Modify(ModifyKind::Name(RenameMode::To)) => true,
        EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
            ev.paths.last().is_some_and(|p| p.file_name() == name)
        }
        EventKind::Create(_)
        | EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Any)
        | EventKind::Access(AccessKind::Close(AccessMode::Write)) => false,
        _ => so_far,
    }
}

fn is_relevant(ev: &notify::Event, name: Option<&std::ffi::OsStr>) -> bool {
    if matches!(
        ev.kind,
        EventKind::Access(notify::event::AccessKind::Open(_) | notify::event::AccessKind::Read)
    ) {
        return false;
    }
    ev.need_rescan() || ev.paths.is_empty() || ev.paths.iter().any(|p| p.file_name() == name)
}

/// How long `now` must have been unchanged. An empty file: long (it means
/// "allow everything"). A file renamed into place (the watcher saw the rename
/// last, or its ctime is later than its mtime) and not the file loaded:
/// short, it is whole. Anything written in place (the loaded file, or a new file created
/// and written at its name): longer, a writer may be between two writes.
pub(crate) fn quiet_for(
    now: Option<&Fingerprint>,
    loaded: Option<&Fingerprint>,
    renamed_in: bool,
) -> Duration {
    let Some(n) = now else {
        return QUIET; // absent: nothing to wait for
    };
    if n.len == 0 {
        return EMPTY_QUIET;
    }
    let same_file = loaded.is_some_and(|l| n.ino == l.ino && n.dev == l.dev);
    let mtime_ns = n
        .mtime
        .and_then(|m| m.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(i64::MAX, |d| d.as_nanos() as i64);
    if !same_file && (renamed_in || n.ctime_ns > mtime_ns) {
        QUIET
    } else {
        IN_PLACE_QUIET
    }
}

/// Wait until the file has not changed for as long as [`quiet_for`] says
/// (bounded by [`MAX_SETTLE`]); return its fingerprint then.
fn settle(
    path: &Path,
    stop: &AtomicBool,
    loaded: Option<&Fingerprint>,
    renamed_in: bool,
) -> Option<Fingerprint> {
    let deadline = Instant::now() + MAX_SETTLE;
    let mut last = fingerprint(path);
    loop {
        let quiet = quiet_for(last.as_ref(), loaded, renamed_in);
        let age = last
            .as_ref()
            .and_then(|f| f.mtime)
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .unwrap_or(quiet);
        if age >= quiet || Instant::now() >= deadline || stop.load(Ordering::Relaxed) {
            return last;
        }
        std::thread::sleep(quiet - age);
        let now = fingerprint(path);
        if now == last && Instant::now() >= deadline {
            return now;
        }
        last = now;
    }
}
