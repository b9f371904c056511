//! A real PostgreSQL server for the fleet tests: a cluster of its own in a
//! temporary directory (initdb), on a free port of 127.0.0.1, with password
//! (scram) authentication, stopped and removed on drop. As root, the server
//! runs as the `postgres` user (initdb refuses root), as Debian's packages
//! set it up. `.ci/run` installs postgresql-15 when initdb is missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The superuser's password (the tests hand it over as PGPASSWORD).
pub const SUPER_PASSWORD: &str = "fleet-test-secret";

pub struct Pg {
    pub dir: tempfile::TempDir,
    pub port: u16,
    bin: PathBuf,
}

fn bin_dir() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!("PostgreSQL's server is needed for this test: apt-get install postgresql-15")
    })
}

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Pg {
    /// A new cluster, started.
    pub fn start() -> Pg {
        let bin = bin_dir();
        let dir = tempfile::Builder::new()
            .prefix("vmware-audit-pg")
            .tempdir()
            .unwrap();
        let pg = Pg {
            port: free_port(),
            bin,
            dir,
        };
        if is_root() {
            let chown = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(pg.dir.path())
                .status()
                .unwrap();
            assert!(chown.success());
        }
        let pw = pg.dir.path().join("pw");
        std::fs::write(&pw, SUPER_PASSWORD).unwrap();
        if is_root() {
            Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&pw)
                .status()
                .unwrap();
        }
        let out = pg.run(
            "initdb",
            &[
                "-D",
                &pg.data().display().to_string(),
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                "--pwfile",
                &pw.display().to_string(),
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
        );
        assert!(out.status.success(), "initdb: {}", text(&out));
        pg.pg_ctl("start");
        pg
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let exe = self.bin.join(tool);
        let mut c = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        c.args(args).output().unwrap()
    }

    fn pg_ctl(&self, action: &str) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50",
            self.port,
            self.dir.path().display()
        );
        let data = self.data().display().to_string();
        let log = self.dir.path().join("log").display().to_string();
        let mut args = vec!["-D", &data, "-l", &log, "-w", "-t", "60"];
        if action != "stop" {
            args.extend(["-o", &opts]);
        }
        if action != "start" {
            args.extend(["-m", "fast"]);
        }
        args.push(action);
        let out = self.run("pg_ctl", &args);
        assert!(
            out.status.success(),
            "pg_ctl {action}: {}\n{}",
            text(&out),
            std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
        );
    }

    /// Stop and start again (what the fleet must ride out).
    pub fn restart(&self) {
        self.pg_ctl("restart");
    }

    pub fn stop(&self) {
        self.pg_ctl("stop");
    }

    pub fn start_again(&self) {
        self.pg_ctl("start");
    }

    /// A URL with no password (it comes from PGPASSWORD or ~/.pgpass).
    pub fn url(&self, user: &str, db: &str) -> String {
        format!("postgres://{user}@127.0.0.1:{}/{db}", self.port)
    }

    /// A superuser client, for setting up and for checking what arrived.
    pub fn client(&self, db: &str) -> postgres::Client {
        postgres::Config::new()
            .host("127.0.0.1")
            .port(self.port)
            .user("postgres")
            .password(SUPER_PASSWORD)
            .dbname(db)
            .connect(postgres::NoTls)
            .unwrap_or_else(|e| panic!("connect to the test server: {e}"))
    }

    /// A database of its own, for one test.
    pub fn create_db(&self, name: &str) {
        self.client("postgres")
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let data = self.data().display().to_string();
        let _ = self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
