//! The live database and, on request, its archives read as one history, in
//! order (the Python CLI sees only the live file, so history vanishes at each
//! rotation).

use std::path::Path;

use super::filter::Filter;
use super::query::{AuditRow, Order, ReadError, Reader};
use super::rotate;

/// One or more database files, oldest first, the live one last.
pub struct History {
    readers: Vec<Reader>,
    /// Narrow each file's scan with its sidecar index (`sidecar::narrow`).
    indexed: bool,
    /// Told (rows done, rows in all) while a sidecar is first built.
    progress: std::cell::RefCell<Box<Progress>>,
}

type Progress = dyn FnMut(u64, u64) + Send;

impl History {
    /// The live database at `db`; with `archives`, its rotated archives before it.
    /// A reader never creates a database: a missing live file is an error unless
    /// archives were asked for and some exist.
    pub fn open(db: &Path, archives: bool) -> Result<History, ReadError> {
        let mut readers = Vec::new();
        if archives {
            for a in rotate::archives(db) {
                readers.push(Reader::open(&a)?);
            }
        }
        match Reader::open(db) {
            Ok(r) => readers.push(r),
            Err(ReadError::Missing(_)) if !readers.is_empty() => {}
            Err(e) => return Err(e),
        }
        Ok(History {
            readers,
            indexed: false,
            progress: std::cell::RefCell::new(Box::new(|_, _| {})),
        })
    }

    /// Read through each file's sidecar index where it narrows a scan (a
    /// `since`, column values, workflow or correlation ids, a substring):
    /// what the operator's commands do; the sidecar is brought up to date
    /// first, in its own file.
    pub fn indexed(mut self) -> History {
        self.indexed = true;
        self
    }

    /// Tell `progress(done, total)` while a file's sidecar is first built
    /// (a progress line for an operator who would otherwise wait in silence).
    pub fn with_progress(self, progress: impl FnMut(u64, u64) + Send + 'static) -> History {
        *self.progress.borrow_mut() = Box::new(progress);
        self
    }

    pub fn readers(&self) -> &[Reader] {
        &self.readers
    }

    /// Stream rows across files in `order`, at most `limit`; `each` returns false to stop.
    pub fn for_each(
        &self,
        filter: &Filter,
        order: Order,
        limit: Option<usize>,
        mut each: impl FnMut(AuditRow) -> bool,
    ) -> rusqlite::Result<()> {
        self.for_each_ref(filter, order, limit, |r| each(r.clone()))
    }

    /// [`History::for_each`], each row lent (`Reader::for_each_ref`).
    pub fn for_each_ref(
        &self,
        filter: &Filter,
        order: Order,
        limit: Option<usize>,
        mut each: impl FnMut(&AuditRow) -> bool,
    ) -> rusqlite::Result<()> {
        let mut left = limit;
        let mut go_on = true;
        let files: Box<dyn Iterator<Item = &Reader>> = match order {
            Order::OldestFirst => Box::new(self.readers.iter()),
            Order::NewestFirst => Box::new(self.readers.iter().rev()),
        };
        for reader in files {
            if left == Some(0) || !go_on {
                break;
            }
            let limit = left;
            let each_row = |row: &AuditRow| {
                if let Some(l) = left.as_mut() {
                    *l -= 1;
                }
                go_on = each(row);
                go_on && left != Some(0)
            };
            let ranges = if self.indexed {
                let mut progress = self.progress.borrow_mut();
                super::sidecar::narrow_with_progress(reader, filter, &mut *progress)
            } else {
                vec![filter.clone()]
            };
            reader.for_each_in(&ranges, order, limit, each_row)?;
        }
        Ok(())
    }

    /// The newest `limit` rows `filter` selects, newest first.
    pub fn latest(&self, filter: &Filter, limit: usize) -> rusqlite::Result<Vec<AuditRow>> {
        let mut out = Vec::new();
        self.for_each(filter, Order::NewestFirst, Some(limit), |r| {
            out.push(r);
            true
        })?;
        Ok(out)
    }
}

impl Reader {
    /// [`Reader::for_each`] through the file's sidecar index: only the
    /// stretches of ids it says can hold rows `filter` selects are read
    /// (`sidecar::narrow`), the sidecar brought up to date first, in its own
    /// file. The same rows, in the same order.
    pub fn for_each_indexed(
        &self,
        filter: &Filter,
        order: Order,
        limit: Option<usize>,
        mut each: impl FnMut(AuditRow) -> bool,
    ) -> rusqlite::Result<()> {
        self.for_each_in(&super::sidecar::narrow(self, filter), order, limit, |r| {
            each(r.clone())
        })
    }

    /// [`Reader::for_each`] over `ranges` (oldest first) as one selection.
    fn for_each_in(
        &self,
        ranges: &[Filter],
        order: Order,
        limit: Option<usize>,
        mut each: impl FnMut(&AuditRow) -> bool,
    ) -> rusqlite::Result<()> {
        let ranges: Box<dyn Iterator<Item = &Filter>> = match order {
            Order::OldestFirst => Box::new(ranges.iter()),
            Order::NewestFirst => Box::new(ranges.iter().rev()),
        };
        let mut left = limit;
        let mut go_on = true;
        for range in ranges {
            if left == Some(0) || !go_on {
                break;
            }
            self.for_each_ref(range, order, left, |row| {
                if let Some(l) = left.as_mut() {
                    *l -= 1;
                }
                go_on = each(row);
                go_on && left != Some(0)
            })?;
        }
        Ok(())
    }
}
