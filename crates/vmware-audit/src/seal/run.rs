//! `seal`: extend each database file's tree with the rows added since the
//! last seal, and sign a checkpoint of it.

use std::path::Path;

use signed_note::StandardSigner;
use tlog_tiles::Hash;

use super::db::{DbFile, Snapshot};
use super::frontier::Frontier;
use super::note;
use super::store::{Info, LogStore};

/// What one file's seal did.
#[derive(Debug)]
pub struct Sealed {
    pub path: String,
    pub log: String,
    pub new_rows: u64,
    /// The tree's size: every row sealed so far.
    pub size: u64,
    pub last_id: Option<i64>,
    /// A checkpoint was signed (the tree grew).
    pub signed: bool,
}

/// Seal one file. `db` is the live database (the store lives beside it).
pub fn seal_file(
    db: &Path,
    file: &DbFile,
    signer: &StandardSigner,
    host: &str,
) -> Result<Option<Sealed>, String> {
    let snap = Snapshot::open(file, true)?;
    let Some(log) = snap.log.clone() else {
        return Ok(None); // an archive with no row and no uuid: nothing to seal
    };
    let store = LogStore::open(db, &log)?;
    let mut frontier = match store.frontier() {
        Some(f) if f.size() == store.leaf_count() => f,
        // A crash between writing leaves and the frontier: rebuild it.
        _ => rebuild(&store)?,
    };
    let last = store.last_id()?;
    let mut batch: Vec<(i64, Hash)> = Vec::with_capacity(8192);
    let mut new_rows = 0u64;
    let mut first_new = None;
    let mut last_id = last;
    snap.each_leaf(last.unwrap_or(i64::MIN), |id, _, h| {
        frontier.push(h);
        batch.push((id, h));
        first_new.get_or_insert(id);
        last_id = Some(id);
        new_rows += 1;
        if batch.len() == batch.capacity() {
            store.append(&batch)?;
            batch.clear();
        }
        Ok(true)
    })?;
    if !batch.is_empty() {
        store.append(&batch)?;
    }
    store.save_frontier(&frontier)?;
    let have = store.checkpoints().last().map_or(0, |(s, _)| *s);
    let signed = frontier.size() > have;
    if signed {
        let origin = note::origin(host, &log);
        let cp = note::checkpoint(&origin, frontier.size(), frontier.root(), signer)?;
        store.add_checkpoint(frontier.size(), &cp)?;
    }
    let first_id = store
        .info()
        .map(|i| i.first_id)
        .or(first_new)
        .unwrap_or_default();
    store.save_info(&Info {
        path: file.path.display().to_string(),
        live: file.live,
        first_id,
        last_id: last_id.unwrap_or_default(),
        sealed_at: chrono::Utc::now().to_rfc3339(),
    })?;
    Ok(Some(Sealed {
        path: file.path.display().to_string(),
        log,
        new_rows,
        size: frontier.size(),
        last_id,
        signed,
    }))
}

fn rebuild(store: &LogStore) -> Result<Frontier, String> {
    let mut f = Frontier::default();
    for leaf in store.leaves()? {
        f.push(leaf?.1);
    }
    Ok(f)
}
