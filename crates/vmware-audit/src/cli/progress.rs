//! The line a first build of a large sidecar index shows on a terminal's
//! stderr (`stats`, `log`, `export`, `optimize` share it): a long silence on
//! a million-row database reads as a hang.

use std::io::IsTerminal;
use std::path::Path;

/// Rows below which a build is too short to be worth a line.
const SHOWN_FROM: u64 = 100_000;

pub struct ProgressLine {
    name: String,
    tty: bool,
    shown: bool,
}

impl ProgressLine {
    pub fn new(db: &Path) -> ProgressLine {
        ProgressLine {
            name: vmware_policy::safe_text::term_safe(&db.display().to_string()).into_owned(),
            tty: std::io::stderr().is_terminal(),
            shown: false,
        }
    }

    pub fn tell(&mut self, done: u64, total: u64) {
        if self.tty && total >= SHOWN_FROM {
            eprint!(
                "\rvmware-audit: indexing {}: {}% ({done} of {total} rows)\x1b[K",
                self.name,
                done * 100 / total.max(1)
            );
            self.shown = true;
        }
    }
}

impl Drop for ProgressLine {
    fn drop(&mut self) {
        if self.shown {
            eprint!("\r\x1b[K");
        }
    }
}
