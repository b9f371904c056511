//! Where the shared files live: `$OPS_HOME` (when set and non-empty), else `~/.vmware`.
//!
//! The Python family resolves the same way (compat.md), so both sides find one
//! `audit.db` and one `rules.yaml` without configuration.

use std::path::{Path, PathBuf};

/// The home directory of the shared files.
///
/// Falls back to `./.vmware` only when neither `OPS_HOME` nor a user home can
/// be found (a service account with no `HOME`): writing somewhere visible beats
/// refusing to audit.
pub fn ops_home() -> PathBuf {
    if let Some(home) = std::env::var_os("OPS_HOME").filter(|v| !v.is_empty()) {
        return expand_tilde(Path::new(&home));
    }
    match user_home() {
        Some(home) => home.join(".vmware"),
        None => PathBuf::from(".vmware"),
    }
}

/// `<home>/audit.db`.
pub fn audit_db_path() -> PathBuf {
    ops_home().join("audit.db")
}

/// `<home>/rules.yaml`.
pub fn rules_path() -> PathBuf {
    ops_home().join("rules.yaml")
}

fn user_home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Python's `Path.expanduser()` on `OPS_HOME=~/x` gives `$HOME/x`; so do we.
fn expand_tilde(path: &Path) -> PathBuf {
    let Ok(rest) = path.strip_prefix("~") else {
        return path.to_path_buf();
    };
    match user_home() {
        Some(home) => home.join(rest),
        None => path.to_path_buf(),
    }
}

/// Create `dir` (and parents) and make it `0700`, as the Python family does.
///
/// `mkdir`'s mode is masked by the umask, so the mode is set explicitly after.
pub fn ensure_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    set_mode(dir, 0o700)
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
