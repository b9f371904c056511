//! Saving a rules file while skills read it: atomically (a temporary file in
//! the same directory, fsync, rename over the target, fsync of the directory),
//! `0600`, the previous version kept as a backup, and refused when the file
//! changed on disk since it was opened (another editor, another operator).

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::Utc;

use super::rules::short_hash;

/// Backups kept beside the rules file (`rules.yaml.<stamp>.bak`).
pub const BACKUPS: usize = 5;

/// What the file was when it was read: to tell whether it changed since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stamp {
    /// There was no file.
    Absent,
    /// The file's bytes had this hash.
    Hash(String),
}

/// The file's text and stamp; an absent file reads as `None` (with
/// `Stamp::Absent`), so an editor can start from the baseline.
pub fn read_for_edit(path: &Path) -> Result<(Option<String>, Stamp), String> {
    match super::file::read_rules(path) {
        Ok(bytes) => {
            let stamp = Stamp::Hash(short_hash(&bytes));
            let text = String::from_utf8(bytes)
                .map_err(|_| format!("{} is not UTF-8 text", path.display()))?;
            Ok((Some(text), stamp))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((None, Stamp::Absent)),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// The stamp of what is on disk now.
pub fn stamp_now(path: &Path) -> Result<Stamp, String> {
    read_for_edit(path).map(|(_, s)| s)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub stamp: Stamp,
    /// The backup of the version replaced, if there was one.
    pub backup: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveError {
    /// The file changed on disk since it was read; here is what it holds now
    /// (`None`: it was deleted).
    Conflict {
        on_disk: Option<String>,
    },
    Io(String),
}

impl std::fmt::Display for SaveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SaveError::Conflict { .. } => write!(f, "the file changed on disk since it was opened"),
            SaveError::Io(e) => f.write_str(e),
        }
    }
}

/// Save `text` to `path`. With `expected`, refuse if the file on disk is not
/// what was read (`None`: overwrite whatever is there).
pub fn save(path: &Path, text: &str, expected: Option<&Stamp>) -> Result<Saved, SaveError> {
    let io = |what: &str, e: std::io::Error| SaveError::Io(format!("{what}: {e}"));
    if let Some(expected) = expected {
        let (on_disk, now) = read_for_edit(path).map_err(SaveError::Io)?;
        if &now != expected {
            return Err(SaveError::Conflict { on_disk });
        }
    }
    // A symlinked rules.yaml (kept in a config repository, say) is saved
    // through the link, to its target: replacing the link with a regular
    // file would leave the target, which other hosts may read, unchanged.
    let target = resolve_target(path).map_err(SaveError::Io)?;
    let path = target.as_path();
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.exists() {
        crate::home::ensure_private_dir(dir)
            .map_err(|e| io(&format!("cannot create {}", dir.display()), e))?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "rules.yaml".into());
    // An exclusive, randomly named temporary file (O_EXCL, 0600): a link
    // planted at a predictable name cannot redirect the write elsewhere.
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| {
            io(
                &format!("cannot create a temporary file in {}", dir.display()),
                e,
            )
        })?;
    tmp.write_all(text.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| io(&format!("cannot write {}", tmp.path().display()), e))?;
    // The version replaced stays as a backup: a hard link (the exact file, at
    // no cost), else a copy into a file created exclusively (never through a
    // link someone planted at the backup's name).
    let backup = if path.exists() {
        let b = dir.join(format!(
            "{name}.{}.bak",
            Utc::now().format("%Y%m%d-%H%M%S%.6f")
        ));
        std::fs::hard_link(path, &b)
            .or_else(|_| copy_exclusive(path, &b))
            .ok()
            .map(|_| b)
    } else {
        None
    };
    tmp.persist(path)
        .map_err(|e| io(&format!("cannot replace {}", path.display()), e.error))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    prune_backups(path, BACKUPS);
    Ok(Saved {
        stamp: Stamp::Hash(short_hash(text.as_bytes())),
        backup,
    })
}

/// The file a save writes: `path` itself, or the file a symlink at `path`
/// leads to. A link that leads nowhere is refused, with where it points.
fn resolve_target(path: &Path) -> Result<PathBuf, String> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path).map_err(|e| {
            let to = std::fs::read_link(path)
                .map(|t| t.display().to_string())
                .unwrap_or_else(|_| "?".into());
            format!(
                "{} is a symbolic link to {to}, which cannot be reached ({e}); fix or remove the link, then save again",
                path.display()
            )
        }),
        _ => Ok(path.to_path_buf()),
    }
}

/// Copy `from` into a new file `to` created with O_EXCL (0600): if anything is
/// already at `to`, a planted link included, nothing is written.
fn copy_exclusive(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut out = crate::home::create_exclusive(to)?;
    let mut input = std::fs::File::open(from)?;
    std::io::copy(&mut input, &mut out)?;
    out.sync_all()
}

/// The backups of `path`, oldest first.
pub fn backups(path: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Vec::new();
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!("{}.", name.to_string_lossy());
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|it| {
            it.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name().is_some_and(|n| {
                        let n = n.to_string_lossy();
                        n.starts_with(&prefix) && n.ends_with(".bak")
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort(); // the stamp sorts by time
    found
}

fn prune_backups(path: &Path, keep: usize) {
    let all = backups(path);
    for old in &all[..all.len().saturating_sub(keep)] {
        let _ = std::fs::remove_file(old);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn saves_0600_keeps_backups_and_refuses_a_changed_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("rules.yaml");
        let (text, stamp) = read_for_edit(&p).unwrap();
        assert_eq!((text, &stamp), (None, &Stamp::Absent));
        let s1 = save(&p, "deny: []\n", Some(&stamp)).unwrap();
        assert_eq!(s1.backup, None);
        #[cfg(unix)]
        assert_eq!(mode(&p), 0o600);
        let s2 = save(&p, "deny:\n  - name: a\n", Some(&s1.stamp)).unwrap();
        let backup = s2.backup.expect("the previous version is kept");
        assert_eq!(std::fs::read_to_string(&backup).unwrap(), "deny: []\n");
        // Another operator saves meanwhile: our next save is refused, with their text.
        std::fs::write(&p, "deny:\n  - name: theirs\n").unwrap();
        match save(&p, "deny:\n  - name: mine\n", Some(&s2.stamp)) {
            Err(SaveError::Conflict { on_disk }) => {
                assert_eq!(on_disk.as_deref(), Some("deny:\n  - name: theirs\n"))
            }
            other => panic!("{other:?}"),
        }
        assert!(
            std::fs::read_to_string(&p).unwrap().contains("theirs"),
            "nothing lost"
        );
        // Overwrite on purpose.
        save(&p, "deny:\n  - name: mine\n", None).unwrap();
        for i in 0..10 {
            save(&p, &format!("# v{i}\n"), None).unwrap();
        }
        assert_eq!(backups(&p).len(), BACKUPS);
        let leftovers: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn an_unwritable_directory_is_an_error_and_the_file_stays() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("rules.yaml");
        std::fs::write(&p, "deny: []\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o500)).unwrap();
            let r = save(&p, "deny:\n  - name: x\n", None);
            std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
            // Root ignores directory permissions; only check where they apply.
            if let Err(e) = r {
                assert!(
                    matches!(e, SaveError::Io(ref m) if m.contains("cannot write")),
                    "{e:?}"
                );
                assert_eq!(std::fs::read_to_string(&p).unwrap(), "deny: []\n");
            }
        }
    }
}
