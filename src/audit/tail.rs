//! Following the live database as rows are written, across rotations: one
//! cursor for `log --follow` and the TUI's live stream.
//!
//! A rotation renames the live file to an archive under a reader's feet. The
//! tail notices that the path names another file, reads what the file it held
//! got after its last read (by the archive's name: rows may have been
//! checkpointed into it after our last look), then starts the new file from
//! its first row. No row is skipped or repeated.

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
}

struct Live {
    reader: Reader,
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
        self.live.as_ref().map_or(0, |l| l.last)
    }

    /// Whether the database file is open (it may not exist yet).
    pub fn is_open(&self) -> bool {
        self.live.is_some()
    }

    /// The rows `filter` selects written since the last call, oldest first
    /// (at most [`BATCH`] per file; call again while it returns a full batch).
    /// `rotated` is set when the live file was replaced since the last call.
    pub fn poll(&mut self, filter: &Filter) -> Result<Polled, ReadError> {
        let Some(cur) = self.live.as_mut() else {
            self.live = Some(self.open(0)?);
            return self.poll(filter);
        };
        let replaced = file_id(&self.path).map(|(id, _)| id) != cur.id;
        let mut rows = read_new(cur, filter)?;
        if !replaced {
            return Ok(Polled {
                rows,
                rotated: false,
            });
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
            loop {
                let more = read_new(&mut again, filter)?;
                let full = more.len() == BATCH;
                rows.extend(more);
                if !full {
                    break;
                }
            }
        }
        self.live = self.open(0).ok();
        if let Some(l) = self.live.as_mut() {
            rows.extend(read_new(l, filter)?);
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
