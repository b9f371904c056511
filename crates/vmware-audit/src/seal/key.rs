//! The sealing key: an Ed25519 signed-note key (C2SP signed-note, through
//! cloudflare's `signed_note`), made once by `seal --init-key`.
//!
//! `seal.key` (0600, never replaced) signs; `seal.pub` (its verifier key,
//! `name+id+key`) is what `verify` trusts, with any `--trust` key given.
//! Copy `seal.pub` off the host: a key that only lives beside the log it
//! seals proves nothing to someone who can replace both.

use std::io::Write;
use std::path::{Path, PathBuf};

use signed_note::{StandardSigner, StandardVerifier};

/// Where the keys live: beside the database (the home, by default).
pub fn paths(db: &Path) -> (PathBuf, PathBuf) {
    let dir = db.parent().unwrap_or(Path::new("."));
    (dir.join("seal.key"), dir.join("seal.pub"))
}

/// This host's name, as a key or origin name allows it (no spaces, no `+`).
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: buf is valid for its length; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let raw = if rc == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    };
    let clean: String = raw
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    if clean.is_empty() {
        "localhost".into()
    } else {
        clean
    }
}

/// Make the key pair. Refuses to replace a key: checkpoints it signed would
/// no longer verify.
pub fn init(db: &Path, name: &str) -> Result<String, String> {
    let (key, public) = paths(db);
    if key.exists() {
        return Err(format!(
            "{} exists; a new key would orphan every checkpoint it signed. Remove it yourself if that is meant.",
            key.display()
        ));
    }
    if !valid_name(name) {
        return Err(format!(
            "{name:?} is not a valid key name (no spaces, no '+', no control characters)"
        ));
    }
    let (skey, vkey) = signed_note::generate_key(&mut rand_core::OsRng, name);
    write_new(&key, skey.as_bytes(), 0o600)?;
    if let Err(e) = write_new(&public, format!("{vkey}\n").as_bytes(), 0o644) {
        let _ = std::fs::remove_file(&key);
        return Err(e);
    }
    Ok(vkey)
}

/// A key name as signed notes allow it (no spaces, no `+`), and printable:
/// it is shown on terminals and written into every signature line.
pub fn valid_name(name: &str) -> bool {
    signed_note::is_key_name_valid(name)
        && !name
            .chars()
            .any(|c| c.is_control() || vmware_policy::sanitize::is_stripped(c))
}

pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The signer, from `seal.key`.
pub fn signer(db: &Path) -> Result<StandardSigner, String> {
    let (key, _) = paths(db);
    let text = std::fs::read_to_string(&key).map_err(|e| {
        format!(
            "cannot read the sealing key {}: {e} (make one with `vmware-audit seal --init-key`)",
            key.display()
        )
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(&key)
            && m.permissions().mode() & 0o077 != 0
        {
            return Err(format!(
                "{} is readable by others (mode {:o}); chmod 600 it first",
                key.display(),
                m.permissions().mode() & 0o777
            ));
        }
    }
    StandardSigner::new(text.trim())
        .map_err(|e| format!("{}: not a signing key ({e})", key.display()))
}

/// The verifier keys `verify` trusts: `seal.pub` (if present) and each given one.
pub fn verifiers(db: &Path, extra: &[String]) -> Result<Vec<(String, StandardVerifier)>, String> {
    let (_, public) = paths(db);
    let mut given: Vec<String> = Vec::new();
    if public.exists() {
        given.push(public.display().to_string());
    }
    given.extend_from_slice(extra);
    let list = parse_verifiers(&given)?;
    if list.is_empty() {
        return Err(format!(
            "no key to verify with: {} is missing and no --trust was given",
            public.display()
        ));
    }
    Ok(list)
}

/// Verifier keys from each of `given`: a file of keys (one per line), or a key.
pub fn parse_verifiers(given: &[String]) -> Result<Vec<(String, StandardVerifier)>, String> {
    let mut texts: Vec<String> = Vec::new();
    for k in given {
        match std::fs::read_to_string(k) {
            Ok(t) => texts.extend(
                t.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(String::from),
            ),
            Err(_) if !Path::new(k).exists() => texts.push(k.trim().to_string()),
            Err(e) => return Err(format!("cannot read {k}: {e}")),
        }
    }
    texts
        .into_iter()
        .map(|t| {
            StandardVerifier::new(&t)
                .map(|v| (t.clone(), v))
                .map_err(|e| format!("{t:?} is not a verifier key ({e})"))
        })
        .collect()
}
