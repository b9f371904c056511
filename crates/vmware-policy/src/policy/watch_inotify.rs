//! On Linux, the rules file watched with inotify masks of our own.
//!
//! rules.yaml lives beside audit.db, and notify's directory watch asks for
//! every open, write and close in that directory: each audit row, from any
//! process, woke every skill's watcher (a quarter of all CPU samples in the
//! durable-call benchmark went to those wake-ups). Here the directory is
//! watched for entries only (created, deleted, renamed: how a save replaces
//! the file), and the file itself for its writes. The events are handed on as
//! notify's, so the rest of the watcher does not know the difference.

use std::ffi::{OsStr, OsString};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use inotify::{EventMask, Inotify, WatchDescriptor, WatchMask};
use notify::event::{AccessKind, AccessMode, CreateKind, Flag, ModifyKind, RemoveKind, RenameMode};
use notify::{Event, EventKind};

/// The directory's entries only: no open, write or close of the files in it.
const DIR_MASK: WatchMask = WatchMask::CREATE
    .union(WatchMask::DELETE)
    .union(WatchMask::MOVED_FROM)
    .union(WatchMask::MOVED_TO)
    .union(WatchMask::DELETE_SELF)
    .union(WatchMask::MOVE_SELF)
    .union(WatchMask::ONLYDIR);

/// The file's own changes: written, closed after a write, chmodded.
const FILE_MASK: WatchMask = WatchMask::MODIFY
    .union(WatchMask::CLOSE_WRITE)
    .union(WatchMask::ATTRIB);

/// How often the thread looks whether it is still wanted.
const CHECK_MS: i32 = 250;

/// Keeps the watch alive; dropped, its thread ends within [`CHECK_MS`].
pub(super) struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

type Events = mpsc::Receiver<notify::Result<Event>>;

