//! Pages of the stream: where a row sits in the history read (one file, the
//! archives and the live file, or the fleet), and the scan that fetches a
//! page on either side of a position.

use vmware_policy::audit::{AuditRow, Filter, Order, Reader};

use super::search::Search;
use crate::fleet::reader::FleetReader;

/// Where a row sits in the history the TUI reads: its file (oldest first,
/// the live file last; the live file is the only one, 0, unless archives are
/// read) and its id there. An id alone does not place a row once archives are
/// read: Python's rename rotation restarts ids at 1 in each new file. The
/// fleet is one "file" whose ids are the ingest sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    pub file: usize,
    pub id: i64,
}

/// A row of the stream and where it sits.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub pos: Pos,
    pub row: AuditRow,
}

impl Row {
    /// A row of the file at `file`.
    pub fn new(file: usize, row: AuditRow) -> Row {
        Row {
            pos: Pos { file, id: row.id },
            row,
        }
    }
}

impl std::ops::Deref for Row {
    type Target = AuditRow;
    fn deref(&self) -> &AuditRow {
        &self.row
    }
}

/// What a page is read from: a database file, or the fleet.
pub trait Scan {
    /// Stream the rows `filter` selects in `order`, at most `limit`, to
    /// `each(position id, row)`, which returns false to stop.
    fn scan(
        &self,
        filter: &Filter,
        order: Order,
        limit: Option<usize>,
        each: &mut dyn FnMut(i64, AuditRow) -> bool,
    ) -> Result<(), ScanError>;
}

#[derive(Debug)]
pub enum ScanError {
    Sqlite(rusqlite::Error),
    Fleet(String),
}

impl Scan for Reader {
    fn scan(
        &self,
        filter: &Filter,
        order: Order,
        limit: Option<usize>,
        each: &mut dyn FnMut(i64, AuditRow) -> bool,
    ) -> Result<(), ScanError> {
        self.for_each_indexed(filter, order, limit, |r| each(r.id, r))
            .map_err(ScanError::Sqlite)
    }
}

impl Scan for FleetReader {
    fn scan(
        &self,
        filter: &Filter,
        order: Order,
        limit: Option<usize>,
        each: &mut dyn FnMut(i64, AuditRow) -> bool,
    ) -> Result<(), ScanError> {
        self.for_each(filter, order, limit, each)
            .map_err(ScanError::Fleet)
    }
}

/// Where a page of rows starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The newest rows the live cursor has reached.
    Newest,
    /// Rows older than this position, newest first.
    Before(Pos),
    /// Rows newer than this position, oldest first.
    After(Pos),
    /// Rows up to this position included, newest first: a jump to a time.
    At(Pos),
}

/// Rows scanned between checks that the request is still wanted.
pub const CHECK_EVERY: usize = 2048;

/// One page: up to `limit` rows that `filter` (and `search`) select, on the
/// `anchor` side, across `files` (oldest first, the live one last), never past
/// `newest` in the live file (rows after it arrive by the tail). `None` when
/// the request went stale mid-scan.
pub fn page<S: Scan>(
    files: &[S],
    filter: &Filter,
    search: Option<&Search>,
    anchor: Anchor,
    newest: i64,
    limit: usize,
    stale: &dyn Fn() -> bool,
) -> Result<Option<(Vec<Row>, Pos, bool)>, ScanError> {
    let Some(live) = files.len().checked_sub(1) else {
        return Ok(Some((Vec::new(), Pos::default(), true)));
    };
    // The exclusive bound the scan starts from, and its direction.
    let (start, order) = match anchor {
        Anchor::Newest => (
            Pos {
                file: live,
                id: newest.saturating_add(1),
            },
            Order::NewestFirst,
        ),
        Anchor::Before(p) => (p, Order::NewestFirst),
        Anchor::At(p) => (
            Pos {
                file: p.file,
                id: p.id.saturating_add(1),
            },
            Order::NewestFirst,
        ),
        Anchor::After(p) => (p, Order::OldestFirst),
    };
    let order_of_files: Vec<usize> = match order {
        Order::NewestFirst => (0..=start.file.min(live)).rev().collect(),
        Order::OldestFirst => (start.file..=live).collect(),
    };
    // SQLite skips the rows that cannot match (LIKE is ASCII case-insensitive,
    // as the fuzzy match is for ASCII; other text is left to the fuzzy match),
    // and a file's sidecar the blocks that cannot hold a substring.
    let filter = search.map_or_else(|| filter.clone(), |s| s.spec().prefilter(filter));
    let mut rows = Vec::with_capacity(limit.min(1024));
    let mut edge = start;
    let mut scanned = 0usize;
    let mut gave_up = false;
    let mut full = false;
    for file in order_of_files {
        let mut f = filter.clone();
        if file == start.file {
            match order {
                Order::NewestFirst => f.before_id = Some(start.id),
                Order::OldestFirst => f.after_id = Some(start.id),
            }
        }
        if file == live {
            let bound = newest.saturating_add(1);
            f.before_id = Some(f.before_id.map_or(bound, |b| b.min(bound)));
        }
        // Without a search, SQL stops at `limit`; with one, rows are scanned
        // until enough match.
        let sql_limit = if search.is_some() {
            None
        } else {
            Some(limit - rows.len())
        };
        files[file].scan(&f, order, sql_limit, &mut |id, r| {
            scanned += 1;
            if scanned.is_multiple_of(CHECK_EVERY) && stale() {
                gave_up = true;
                return false;
            }
            edge = Pos { file, id };
            if search.is_none_or(|s| s.matches(&r)) {
                rows.push(Row { pos: edge, row: r });
            }
            full = rows.len() >= limit;
            !full
        })?;
        if gave_up {
            return Ok(None);
        }
        if full {
            break;
        }
    }
    if order == Order::NewestFirst {
        rows.reverse();
    }
    let exhausted = !full;
    Ok(Some((rows, edge, exhausted)))
}

/// The nearest row past `from` (newer when `forward`) that `filter` selects
/// and both `find` and the view's own `search` match: `n`/`N` beyond the rows
/// loaded, for files and the fleet alike. `Ok(None)` when the request went
/// stale; `Ok(Some(None))` when there is none.
#[allow(clippy::too_many_arguments)]
pub fn find<S: Scan>(
    files: &[S],
    filter: &Filter,
    find: &Search,
    search: Option<&Search>,
    from: Pos,
    forward: bool,
    newest: i64,
    stale: &dyn Fn() -> bool,
) -> Result<Option<Option<Pos>>, ScanError> {
    let step = |p| {
        if forward {
            Anchor::After(p)
        } else {
            Anchor::Before(p)
        }
    };
    // Rows `find` matches, one at a time, until one the view's own search
    // keeps too (most views have none: the first one).
    let mut anchor = step(from);
    loop {
        let Some((rows, edge, exhausted)) =
            page(files, filter, Some(find), anchor, newest, 1, stale)?
        else {
            return Ok(None);
        };
        if let Some(r) = rows.first()
            && search.is_none_or(|s| s.matches(r))
        {
            return Ok(Some(Some(r.pos)));
        }
        if exhausted {
            return Ok(Some(None));
        }
        anchor = step(edge);
    }
}
