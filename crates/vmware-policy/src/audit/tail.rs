//! Following the live database as rows are written, across rotations: one
//! cursor for `log --follow` and the TUI's live stream.
//!
//! Two kinds of rotation happen under a reader's feet. The Python package
//! renames the live file to an archive: the tail notices that the path names
//! another file, reads what the file it held got after its last read (by the
//! archive's name: rows may have been checkpointed into it after our last
//! look), then starts the new file from its first row. Ours copies a prefix
//! of the rows to an archive and cuts it from the live file (see
//! [`super::rotate`]): the tail notices that the rows after its place are no
//! longer in the live file and reads them from the archive first. Either
//! way, no row is skipped or repeated.

use std::path::{Path, PathBuf};

use super::conn::{FileId, file_id};
use super::filter::Filter;
use super::query::{AuditRow, Order, ReadError, Reader};
use super::rotate;

/// Rows read per call at most, so one call never holds an unbounded batch.
pub const BATCH: usize = 5000;

/// A cursor on the live database at a path.
pub struct Tail {
    path: PathBuf,
    live: Option<Live>,
    /// Set after a read error (a file caught mid-creation, a short read): the
    /// next poll reopens and continues from here, skipping nothing.
    resume: Option<Resume>,
    /// The file archived by the last rotation, read a while longer: a writer
    /// that opened it just before the rename (the Python package opens a
    /// connection per row) can still commit into it for a moment.
    previous: Option<(PathBuf, Resume, std::time::Instant)>,
}

/// How long the archived file is still read after a rotation.
const GRACE: std::time::Duration = std::time::Duration::from_secs(3);

struct Live {
    reader: Reader,
    id: Option<FileId>,
    last: i64,
}

/// Where a failed read stopped, to resume there (the file and its last row).
struct Resume {
    id: Option<FileId>,
    last: i64,
}

impl Tail {
    /// Follow `path` from after row `after` (0: from its first row). The file
    /// need not exist yet: it is opened when it appears.
    pub fn new(path: &Path, after: i64) -> Tail {
        let mut t = Tail {
            path: path.to_path_buf(),
            live: None,
            resume: None,
            previous: None,
        };
        t.live = t.open(after).ok();
        t
    }

    fn open(&self, last: i64) -> Result<Live, ReadError> {
        let id = file_id(&self.path).map(|(id, _)| id);
        Reader::open(&self.path).map(|reader| Live { reader, id, last })
    }

    /// The id of the last row read from the current file.
    pub fn last_id(&self) -> i64 {
        match (&self.live, &self.resume) {
            (Some(l), _) => l.last,
            (None, Some(r)) => r.last,
            (None, None) => 0,
        }
    }

    /// Whether the database file is open (it may not exist yet).
    pub fn is_open(&self) -> bool {
        self.live.is_some()
    }

    /// The rows `filter` selects written since the last call, oldest first
    /// (at most [`BATCH`] per file; call again while it returns a full batch).
    /// `rotated` is set when the live file was replaced since the last call.
    pub fn poll(&mut self, filter: &Filter) -> Result<Polled, ReadError> {
        let result = self.poll_once(filter);
        if result.is_err() {
            // Keep the place; reopen on the next call.
            if let Some(l) = self.live.take() {
                self.resume = Some(Resume {
                    id: l.id,
                    last: l.last,
                });
            }
        }
        result
    }

