//! `verify`: every sealed row against the newest checkpoint, and every
//! checkpoint against the ones before it. Streams the rows and the sealed
//! leaves side by side, so memory stays flat whatever the size.

use std::path::Path;

use signed_note::StandardVerifier;

use super::db::{DbFile, Snapshot};
use super::frontier::Frontier;
use super::note;
use super::store::LogStore;

/// The first thing wrong with a file, row or checkpoint named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// A sealed row's content differs from what was sealed.
    Changed { id: i64 },
    /// A sealed row is missing.
    Deleted { id: i64 },
    /// A row that was not there when its neighbours were sealed.
    Inserted { id: i64 },
    /// A checkpoint is not signed by a trusted key, or is not this log's.
    Untrusted { size: u64, why: String },
    /// A checkpoint that disagrees with the newer ones.
    Inconsistent { size: u64, newest: u64 },
    /// The sealed leaves do not match the newest checkpoint: the seal store
    /// itself was changed.
    StoreChanged { size: u64 },
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Finding::Changed { id } => write!(f, "row id {id} was changed after it was sealed"),
            Finding::Deleted { id } => write!(f, "row id {id} was deleted after it was sealed"),
            Finding::Inserted { id } => {
                write!(f, "row id {id} was inserted among sealed rows")
            }
            Finding::Untrusted { size, why } => {
                write!(f, "checkpoint {size} is refused: {why}")
            }
            Finding::Inconsistent { size, newest } => write!(
                f,
                "checkpoint {size} is inconsistent with checkpoint {newest} (one of them was forged or the rows rewritten and re-sealed)"
            ),
            Finding::StoreChanged { size: 0 } => write!(
                f,
                "sealed rows have no checkpoint left: the seal store was changed"
            ),
            Finding::StoreChanged { size } => write!(
                f,
                "the sealed leaves do not match checkpoint {size}: the seal store was changed"
            ),
        }
    }
}

/// What `verify` found in one file.
#[derive(Debug, Clone)]
pub struct Report {
    pub path: String,
    pub log: String,
    /// Rows covered by the newest trusted checkpoint.
    pub sealed: u64,
    pub last_sealed_id: Option<i64>,
    /// Rows after it, not sealed yet.
    pub unsealed: u64,
    pub signed_by: Vec<String>,
    pub finding: Option<Finding>,
}

/// Verify one file; `Ok(None)` when it was never sealed. `as_log` holds it
/// to a given log whatever it is named now (a file whose first row, which
/// names a file with no uuid, was changed).
pub fn verify_file(
    db: &Path,
    file: &DbFile,
    trusted: &[(String, StandardVerifier)],
    as_log: Option<&str>,
) -> Result<Option<Report>, String> {
    let snap = Snapshot::open(file, false)?;
    let Some(log) = as_log.map(str::to_string).or_else(|| snap.log.clone()) else {
        return Ok(None);
    };
    let store = LogStore::open(db, &log)?;
    if !store.exists() {
        return Ok(None);
    }
    let mut report = Report {
        path: file.path.display().to_string(),
        log: log.clone(),
        sealed: 0,
        last_sealed_id: None,
        unsealed: 0,
        signed_by: Vec::new(),
        finding: None,
    };
    // Every checkpoint must be signed by a trusted key, for this log.
    let mut roots = Vec::new();
    for (size, bytes) in store.checkpoints() {
        match note::open_checkpoint(&bytes, &log, trusted) {
            Ok((cp, by)) if cp.size() == size => {
                roots.push((size, *cp.hash()));
                report.signed_by = by;
            }
            Ok((cp, _)) => {
                report.finding = Some(Finding::Untrusted {
                    size,
                    why: format!("its file says {size} rows, its text {}", cp.size()),
                });
                return Ok(Some(report));
            }
            Err(why) => {
                report.finding = Some(Finding::Untrusted { size, why });
                return Ok(Some(report));
            }
        }
    }
    let Some(&(newest, _)) = roots.last() else {
        // Leaves with no checkpoint: the checkpoints were removed.
        if store.leaf_count() > 0 {
            report.finding = Some(Finding::StoreChanged { size: 0 });
            return Ok(Some(report));
        }
        return Ok(None);
    };
    report.sealed = newest;
    // The leaves against every checkpoint's root, in one pass.
    let mut frontier = Frontier::default();
    let mut mismatched = None;
    let mut pending = roots.iter().peekable();
    if store.leaf_count() < newest {
        report.finding = Some(Finding::StoreChanged { size: newest });
        return Ok(Some(report));
    }
    for leaf in store.leaves()?.take(newest as usize) {
        let (_, h) = leaf?;
        frontier.push(h);
        while let Some((size, root)) = pending.peek() {
            if *size != frontier.size() {
                break;
            }
            if frontier.root() != *root && (mismatched.is_none() || *size == newest) {
                mismatched = Some(*size);
            }
            pending.next();
        }
    }
    if let Some(size) = mismatched {
        // The newest checkpoint is what the rows are held to; an older one
        // that disagrees with leaves the newest accepts is inconsistent with it.
        report.finding = Some(if size == newest {
            Finding::StoreChanged { size }
        } else {
            Finding::Inconsistent { size, newest }
        });
        return Ok(Some(report));
    }
    // The rows against the leaves, side by side.
    let mut sealed = store.leaves()?.take(newest as usize).peekable();
    let mut finding = None;
    let mut unsealed = 0u64;
    let mut last_sealed_id = None;
    snap.each_leaf(i64::MIN, |id, _, h| match sealed.peek() {
        Some(Err(e)) => Err(e.clone()),
        Some(Ok((sid, sh))) if *sid == id => {
            if *sh != h {
                finding = Some(Finding::Changed { id });
                return Ok(false);
            }
            last_sealed_id = Some(id);
            sealed.next();
            Ok(true)
        }
        Some(Ok((sid, _))) if id < *sid => {
            finding = Some(Finding::Inserted { id });
            Ok(false)
        }
        Some(Ok((sid, _))) => {
            finding = Some(Finding::Deleted { id: *sid });
            Ok(false)
        }
        None => {
            unsealed += 1;
            Ok(true)
        }
    })?;
    if finding.is_none()
        && let Some(next) = sealed.next()
    {
        finding = Some(Finding::Deleted { id: next?.0 });
    }
    report.finding = finding;
    report.unsealed = unsealed;
    report.last_sealed_id = last_sealed_id;
    Ok(Some(report))
}
