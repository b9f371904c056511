//! What one audit row holds, what became of it, and the writer's tunables.

use chrono::{DateTime, Utc};

use super::conn::Durability;
use super::rotate;

/// Size at which the database is rotated, as in the Python package.
pub const DEFAULT_ROTATE_BYTES: u64 = 100 * 1024 * 1024;

/// One audit row to write. Text fields are stored as given; `params` and
/// `result` are JSON text (see [`crate::audit::python_json`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// When the call happened; `None` stamps the time of the append.
    pub ts: Option<DateTime<Utc>>,
    pub skill: String,
    pub tool: String,
    pub params: String,
    pub result: String,
    pub status: String,
    pub duration_ms: i64,
    pub agent: String,
    pub workflow_id: String,
    pub user: String,
    pub risk_level: String,
    pub rationale: String,
    pub approved_by: String,
    pub risk_tier: String,
    pub surface: String,
    pub correlation_id: String,
    pub role: String,
}

impl Default for Record {
    fn default() -> Record {
        Record {
            ts: None,
            skill: "unknown".into(),
            tool: String::new(),
            params: "{}".into(),
            result: "{}".into(),
            status: "ok".into(),
            duration_ms: 0,
            agent: "unknown".into(),
            workflow_id: String::new(),
            user: "unknown".into(),
            risk_level: "low".into(),
            rationale: String::new(),
            approved_by: String::new(),
            risk_tier: String::new(),
            surface: String::new(),
            correlation_id: String::new(),
            role: String::new(),
        }
    }
}

/// What happened to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Committed (durable under the engine's [`Durability`]), with its id.
    Written(i64),
    /// Could not be written: reported on stderr and counted in `lost_rows()`.
    Lost,
}

/// Tunables; the defaults are the Python package's.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    pub rotate_bytes: u64,
    pub max_archives: usize,
    pub durability: Durability,
}

impl Default for AuditOptions {
    fn default() -> AuditOptions {
        AuditOptions {
            rotate_bytes: DEFAULT_ROTATE_BYTES,
            max_archives: rotate::MAX_ARCHIVES,
            durability: Durability::Full,
        }
    }
}
