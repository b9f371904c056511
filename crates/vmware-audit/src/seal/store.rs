//! The seal store, beside the database: `seal/<log>/` per database file
//! (its `db_uuid`), holding what sealing recorded and checkpoints sign.
//!
//! - `leaves`: one 40-byte record per sealed row, in tree order: its id (8
//!   bytes, big-endian) and its leaf hash. The checkpoints commit to these,
//!   and they let `verify` name the row that changed, not only the checkpoint.
//! - `frontier`: the tree's compact range, so the next seal reads only new rows.
//! - `checkpoint.<size>`: each signed checkpoint, never rewritten.
//! - `info.json`: where the file was last seen, and whether it was the live one.
//!
//! Directories 0700, files 0600. Nothing here is trusted by `verify` beyond
//! what a checkpoint's signature covers.

use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tlog_tiles::Hash;

use super::frontier::Frontier;

const RECORD: usize = 40;

/// The store of one database directory.
pub fn root(db: &Path) -> PathBuf {
    db.parent().unwrap_or(Path::new(".")).join("seal")
}

/// An exclusive lock on the store for one seal, released on drop: two seals
/// at once (`seal --every` and a hand-run one) would append the same leaves.
pub struct SealLock {
    _file: std::fs::File,
}

pub fn lock(db: &Path) -> Result<SealLock, String> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::DirBuilderExt;
    let dir = root(db);
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("cannot create {}: {e}", dir.display())),
    }
    let file = open_0600(&dir.join(".lock"))?;
    // SAFETY: a valid fd owned by `file` for the duration of the call.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(format!(
            "cannot lock {}: {}",
            dir.display(),
            std::io::Error::last_os_error()
        ));
    }
    Ok(SealLock { _file: file })
}

/// Whether a log name (a file's uuid, read from the file) is safe as a
/// directory name: a uuid or a derived name, nothing that could climb out.
pub fn valid_log_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Every log the store holds.
pub fn logs(db: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(root(db)) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| valid_log_name(n))
        .collect();
    out.sort();
    out
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Info {
    /// The file's path when it was last sealed or verified.
    pub path: String,
    /// Whether it was the live database then (not an archive).
    pub live: bool,
    pub first_id: i64,
    pub last_id: i64,
    pub sealed_at: String,
}

/// One log's directory.
pub struct LogStore {
    dir: PathBuf,
}

impl LogStore {
    pub fn open(db: &Path, log: &str) -> Result<LogStore, String> {
        if !valid_log_name(log) {
            return Err(format!("{log:?} is not a database uuid this tool accepts"));
        }
        Ok(LogStore {
            dir: root(db).join(log),
        })
    }

    pub fn exists(&self) -> bool {
        self.dir.is_dir()
    }

    fn create(&self) -> Result<(), String> {
        use std::os::unix::fs::DirBuilderExt;
        for d in [self.dir.parent().unwrap_or(&self.dir), &self.dir] {
            match std::fs::DirBuilder::new().mode(0o700).create(d) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(format!("cannot create {}: {e}", d.display())),
            }
        }
        Ok(())
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// How many whole records `leaves` holds (a torn last record is ignored).
    pub fn leaf_count(&self) -> u64 {
        std::fs::metadata(self.file("leaves")).map_or(0, |m| m.len() / RECORD as u64)
    }

    /// The sealed leaves in order, streamed.
    pub fn leaves(&self) -> Result<Leaves, String> {
        let path = self.file("leaves");
        let f = match std::fs::File::open(&path) {
            Ok(f) => Some(BufReader::with_capacity(1 << 16, f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        Ok(Leaves {
            f,
            left: self.leaf_count(),
        })
    }

    /// The id of the last sealed row.
    pub fn last_id(&self) -> Result<Option<i64>, String> {
        let n = self.leaf_count();
        if n == 0 {
            return Ok(None);
        }
        let path = self.file("leaves");
        let mut f = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        use std::io::Seek;
        f.seek(std::io::SeekFrom::Start((n - 1) * RECORD as u64))
            .map_err(|e| e.to_string())?;
        let mut rec = [0u8; RECORD];
        f.read_exact(&mut rec).map_err(|e| e.to_string())?;
        Ok(Some(i64::from_be_bytes(rec[..8].try_into().expect("8"))))
    }

    /// Append sealed leaves (after cutting a torn record a crash left).
    pub fn append(&self, leaves: &[(i64, Hash)]) -> Result<(), String> {
        self.create()?;
        let path = self.file("leaves");
        let whole = self.leaf_count() * RECORD as u64;
        let mut f = open_0600(&path)?;
        f.set_len(whole)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        use std::io::Seek;
        f.seek(std::io::SeekFrom::End(0))
            .map_err(|e| e.to_string())?;
        let mut buf = Vec::with_capacity(leaves.len() * RECORD);
        for (id, h) in leaves {
            buf.extend_from_slice(&id.to_be_bytes());
            buf.extend_from_slice(&h.0);
        }
        f.write_all(&buf)
            .and_then(|_| f.sync_data())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    pub fn frontier(&self) -> Option<Frontier> {
        Frontier::from_bytes(&std::fs::read(self.file("frontier")).ok()?)
    }

    pub fn save_frontier(&self, f: &Frontier) -> Result<(), String> {
        self.replace("frontier", &f.to_bytes())
    }

    /// Every checkpoint, smallest tree first: (size, note bytes).
    pub fn checkpoints(&self) -> Vec<(u64, Vec<u8>)> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out: Vec<(u64, Vec<u8>)> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let size: u64 = name.strip_prefix("checkpoint.")?.parse().ok()?;
                Some((size, std::fs::read(e.path()).ok()?))
            })
            .collect();
        out.sort_by_key(|(s, _)| *s);
        out
    }

    pub fn add_checkpoint(&self, size: u64, note: &[u8]) -> Result<(), String> {
        self.create()?;
        super::key::write_new(&self.file(&format!("checkpoint.{size:020}")), note, 0o600)
    }

    pub fn info(&self) -> Option<Info> {
        serde_json::from_slice(&std::fs::read(self.file("info.json")).ok()?).ok()
    }

    pub fn save_info(&self, info: &Info) -> Result<(), String> {
        let text = serde_json::to_vec_pretty(info).map_err(|e| e.to_string())?;
        self.replace("info.json", &text)
    }

    fn replace(&self, name: &str, bytes: &[u8]) -> Result<(), String> {
        self.create()?;
        write_atomic(&self.file(name), bytes)
    }
}

/// Replace `path` with `bytes` whole: a 0600 temporary file beside it,
/// fsynced, renamed over it (a reader sees the old file or the new one).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    tmp.persist(path)
        .map(|_| ())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Open (creating it 0600 if need be) a file of the store, never through a link.
fn open_0600(path: &Path) -> Result<std::fs::File, String> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))
}

/// The sealed leaves, in order.
pub struct Leaves {
    f: Option<BufReader<std::fs::File>>,
    left: u64,
}

impl Iterator for Leaves {
    type Item = Result<(i64, Hash), String>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let f = self.f.as_mut()?;
        let mut rec = [0u8; RECORD];
        Some(
            f.read_exact(&mut rec)
                .map(|_| {
                    (
                        i64::from_be_bytes(rec[..8].try_into().expect("8")),
                        Hash(rec[8..].try_into().expect("32")),
                    )
                })
                .map_err(|e| format!("reading the sealed leaves: {e}")),
        )
    }
}
