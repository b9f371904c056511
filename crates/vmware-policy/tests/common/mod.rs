//! What the library's integration tests share: a temporary home with a rules
//! file, a guard over it, and its rows read back by another connection.
#![allow(dead_code)]

use vmware_policy::audit::{AuditRow, Reader};
use vmware_policy::{AuditEngine, Guard, PolicyEngine};

pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    pub fn new(rules: &str) -> Home {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rules.yaml"), rules).unwrap();
        Home { dir }
    }

    pub fn guard(&self) -> Guard {
        Guard::new(
            PolicyEngine::new(self.dir.path().join("rules.yaml")),
            AuditEngine::new(self.dir.path().join("audit.db")),
        )
    }

    /// Every row, oldest first, read by a separate connection.
    pub fn rows(&self) -> Vec<AuditRow> {
        let mut rows = Reader::open(&self.dir.path().join("audit.db"))
            .unwrap()
            .latest(10_000)
            .unwrap();
        rows.reverse();
        rows
    }
}
