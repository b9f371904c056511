//! Archives the fleet shipper (`vmware-audit ship`) has not sent yet are kept
//! past our retention, so a central database that is down for a while loses
//! nothing of this host. The shipper says what it has sent in a state file
//! beside the database; the hold lapses when that file has not been touched
//! for [`LAPSE_SECS`] (a shipper retired without `ship --forget`), so a
//! forgotten shipper never fills the disk. Python's retention knows nothing of
//! this: what it deletes unsent, the shipper reports as a gap.

use std::path::{Path, PathBuf};

/// A week without a heartbeat and the hold no longer applies.
pub const LAPSE_SECS: u64 = 7 * 24 * 3600;

/// `audit.db` -> `audit.db.ship-state.json` (no `audit.*.db` glob matches it).
pub fn state_path(db: &Path) -> PathBuf {
    let name = db
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "audit.db".into());
    db.with_file_name(format!("{name}.ship-state.json"))
}

/// Of `archives`, those a live shipper has not finished sending (to keep).
pub fn unshipped(db: &Path, archives: &[PathBuf], now_secs: u64) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(state_path(db)) else {
        return Vec::new();
    };
    let Ok(state) = serde_json::from_str::<serde_json::Value>(&text) else {
        // Unreadable: keep everything rather than guess (the shipper rewrites it).
        return archives.to_vec();
    };
    let heartbeat = state["heartbeat"].as_u64().unwrap_or(0);
    if now_secs.saturating_sub(heartbeat) > LAPSE_SECS {
        return Vec::new();
    }
    let shipped: Vec<&str> = state["shipped_archives"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    archives
        .iter()
        .filter(|a| {
            let name = a.file_name().map(|n| n.to_string_lossy().into_owned());
            !name.is_some_and(|n| shipped.contains(&n.as_str()))
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_live_shippers_unsent_archives_are_held() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("audit.db");
        let a = dir.path().join("audit.20261201-000000.rs.db");
        let b = dir.path().join("audit.20261201-000100.db");
        let both = [a.clone(), b.clone()];
        assert!(
            unshipped(&db, &both, 1000).is_empty(),
            "no shipper: no hold"
        );
        let write = |heartbeat: u64| {
            std::fs::write(
                state_path(&db),
                format!(
                    r#"{{"heartbeat": {heartbeat}, "shipped_archives": ["audit.20261201-000000.rs.db"]}}"#
                ),
            )
            .unwrap()
        };
        write(1000);
        assert_eq!(unshipped(&db, &both, 1000 + 60), vec![b.clone()]);
        assert!(
            unshipped(&db, &both, 1000 + LAPSE_SECS + 1).is_empty(),
            "a silent shipper's hold lapses"
        );
        std::fs::write(state_path(&db), "{not json").unwrap();
        assert_eq!(unshipped(&db, &both, 0), both.to_vec(), "unreadable: keep");
    }
}
