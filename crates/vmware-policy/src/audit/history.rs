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
}

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
        })
    }

    /// Read through each file's sidecar index where it narrows a scan (a
    /// `since`): what the operator's commands do; the sidecar is brought up
    /// to date first, in its own file.
    pub fn indexed(mut self) -> History {
        self.indexed = true;
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
            let mut ranges = if self.indexed {
                super::sidecar::narrow(reader, filter)
            } else {
                vec![filter.clone()]
            };
            if order == Order::NewestFirst {
                ranges.reverse();
            }
            for range in &ranges {
                if left == Some(0) || !go_on {
                    break;
                }
                reader.for_each(range, order, left, |row| {
                    if let Some(l) = left.as_mut() {
                        *l -= 1;
                    }
                    go_on = each(row);
                    go_on && left != Some(0)
                })?;
            }
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