/// Watch `name` in `dir`; `None` when inotify or the directory is unavailable.
pub(super) fn start(dir: &Path, name: &OsStr) -> Option<(StopOnDrop, Events)> {
    let ino = Inotify::init().ok()?;
    let dir_wd = ino.watches().add(dir, DIR_MASK).ok()?;
    let file = dir.join(name);
    // Absent for now: its creation in the directory adds the watch.
    let file_wd = ino.watches().add(&file, FILE_MASK).ok();
    let (tx, rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let state = State {
        ino,
        dir_wd,
        file_wd,
        file,
        name: name.to_os_string(),
        tx,
        stop: stop.clone(),
    };
    std::thread::Builder::new()
        .name("vmware-policy-inotify".into())
        .spawn(move || state.run())
        .ok()?;
    Some((StopOnDrop(stop), rx))
}

struct State {
    ino: Inotify,
    dir_wd: WatchDescriptor,
    file_wd: Option<WatchDescriptor>,
    file: PathBuf,
    name: OsString,
    tx: mpsc::Sender<notify::Result<Event>>,
    stop: Arc<AtomicBool>,
}

impl State {
    fn run(mut self) {
        let mut buf = [0u8; 4096];
        while !self.stop.load(Ordering::Relaxed) {
            let mut fds = libc::pollfd {
                fd: self.ino.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd, for the duration of the call.
            if unsafe { libc::poll(&mut fds, 1, CHECK_MS) } <= 0 {
                continue;
            }
            let events: Vec<(WatchDescriptor, EventMask, Option<OsString>)> =
                match self.ino.read_events(&mut buf) {
                    Ok(evs) => evs
                        .map(|e| (e.wd, e.mask, e.name.map(OsStr::to_os_string)))
                        .collect(),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    Err(_) => return, // the receiver falls back to polling
                };
            for (wd, mask, name) in events {
                let Some(event) = self.translate(&wd, mask, name.as_deref()) else {
                    continue;
                };
                let lost = event.is_none();
                if self.tx.send(event.ok_or_else(lost_watch)).is_err() || lost {
                    return;
                }
            }
        }
    }

    /// The notify event for one inotify event, if it concerns the file
    /// (`Some(None)`: the directory's watch is gone).
    fn translate(
        &mut self,
        wd: &WatchDescriptor,
        mask: EventMask,
        name: Option<&OsStr>,
    ) -> Option<Option<Event>> {
        let event = |kind| Event::new(kind).add_path(self.file.clone());
        if mask.contains(EventMask::Q_OVERFLOW) {
            return Some(Some(Event::new(EventKind::Other).set_flag(Flag::Rescan)));
        }
        if *wd == self.dir_wd {
            if mask.intersects(EventMask::DELETE_SELF | EventMask::MOVE_SELF | EventMask::IGNORED) {
                return Some(None);
            }
            if name != Some(self.name.as_os_str()) {
                return None;
            }
            let kind = if mask.contains(EventMask::CREATE) {
                EventKind::Create(CreateKind::File)
            } else if mask.contains(EventMask::MOVED_TO) {
                EventKind::Modify(ModifyKind::Name(RenameMode::To))
            } else if mask.contains(EventMask::MOVED_FROM) {
                EventKind::Modify(ModifyKind::Name(RenameMode::From))
            } else {
                EventKind::Remove(RemoveKind::File)
            };
            if mask.intersects(EventMask::CREATE | EventMask::MOVED_TO) {
                // A new file at the name: watch its writes from now on.
                self.file_wd = self.ino.watches().add(&self.file, FILE_MASK).ok();
            }
            return Some(Some(event(kind)));
        }
        if self.file_wd.as_ref() != Some(wd) {
            return None; // a file that was replaced at the name
        }
        let kind = if mask.contains(EventMask::IGNORED) {
            self.file_wd = None;
            return None;
        } else if mask.contains(EventMask::CLOSE_WRITE) {
            EventKind::Access(AccessKind::Close(AccessMode::Write))
        } else if mask.contains(EventMask::ATTRIB) {
            EventKind::Modify(ModifyKind::Metadata(notify::event::MetadataKind::Any))
        } else {
            EventKind::Modify(ModifyKind::Data(notify::event::DataChange::Any))
        };
        Some(Some(event(kind)))
    }
}

fn lost_watch() -> notify::Error {
    notify::Error::generic("the directory's watch is gone")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::time::Duration;

    fn next(rx: &Events) -> Event {
        rx.recv_timeout(Duration::from_secs(5))
            .expect("an event")
            .expect("not an error")
    }

    /// What audit writes do beside the rules file: open, write, sync and
    /// close other files in the directory, over and over.
    fn audit_like_activity(dir: &Path) {
        for i in 0..100 {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("audit.db-wal"))
                .unwrap();
            writeln!(f, "row {i}").unwrap();
            f.sync_data().unwrap();
        }
    }

    #[test]
    fn the_rules_file_is_seen_and_the_audit_files_beside_it_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let rules = dir.path().join("rules.yaml");
        std::fs::write(&rules, "deny: []\n").unwrap();
        std::fs::write(dir.path().join("audit.db-wal"), "").unwrap();
        let (_keep, rx) = start(dir.path(), OsStr::new("rules.yaml")).unwrap();

        audit_like_activity(dir.path());
        std::thread::sleep(Duration::from_millis(300));
        assert!(rx.try_recv().is_err(), "no event for the audit files");

        // Written in place: its data, then its close.
        std::fs::write(&rules, "deny: [{name: a, operations: ['*']}]\n").unwrap();
        let ev = next(&rx);
        assert_eq!(ev.paths, vec![rules.clone()]);
        assert!(
            matches!(ev.kind, EventKind::Modify(ModifyKind::Data(_))),
            "{ev:?}"
        );
        while rx.recv_timeout(Duration::from_millis(100)).is_ok() {}

        // Saved by rename over it, then written in place again: the new file
        // is watched.
        let tmp = dir.path().join(".rules.yaml.tmp");
        std::fs::write(&tmp, "deny: []\n").unwrap();
        std::fs::rename(&tmp, &rules).unwrap();
        let ev = next(&rx);
        assert_eq!(ev.kind, EventKind::Modify(ModifyKind::Name(RenameMode::To)));
        std::fs::write(&rules, "deny: []\n# edited\n").unwrap();
        assert!(matches!(
            next(&rx).kind,
            EventKind::Modify(ModifyKind::Data(_))
        ));
        while rx.recv_timeout(Duration::from_millis(100)).is_ok() {}
        audit_like_activity(dir.path());
        std::thread::sleep(Duration::from_millis(300));
        assert!(rx.try_recv().is_err(), "still nothing for the audit files");

        // Deleted, then made again and written.
        // (The file's own watch says its link count changed first.)
        std::fs::remove_file(&rules).unwrap();
        while next(&rx).kind != EventKind::Remove(RemoveKind::File) {}
        std::fs::write(&rules, "deny: []\n").unwrap();
        assert_eq!(next(&rx).kind, EventKind::Create(CreateKind::File));
    }

    /// Not filtered after the fact: the kernel queues nothing, so nothing
    /// wakes (with notify's mask, each audit row queued several events).
    #[test]
    fn audit_writes_queue_no_event_for_the_directory_watch() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("audit.db-wal"), "").unwrap();
        let ino = Inotify::init().unwrap();
        ino.watches().add(dir.path(), DIR_MASK).unwrap();
        audit_like_activity(dir.path());
        let mut ino = ino;
        let mut buf = [0u8; 4096];
        let queued = ino.read_events(&mut buf);
        assert!(
            matches!(&queued, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "{:?}",
            queued.map(|e| e.map(|e| e.mask).collect::<Vec<_>>())
        );
    }

    #[test]
    fn a_file_absent_at_first_is_watched_once_it_is_created() {
        let dir = tempfile::tempdir().unwrap();
        let rules = dir.path().join("rules.yaml");
        let (_keep, rx) = start(dir.path(), OsStr::new("rules.yaml")).unwrap();
        std::fs::File::create(&rules).unwrap();
        assert_eq!(next(&rx).kind, EventKind::Create(CreateKind::File));
        while rx.recv_timeout(Duration::from_millis(100)).is_ok() {}
        // Written later, in place: seen through the watch added at its creation.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&rules)
            .unwrap()
            .write_all(b"deny: []\n")
            .unwrap();
        assert!(matches!(
            next(&rx).kind,
            EventKind::Modify(ModifyKind::Data(_))
        ));
    }

    #[test]
    fn the_directory_going_away_ends_the_watch() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("home");
        std::fs::create_dir(&sub).unwrap();
        let (_keep, rx) = start(&sub, OsStr::new("rules.yaml")).unwrap();
        std::fs::remove_dir(&sub).unwrap();
        // An error (the watcher falls back to polling and watches again),
        // then the channel closes.
        assert!(
            rx.recv_timeout(Duration::from_secs(5))
                .expect("told")
                .is_err()
        );
        assert!(matches!(
            rx.recv_timeout(Duration::from_secs(5)),
            Err(mpsc::RecvTimeoutError::Disconnected)
        ));
    }
}
