//! The shipper's local state, beside the database (0600): how far each
//! database file is shipped, which archives are done (what our retention
//! reads to hold the rest, `vmware_policy::audit::ship_hold`), and a
//! heartbeat. The central cursor is authoritative; this copy lets a shipper
//! restarted with the server down report where it stands, and finds rows
//! lost when a file vanishes before it was shipped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileState {
    /// The last row id committed centrally.
    pub shipped: i64,
    /// The highest row id seen in the file.
    pub seen: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    pub host_id: String,
    /// Unix seconds of the last pass (our retention's hold lapses without it).
    pub heartbeat: u64,
    /// By db_uuid.
    pub files: BTreeMap<String, FileState>,
    /// Archive file names whose rows are all shipped, and their db_uuid.
    pub shipped_archives: Vec<String>,
    pub archive_uuids: BTreeMap<String, String>,
}

impl State {
    pub fn path(db: &Path) -> PathBuf {
        vmware_policy::audit::ship_hold::state_path(db)
    }

    /// The state on disk; a missing one is empty, an unreadable one is said
    /// and started afresh (the central cursors stand).
    pub fn load(db: &Path) -> State {
        let path = State::path(db);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
                eprintln!(
                    "vmware-audit ship: {} is unreadable ({e}); starting from the central cursors",
                    path.display()
                );
                State::default()
            }),
            Err(_) => State::default(),
        }
    }

    pub fn save(&mut self, db: &Path) -> Result<(), String> {
        self.heartbeat = now_secs();
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        crate::seal::store::write_atomic(&State::path(db), text.as_bytes())
    }

    pub fn archive_done(&self, name: &str) -> bool {
        self.shipped_archives.iter().any(|n| n == name)
    }
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
