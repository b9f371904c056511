//! Where the shared files live: `$OPS_HOME` (when set and non-empty), else
//! `~/.vmware`, resolved as Python resolves it.
//!
//! The Python family resolves the same way (compat.md), so both sides find one
//! `audit.db` and one `rules.yaml` without configuration.

use std::path::{Path, PathBuf};

/// The home directory of the shared files, resolved exactly as Python's
/// `Path(os.environ.get("OPS_HOME") or "~/.vmware").expanduser()`: `~` is
/// `$HOME` when `HOME` is set (even empty), else the passwd entry of this
/// user; `~name` is that user's passwd entry. Both sides must land on the same
/// directory, or a skill started by an MCP host with a bare environment reads
/// no rules and audits somewhere else.
///
/// Err when it cannot be resolved (`~name` of an unknown user, no passwd
/// entry): Python raises there too. Callers fail closed on it
/// ([`crate::policy::PolicyEngine::from_home`] denies every call) and never
/// create a directory named `~name`.
pub fn try_ops_home() -> Result<PathBuf, String> {
    expanduser(&unexpanded_home())
}

/// `$OPS_HOME` when set and non-empty, else `~/.vmware`, before expansion.
fn unexpanded_home() -> PathBuf {
    std::env::var_os("OPS_HOME")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("~/.vmware"), PathBuf::from)
}

/// [`try_ops_home`], or where it would be if `~` could be resolved; for
/// messages and defaults of the operator's commands, which report a missing
/// file at that path rather than creating it.
pub fn ops_home() -> PathBuf {
    try_ops_home().unwrap_or_else(|_| unexpanded_home())
}

/// `<home>/audit.db`.
pub fn audit_db_path() -> PathBuf {
    ops_home().join("audit.db")
}

/// `<home>/rules.yaml`.
pub fn rules_path() -> PathBuf {
    ops_home().join("rules.yaml")
}

/// Python's `Path.expanduser()` (POSIX): only a leading `~` or `~name` part.
pub fn expanduser(path: &Path) -> Result<PathBuf, String> {
    let mut parts = path.components();
    let first = match parts.next() {
        Some(std::path::Component::Normal(first)) => first.to_string_lossy().into_owned(),
        _ => return Ok(path.to_path_buf()),
    };
    let Some(user) = first.strip_prefix('~') else {
        return Ok(path.to_path_buf());
    };
    let home = if user.is_empty() {
        match std::env::var_os("HOME") {
            Some(h) => PathBuf::from(h),
            None => passwd_home(None).ok_or_else(|| {
                "HOME is not set and this user has no passwd entry, so `~` cannot be resolved; set OPS_HOME to an absolute path".to_string()
            })?,
        }
    } else {
        passwd_home(Some(user)).ok_or_else(|| {
            format!("`~{user}` names no user on this machine, so OPS_HOME cannot be resolved; set it to an absolute path")
        })?
    };
    // posixpath.expanduser: userhome.rstrip("/") + the rest, or "/".
    let text = home.to_string_lossy();
    let mut out = PathBuf::from(text.trim_end_matches('/'));
    if out.as_os_str().is_empty() {
        out = PathBuf::from("/");
    }
    for part in parts {
        out.push(part);
    }
    Ok(out)
}

/// The home directory in the passwd entry of `user` (None: this process's uid).
fn passwd_home(user: Option<&str>) -> Option<PathBuf> {
    #[cfg(unix)]
    {
        use std::ffi::{CStr, CString};
        use std::os::unix::ffi::OsStrExt;
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut buf = vec![0u8; 16 * 1024];
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call; buf outlives `pwd`'s strings' use below.
        let rc = unsafe {
            match user {
                None => libc::getpwuid_r(
                    libc::getuid(),
                    &mut pwd,
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    &mut result,
                ),
                Some(name) => {
                    let name = CString::new(name).ok()?;
                    libc::getpwnam_r(
                        name.as_ptr(),
                        &mut pwd,
                        buf.as_mut_ptr().cast(),
                        buf.len(),
                        &mut result,
                    )
                }
            }
        };
        if rc != 0 || result.is_null() || pwd.pw_dir.is_null() {
            return None;
        }
        // SAFETY: getpw*_r succeeded, so pw_dir points at a NUL-terminated string in buf.
        let dir = unsafe { CStr::from_ptr(pwd.pw_dir) };
        Some(PathBuf::from(std::ffi::OsStr::from_bytes(dir.to_bytes())))
    }
    #[cfg(not(unix))]
    {
        let _ = user;
        None
    }
}

/// Create `dir` and any missing parents, making each directory *we create*
/// `0700` (mkdir's mode is masked by the umask, so it is set after). A
/// directory that already exists is left as it is: a shared `1777` or `2775`
/// directory, or `/tmp` for `--db /tmp/x.db`, is not ours to change. The home
/// of compat.md is the exception: see [`harden_home`].
pub fn ensure_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return harden_home(dir);
    }
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur.filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        missing.push(d.to_path_buf());
        cur = d.parent();
    }
    for d in missing.iter().rev() {
        match std::fs::create_dir(d) {
            Ok(()) => set_mode(d, 0o700)?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    harden_home(dir)
}

/// The home of compat.md (`$OPS_HOME`, or `~/.vmware`) is made `0700` as the
/// Python family makes it; any other existing directory is left alone.
pub fn harden_home(dir: &Path) -> std::io::Result<()> {
    if is_ops_home(dir) {
        set_mode(dir, 0o700)?;
    }
    Ok(())
}

/// Whether `dir` is the resolved home of the shared files.
pub fn is_ops_home(dir: &Path) -> bool {
    let Ok(home) = try_ops_home() else {
        return false;
    };
    if home == dir {
        return true;
    }
    match (std::fs::canonicalize(&home), std::fs::canonicalize(dir)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Create a new file `0600` with O_EXCL: if anything is already at `path`,
/// a link someone planted at a predictable name included, nothing is opened.
pub fn create_exclusive(path: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

/// Set a Unix permission mode; a no-op elsewhere.
pub fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// What is wrong with the permissions of the rules file and the directory it
/// is in: anyone who can write either can change what every agent may do.
/// One sentence each, with the fix. Empty when all is well (or not Unix).
pub fn permission_warnings(rules: &Path) -> Vec<String> {
    let mut out = Vec::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let world_writable = |p: &Path| {
            std::fs::metadata(p)
                .map(|m| m.permissions().mode() & 0o002 != 0)
                .unwrap_or(false)
        };
        if world_writable(rules) {
            out.push(format!(
                "the rules file {} is world-writable: anyone on this machine can change what agents may do (chmod 600 it)",
                rules.display()
            ));
        }
        if let Some(dir) = rules.parent().filter(|d| !d.as_os_str().is_empty())
            && world_writable(dir)
        {
            out.push(format!(
                "the directory {} is world-writable: anyone on this machine can replace the rules and the audit log (chmod 700 it)",
                dir.display()
            ));
        }
    }
    out
}
