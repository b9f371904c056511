//! What `rules pull` installed last, beside the rules file
//! (`rules.yaml.pulled.json`, 0600): the revision a newer one must beat, the
//! ETag to ask with, and what the TUI's header shows.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct State {
    pub url: String,
    pub revision: u64,
    pub sha256: String,
    pub signed_by: Vec<String>,
    pub expires: String,
    pub etag: Option<String>,
    pub installed_at: String,
}

pub fn path(rules: &Path) -> PathBuf {
    let mut name = rules
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "rules.yaml".into());
    name.push(".pulled.json");
    rules.with_file_name(name)
}

pub fn load(rules: &Path) -> Option<State> {
    serde_json::from_slice(&std::fs::read(path(rules)).ok()?).ok()
}

pub fn save(rules: &Path, state: &State) -> Result<(), String> {
    let text = serde_json::to_vec_pretty(state).map_err(|e| e.to_string())?;
    crate::seal::store::write_atomic(&path(rules), &text)
}

/// What the header says of the rules in force: the pulled revision when the
/// file on disk is still what was pulled, else that it was edited since.
pub fn describe(rules: &Path) -> Option<String> {
    let s = load(rules)?;
    let now = std::fs::read(rules).ok()?;
    if super::envelope::sha256_hex(&now) == s.sha256 {
        Some(format!("rev {} signed", s.revision))
    } else {
        Some(format!("rev {} edited locally, unsigned", s.revision))
    }
}
