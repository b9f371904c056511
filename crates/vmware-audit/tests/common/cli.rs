//! The operator's binary as `tests/cli.rs` and `tests/cli_rules.rs` run it.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

/// `vmware-audit` on `home`, colour left to the terminal test, 140 columns.
pub fn bin(home: &Path) -> Command {
    let mut c = Command::cargo_bin("vmware-audit").unwrap();
    c.env("OPS_HOME", home)
        .env_remove("NO_COLOR")
        .env("COLUMNS", "140");
    c
}

/// The JSON a command that must succeed printed.
pub fn json_out(c: &mut Command) -> Value {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}
