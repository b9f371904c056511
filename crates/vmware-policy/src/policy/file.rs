//! Reading the rules file without trusting what is at its path.
//!
//! Why: whatever sits at `rules.yaml` decides what every agent may do, and
//! any local user who can write the directory may have put it there. A FIFO
//! would block `open()` (and the watcher thread, and process exit) forever; a
//! device would be read endlessly. So the file is opened non-blocking, and
//! anything but a regular file (after following a symlink the operator made)
//! is "cannot be read": the engine fails closed on it.

use std::io::Read;
use std::path::Path;

use super::yaml;

/// Read the rules file at `path`: at most [`yaml::MAX_BYTES`] + 1 bytes
/// (the caller reports a larger file), never blocking, regular files only.
/// `NotFound` is passed through so callers can fall back to the baseline.
pub fn read_rules(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = opts.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other(format!(
            "it is not a regular file but {}; a rules file must be a plain file",
            kind_of(&meta)
        )));
    }
    let mut bytes = Vec::new();
    file.take(yaml::MAX_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// What a non-regular file is, in words.
fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
    }
    if meta.is_dir() {
        "a directory"
    } else {
        "not a plain file"
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_refused_at_once_not_waited_on() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("rules.yaml");
        let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read_rules(&p).unwrap_err();
        assert!(e.to_string().contains("FIFO"), "{e}");
        let e = read_rules(dir.path()).unwrap_err();
        assert!(e.to_string().contains("directory"), "{e}");
        assert_eq!(
            read_rules(&dir.path().join("none")).unwrap_err().kind(),
            std::io::ErrorKind::NotFound
        );
    }
}