    fn poll_once(&mut self, filter: &Filter) -> Result<Polled, ReadError> {
        if self.live.is_none() {
            let mut live = self.open(0)?;
            if let Some(r) = self.resume.take() {
                if live.id == r.id {
                    live.last = r.last;
                } else {
                    // Rotated while we could not read: the old file's rest first.
                    let mut rows = Vec::new();
                    if let Some(archive) = rotate::archives(&self.path)
                        .into_iter()
                        .rev()
                        .find(|p| file_id(p).map(|(id, _)| id) == r.id)
                        && let Ok(reader) = Reader::open(&archive)
                    {
                        let mut old = Live {
                            reader,
                            id: r.id,
                            last: r.last,
                        };
                        read_to_end(&mut old, filter, &mut rows)?;
                    }
                    rows.extend(read_new(&mut live, filter)?);
                    self.live = Some(live);
                    return Ok(Polled {
                        rows,
                        rotated: true,
                    });
                }
            }
            self.live = Some(live);
        }
        // Late rows of the file archived by the last rotation come first.
        let mut late = Vec::new();
        if let Some((path, at, since)) = self.previous.as_mut() {
            // A connection of its own each time: a read-only connection to a
            // file whose WAL files are gone would not see later changes.
            if let Ok(reader) = Reader::open(path) {
                let mut prev = Live {
                    reader,
                    id: at.id,
                    last: at.last,
                };
                late = read_new(&mut prev, filter).unwrap_or_default();
                at.last = prev.last;
            }
            if since.elapsed() > GRACE {
                self.previous = None;
            }
        }
        let cur = self.live.as_mut().expect("opened above");
        let replaced = file_id(&self.path).map(|(id, _)| id) != cur.id;
        let mut rows = late;
        let cut = if replaced {
            false
        } else {
            catch_up_archived(&self.path, cur, filter, &mut rows)?
        };
        rows.extend(read_new(cur, filter)?);
        if !replaced {
            return Ok(Polled { rows, rotated: cut });
        }
        // Rows checkpointed into the archive after our last read: read it once
        // more by its new name.
        if let Some(archive) = rotate::archives(&self.path)
            .into_iter()
            .rev()
            .find(|p| file_id(p).map(|(id, _)| id) == cur.id)
            && let Ok(reader) = Reader::open(&archive)
        {
            let mut again = Live {
                reader,
                id: cur.id,
                last: cur.last,
            };
            read_to_end(&mut again, filter, &mut rows)?;
            self.previous = Some((
                archive.clone(),
                Resume {
                    id: again.id,
                    last: again.last,
                },
                std::time::Instant::now(),
            ));
        }
        self.live = self.open(0).ok();
        let failed = match self.live.as_mut() {
            Some(l) => match read_new(l, filter) {
                Ok(more) => {
                    rows.extend(more);
                    false
                }
                Err(_) => true,
            },
            None => true,
        };
        if failed {
            // The new file cannot be read yet: deliver the old file's rows
            // now, and start the new one from its first row next time.
            self.live = None;
            self.resume = Some(Resume { id: None, last: 0 });
        }
        Ok(Polled {
            rows,
            rotated: true,
        })
    }
}

/// What one [`Tail::poll`] found.
#[derive(Debug, Default)]
pub struct Polled {
    pub rows: Vec<AuditRow>,
    pub rotated: bool,
}

/// After a rotation by copy, the rows between our place and the live file's
/// first row are in the newest archive(s): read them from there, oldest
/// first. Whether such a rotation happened since the last read.
fn catch_up_archived(
    path: &Path,
    cur: &mut Live,
    filter: &Filter,
    rows: &mut Vec<AuditRow>,
) -> Result<bool, ReadError> {
    if cur.last == 0 {
        // Following from the live file's first row, wherever that is.
        return Ok(false);
    }
    let (first, seq) = cur.reader.id_floor()?;
    let gap = match first {
        Some(first) => first > cur.last + 1,
        None => seq > cur.last,
    };
    if !gap {
        return Ok(false);
    }
    // Newest first, back to the archive holding the row after ours.
    let mut from = Vec::new();
    for archive in rotate::archives(path).into_iter().rev() {
        let Ok(reader) = Reader::open(&archive) else {
            continue;
        };
        let (Some(lo), hi) = reader.id_bounds()? else {
            continue;
        };
        if hi <= cur.last {
            break;
        }
        let holds_next = lo <= cur.last + 1;
        from.push((reader, hi));
        if holds_next {
            break;
        }
    }
    for (reader, hi) in from.into_iter().rev() {
        let mut old = Live {
            reader,
            id: None,
            last: cur.last,
        };
        read_to_end(&mut old, filter, rows)?;
        // Rows the filter left out still move our place.
        cur.last = cur.last.max(hi);
    }
    if first.is_none() {
        // Nothing live yet: start after the sequence, found in an archive or not.
        cur.last = cur.last.max(seq);
    }
    Ok(true)
}

/// Every row `filter` selects after `live`'s place, batch after batch.
fn read_to_end(
    live: &mut Live,
    filter: &Filter,
    rows: &mut Vec<AuditRow>,
) -> Result<(), ReadError> {
    loop {
        let more = read_new(live, filter)?;
        let full = more.len() == BATCH;
        rows.extend(more);
        if !full {
            return Ok(());
        }
    }
}

fn read_new(live: &mut Live, filter: &Filter) -> Result<Vec<AuditRow>, ReadError> {
    let f = Filter {
        after_id: Some(live.last),
        ..filter.clone()
    };
    let rows = live.reader.query(&f, Order::OldestFirst, Some(BATCH))?;
    if let Some(last) = rows.last() {
        live.last = last.id;
    }
    Ok(rows)
}
