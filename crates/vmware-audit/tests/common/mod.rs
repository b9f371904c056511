//! Helpers shared by the integration tests: real files in temporary homes, the
//! example skill as a real process, and the Python package as an oracle.
#![allow(dead_code)]

pub mod cli;
pub mod pg;
pub mod tmux;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The pinned Python package the contract is written against.
pub const PY_PACKAGE: &str = "vmware-policy==1.24.3";
/// The Python MCP SDK, a real MCP host's client library nobody here wrote.
pub const PY_MCP: &str = "mcp==2.3.0";

/// A fresh home with `rules.yaml` and `audit.db` paths.
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Home {
        Home {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    pub fn rules(&self) -> PathBuf {
        self.path().join("rules.yaml")
    }
    pub fn db(&self) -> PathBuf {
        self.path().join("audit.db")
    }
    pub fn write_rules(&self, text: &str) {
        std::fs::write(self.rules(), text).expect("write rules");
    }
}

fn target_dir() -> PathBuf {
    // tests run from target/<profile>/deps/<name>-<hash>
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf()
}

/// The example skill binary (cargo builds examples for `cargo test`).
pub fn skill_bin() -> PathBuf {
    example_bin("skill")
}

/// The example MCP skill (built by `cargo test`: this crate's tests enable the
/// library's `rmcp` feature).
pub fn mcp_skill_bin() -> PathBuf {
    example_bin("mcp_skill")
}

pub fn example_bin(name: &str) -> PathBuf {
    let p = target_dir().join("examples").join(name);
    assert!(
        p.exists(),
        "example skill not built at {} (run `cargo test`, which builds examples)",
        p.display()
    );
    p
}

/// Run the example skill against `home` with `args`.
pub fn skill(home: &Path, args: &[&str]) -> Output {
    skill_cmd(home, args).output().expect("run skill")
}

pub fn skill_cmd(home: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(skill_bin());
    // These processes generate load (hundreds of identical calls): the
    // runaway breaker is off for them; tests of the breaker set it explicitly.
    c.args(args)
        .env("OPS_HOME", home)
        .env_remove("VMWARE_POLICY_DISABLED")
        .env("VMWARE_RUNAWAY_MAX", "0")
        .env_remove("OPS_RUNAWAY_MAX");
    for k in [
        "CLAUDE_SESSION_ID",
        "CLAUDE_CODE",
        "CODEX_SESSION",
        "OLLAMA_HOST",
        "DEERFLOW_SESSION",
    ] {
        c.env_remove(k);
    }
    c
}

/// A venv with the pinned Python package, created once per machine under target/.
/// Not optional: if it cannot be made, the test fails and says why.
pub fn python() -> PathBuf {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        let venv = target_dir()
            .parent()
            .expect("target")
            .join("pyvenv-vmware-policy-1.24.3");
        let py = venv.join("bin").join("python");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(target_dir().parent().unwrap().join("pyvenv.lock"))
            .expect("venv lock");
        flock(&lock);
        let ready = venv.join(".ready");
        let wanted = format!("{PY_PACKAGE} {PY_MCP}");
        if !ready.exists() {
            let _ = std::fs::remove_dir_all(&venv);
            let ok = Command::new("python3")
                .args(["-m", "venv"])
                .arg(&venv)
                .status();
            assert!(
                matches!(ok, Ok(s) if s.success()),
                "python3 -m venv failed: is python3 (with venv) installed? {ok:?}"
            );
        }
        if std::fs::read_to_string(&ready).ok().as_deref() != Some(wanted.as_str()) {
            let out = Command::new(&py)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    PY_PACKAGE,
                    PY_MCP,
                ])
                .output()
                .expect("pip");
            assert!(
                out.status.success(),
                "pip install {wanted} failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::fs::write(&ready, &wanted).unwrap();
        }
        py
    })
    .clone()
}

fn flock(f: &std::fs::File) {
    use std::os::fd::AsRawFd;
    // SAFETY: valid fd for the call; the lock lives as long as the file (process).
    unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
    std::mem::forget(f.try_clone().unwrap());
}

/// Run a script under the venv's python with `OPS_HOME=home`; panics with its stderr on failure.
pub fn run_python(home: &Path, script: &str, args: &[&str]) -> String {
    let out = python_cmd(home, script, args).output().expect("run python");
    assert!(
        out.status.success(),
        "python {script} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8")
}

pub fn python_cmd(home: &Path, script: &str, args: &[&str]) -> Command {
    let mut c = Command::new(python());
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    c.arg(path)
        .args(args)
        .env("OPS_HOME", home)
        .env_remove("VMWARE_POLICY_DISABLED");
    c
}

/// The venv's `vmware-audit` (the Python CLI).
pub fn python_cli(home: &Path, args: &[&str]) -> String {
    let bin = python().parent().unwrap().join("vmware-audit");
    let out = Command::new(bin)
        .args(args)
        .env("OPS_HOME", home)
        .output()
        .expect("python vmware-audit");
    assert!(
        out.status.success(),
        "python vmware-audit {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8")
}

/// The one value `sql` selects from the database file `db`.
pub fn scalar<T: rusqlite::types::FromSql>(db: &Path, sql: &str) -> T {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

/// Every row of the live database and its archives, archives first (oldest first).
pub fn all_rows(db: &Path) -> Vec<vmware_policy::audit::AuditRow> {
    let mut files = vmware_policy::audit::rotate::archives(db);
    files.push(db.to_path_buf());
    files
        .iter()
        .filter(|p| p.exists())
        .flat_map(|p| {
            vmware_policy::audit::Reader::open(p)
                .unwrap()
                .after(0, 1 << 40)
                .unwrap()
        })
        .collect()
}

/// Every row of one database file, oldest first.
pub fn all_rows_of(db: &Path) -> Vec<vmware_policy::audit::AuditRow> {
    vmware_policy::audit::Reader::open(db)
        .unwrap()
        .after(0, 1 << 40)
        .unwrap()
}

/// Run the operator's binary (`vmware-audit ARGS`) on `home`, no colour.
pub fn audit(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vmware-audit"))
        .args(args)
        .env("OPS_HOME", home)
        .env("NO_COLOR", "1")
        .output()
        .expect("run vmware-audit")
}

/// [`audit`] that must succeed; its stdout.
pub fn audit_ok(home: &Path, args: &[&str]) -> String {
    let out = audit(home, args);
    assert!(
        out.status.success(),
        "vmware-audit {args:?} failed ({:?}):\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8")
}

/// Child processes killed when the test ends, passed or failed (a failed
/// assertion must not leave writers and shippers running on the machine).
#[derive(Default)]
pub struct Reap(pub Vec<std::process::Child>);

impl Drop for Reap {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
