//! The seal's state as the TUI's header shows it: what the last `verify`
//! found, read from `seal/last-verify.json`.

use std::path::Path;

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealState {
    /// Something is sealed; no verification recorded yet.
    Unverified,
    /// The last verification passed.
    Verified {
        up_to_id: Option<i64>,
        at: DateTime<Utc>,
    },
    /// The last verification found this.
    Alarm(String),
}

/// `None` when nothing was ever sealed here.
pub fn read(db: &Path) -> Option<SealState> {
    let root = super::store::root(db);
    let text = match std::fs::read(root.join("last-verify.json")) {
        Ok(t) => t,
        Err(_) => {
            return (!super::store::logs(db).is_empty()).then_some(SealState::Unverified);
        }
    };
    let v: serde_json::Value = serde_json::from_slice(&text).ok()?;
    if v["ok"].as_bool() != Some(true) {
        let why = v["alarm"]
            .as_str()
            .unwrap_or("verification failed")
            .to_string();
        return Some(SealState::Alarm(why));
    }
    let at = v["at"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())?
        .with_timezone(&Utc);
    Some(SealState::Verified {
        up_to_id: v["sealed_up_to_id"].as_i64(),
        at,
    })
}
