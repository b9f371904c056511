//! The fleet against a real PostgreSQL: the INSERT-only role, passwords that
//! never ride on the command line, TLS by rustls with the operator's CA,
//! SIGTERM, our retention holding unshipped archives, gaps of rows lost
//! before shipping, and `--source` reading what was shipped.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::pg::{Pg, SUPER_PASSWORD};
use common::{Home, Reap, run_python, skill};

fn audit(home: &Home, password: Option<&str>, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vmware-audit"));
    c.args(args)
        .env("OPS_HOME", home.path())
        .env_remove("PGPASSWORD");
    if let Some(p) = password {
        c.env("PGPASSWORD", p);
    }
    c.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn generated(rows: u32) -> Home {
    let home = Home::new();
    home.write_rules("deny: []\n");
    let out = audit(
        &home,
        None,
        &["generate", "--rows", &rows.to_string(), "--days", "1"],
    );
    assert!(out.status.success(), "{}", text(&out));
    home
}

/// A server with the schema, and a login role `web1` in the ingest role.
fn fleet() -> (Pg, String) {
    let pg = Pg::start();
    pg.create_db("fleet");
    let url = pg.url("postgres", "fleet");
    let home = Home::new();
    let out = audit(
        &home,
        Some(SUPER_PASSWORD),
        &["ship", "--init-schema", "--to", &url],
    );
    assert!(out.status.success(), "{}", text(&out));
    pg.client("fleet")
        .batch_execute(
            "CREATE ROLE web1 LOGIN PASSWORD 'web1-pass' IN ROLE vmware_audit_ingest;
             CREATE ROLE auditor LOGIN PASSWORD 'auditor-pass' IN ROLE vmware_audit_reader;",
        )
        .unwrap();
    (pg, url)
}

fn count(pg: &Pg, host: &str) -> i64 {
    pg.client("fleet")
        .query_one(
            "SELECT COUNT(*) FROM vmware_audit_fleet WHERE host_id = $1",
            &[&host],
        )
        .unwrap()
        .get(0)
}

#[test]
fn a_shipper_can_only_insert_and_a_reader_only_read() {
    let (pg, _) = fleet();
    let home = generated(1200);
    let ship_url = pg.url("web1", "fleet");
    let out = audit(
        &home,
        Some("web1-pass"),
        &["ship", "--once", "--to", &ship_url, "--host-id", "web1"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("1200 rows in 3 batches"),
        "{}",
        text(&out)
    );
    assert_eq!(count(&pg, "web1"), 1200);
    // Again: nothing new, nothing doubled (the cursor is read centrally).
    let out = audit(
        &home,
        Some("web1-pass"),
        &["ship", "--once", "--to", &ship_url, "--host-id", "web1"],
    );
    assert!(text(&out).contains(" 0 rows"), "{}", text(&out));
    assert_eq!(count(&pg, "web1"), 1200);
    // The shipper's role reads nothing, changes nothing.
    let mut web1 = postgres::Config::new()
        .host("127.0.0.1")
        .port(pg.port)
        .user("web1")
        .password("web1-pass")
        .dbname("fleet")
        .connect(postgres::NoTls)
        .unwrap();
    for sql in [
        "SELECT * FROM vmware_audit_fleet",
        "SELECT * FROM vmware_audit_log",
        "UPDATE vmware_audit_fleet SET status = 'ok'",
        "DELETE FROM vmware_audit_fleet",
        "TRUNCATE vmware_audit_fleet",
        "SELECT * FROM vmware_audit_gaps",
    ] {
        let e = web1.batch_execute(sql).unwrap_err();
        assert!(
            e.to_string().contains("permission denied") || format!("{e:?}").contains("42501"),
            "{sql}: {e:?}"
        );
    }
    assert!(
        text(&audit(
            &home,
            Some("web1-pass"),
            &["--source", &ship_url, "log"]
        ))
        .contains("permission denied")
    );
    // A host filter on this host's own files would select nothing: refused.
    let out = audit(&home, None, &["log", "--host", "web1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("--source"), "{}", text(&out));
    // The reader reads, through the same filters, and writes nothing.
    let read_url = pg.url("auditor", "fleet");
    let out = audit(
        &home,
        Some("auditor-pass"),
        &["--source", &read_url, "stats", "--days", "3", "--json"],
    );
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["total"], 1200, "{}", text(&out));
    assert_eq!(stats["by_host"][0]["name"], "web1");
    let local: serde_json::Value =
        serde_json::from_slice(&audit(&home, None, &["stats", "--days", "3", "--json"]).stdout)
            .unwrap();
    for k in [
        "total",
        "denied",
        "by_status",
        "by_tool",
        "by_agent",
        "series",
    ] {
        assert_eq!(
            stats[k], local[k],
            "{k}: the fleet counts as the local file does"
        );
    }
    let out = audit(
        &home,
        Some("auditor-pass"),
        &[
            "--source", &read_url, "export", "--format", "csv", "--status", "denied", "--limit",
            "0",
        ],
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(csv.starts_with("id,ts,") && csv.lines().next().unwrap().ends_with(",host"));
    let local_csv = String::from_utf8(
        audit(
            &home,
            None,
            &[
                "export", "--format", "csv", "--status", "denied", "--limit", "0",
            ],
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(csv.lines().count(), local_csv.lines().count());
    assert!(csv.lines().skip(1).all(|l| l.ends_with(",web1")));
    let e = postgres::Config::new()
        .host("127.0.0.1")
        .port(pg.port)
        .user("auditor")
        .password("auditor-pass")
        .dbname("fleet")
        .connect(postgres::NoTls)
        .unwrap()
        .batch_execute("DELETE FROM vmware_audit_fleet")
        .unwrap_err();
    assert!(format!("{e:?}").contains("42501"), "{e:?}");
}

#[test]
fn passwords_come_from_the_environment_or_pgpass_never_the_command_line() {
    let (pg, _) = fleet();
    let home = generated(10);
    // In the URL: refused, and not echoed.
    let with = format!("postgres://web1:web1-pass@127.0.0.1:{}/fleet", pg.port);
    let out = audit(&home, None, &["ship", "--once", "--to", &with]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("PGPASSWORD") && !text(&out).contains("web1-pass"),
        "{}",
        text(&out)
    );
    // ~/.pgpass, 0600: used.
    let url = pg.url("web1", "fleet");
    let pgpass = home.path().join("pgpass");
    std::fs::write(
        &pgpass,
        format!("127.0.0.1:{}:fleet:web1:web1-pass\n", pg.port),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let run = |extra: &[(&str, &str)]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_vmware-audit"));
        c.args(["ship", "--once", "--to", &url, "--host-id", "web1"])
            .env("OPS_HOME", home.path())
            .env_remove("PGPASSWORD")
            .env("PGPASSFILE", &pgpass);
        for (k, v) in extra {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let out = run(&[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(count(&pg, "web1"), 10);
    // Readable by others: ignored, as libpq does, and said.
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(&[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("readable by others"), "{}", text(&out));
    assert!(text(&out).contains("password"), "{}", text(&out));
    // PGPASSWORD wins.
    let out = run(&[("PGPASSWORD", "web1-pass")]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn tls_with_the_operators_ca_and_nothing_in_clear() {
    let pg = Pg::start();
    // A CA and a server certificate for 127.0.0.1, as an operator's PKI would.
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "fleet test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let server = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let data = pg.data();
    std::fs::write(data.join("server.crt"), server.pem()).unwrap();
    std::fs::write(data.join("server.key"), key.serialize_pem()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        data.join("server.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    if unsafe { libc::geteuid() } == 0 {
        for f in ["server.crt", "server.key"] {
            Command::new("chown")
                .args(["postgres:postgres"])
                .arg(data.join(f))
                .status()
                .unwrap();
        }
    }
    let mut conf = std::fs::OpenOptions::new()
        .append(true)
        .open(data.join("postgresql.conf"))
        .unwrap();
    use std::io::Write;
    writeln!(conf, "ssl = on").unwrap();
    // TCP only over TLS.
    let hba = std::fs::read_to_string(data.join("pg_hba.conf"))
        .unwrap()
        .replace("\nhost ", "\nhostssl ");
    std::fs::write(data.join("pg_hba.conf"), hba).unwrap();
    pg.restart();
    let ca_pem = pg.path().join("ca.pem");
    std::fs::write(&ca_pem, ca_cert.pem()).unwrap();

    let home = generated(50);
    let base = pg.url("postgres", "postgres");
    let tls = format!("{base}?sslmode=require&sslrootcert={}", ca_pem.display());
    let out = audit(
        &home,
        Some(SUPER_PASSWORD),
        &["ship", "--init-schema", "--to", &tls],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = audit(
        &home,
        Some(SUPER_PASSWORD),
        &["ship", "--once", "--to", &tls, "--host-id", "tls-host"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = audit(
        &home,
        Some(SUPER_PASSWORD),
        &["--source", &tls, "log", "--json", "--last", "100"],
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 50);
    // A server whose certificate no trusted CA signed: refused.
    let untrusted = format!("{base}?sslmode=require");
    let out = audit(
        &home,
        Some(SUPER_PASSWORD),
        &["--source", &untrusted, "log"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).to_lowercase().contains("certificate"),
        "{}",
        text(&out)
    );
    // In clear: the server refuses it.
    let clear = format!("{base}?sslmode=disable");
    let out = audit(&home, Some(SUPER_PASSWORD), &["--source", &clear, "log"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("pg_hba.conf") || text(&out).contains("no encryption"),
        "{}",
        text(&out)
    );
}

#[test]
fn sigterm_commits_the_batch_under_way_and_exits() {
    let (pg, _) = fleet();
    let home = generated(60_000);
    let url = pg.url("web1", "fleet");
    let c = Command::new(env!("CARGO_BIN_EXE_vmware-audit"))
        .args(["ship", "--to", &url, "--host-id", "web1"])
        .env("OPS_HOME", home.path())
        .env("PGPASSWORD", "web1-pass")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut c = Reap(vec![c]);
    let c = &mut c.0[0];
    let end = Instant::now() + Duration::from_secs(30);
    while count(&pg, "web1") < 2000 {
        assert!(Instant::now() < end, "nothing shipped");
        std::thread::sleep(Duration::from_millis(20));
    }
    // A second shipper for the same home is refused while this one runs.
    let second = audit(
        &home,
        Some("web1-pass"),
        &["ship", "--once", "--to", &url, "--host-id", "web1"],
    );
    assert_eq!(second.status.code(), Some(2));
    assert!(
        text(&second).contains("another `vmware-audit ship` is running"),
        "{}",
        text(&second)
    );
    // SAFETY: signalling our own child.
    unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
    let asked = Instant::now();
    let status = c.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );
    let mut err = String::new();
    std::io::Read::read_to_string(c.stderr.as_mut().unwrap(), &mut err).unwrap();
    let shipped = count(&pg, "web1");
    assert!(shipped < 60_000, "it stopped, not finished ({shipped})");
    assert!(err.contains(&format!("{shipped} rows")), "{err}");
    // The local state says what the server holds: the batch under way was committed.
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(home.path().join("audit.db.ship-state.json")).unwrap(),
    )
    .unwrap();
    let files = state["files"].as_object().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files.values().next().unwrap()["shipped"], shipped);
}

#[test]
fn our_retention_holds_what_is_not_shipped_and_a_python_deletion_is_a_gap() {
    let (pg, _) = fleet();
    let home = Home::new();
    home.write_rules("deny: []\n");
    let url = pg.url("web1", "fleet");
    // A shipper has run here (its state exists), and the server is down for
    // it: every archive is kept past `--keep-archives 1`.
    let out = audit(&home, None, &["generate", "--rows", "10", "--days", "1"]);
    assert!(out.status.success());
    let ship = |pw: &str| {
        audit(
            &home,
            Some(pw),
            &["ship", "--once", "--to", &url, "--host-id", "web1"],
        )
    };
    assert!(ship("web1-pass").status.success());
    let out = ship("wrong");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let pad = "p".repeat(2000);
    let out = skill(
        home.path(),
        &[
            "list_dfw_policies",
            &format!("pad={pad}"),
            "--repeat",
            "800",
            "--rotate-bytes",
            "200000",
            "--keep-archives",
            "1",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    // (How many rotations 800 rows make depends on when SQLite checkpoints
    // the WAL into the file whose size is checked: at least two.)
    let archives = vmware_policy::audit::rotate::archives(&home.db());
    assert!(archives.len() >= 2, "held past keep=1: {archives:?}");
    // Shipped: the next rotation lets them go.
    assert!(ship("web1-pass").status.success());
    assert_eq!(count(&pg, "web1"), 810);
    let out = skill(
        home.path(),
        &[
            "list_dfw_policies",
            &format!("pad={pad}"),
            "--repeat",
            "150",
            "--rotate-bytes",
            "200000",
            "--keep-archives",
            "1",
        ],
    );
    assert!(out.status.success());
    assert!(vmware_policy::audit::rotate::archives(&home.db()).len() <= 2);
    assert!(ship("web1-pass").status.success());

    // Python's rotation, then its retention deleting the archive before
    // the shipper got it all: the rows seen and not shipped are a gap.
    run_python(home.path(), "write_many.py", &["py", "30"]);
    pg.client("fleet")
        .batch_execute("REVOKE INSERT ON vmware_audit_fleet FROM vmware_audit_ingest")
        .unwrap();
    let out = ship("web1-pass");
    assert_eq!(
        out.status.code(),
        Some(1),
        "the server refuses: {}",
        text(&out)
    );
    assert_eq!(run_python(home.path(), "rotate_now.py", &[]).trim(), "1");
    let newest = vmware_policy::audit::rotate::archives(&home.db())
        .pop()
        .unwrap();
    std::fs::remove_file(&newest).unwrap();
    pg.client("fleet")
        .batch_execute("GRANT INSERT ON vmware_audit_fleet TO vmware_audit_ingest")
        .unwrap();
    let out = ship("web1-pass");
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("gap: rows"), "{}", text(&out));
    let gaps = pg
        .client("fleet")
        .query(
            "SELECT from_id, to_id FROM vmware_audit_gaps WHERE host_id = 'web1'",
            &[],
        )
        .unwrap();
    assert_eq!(gaps.len(), 1);
    let (from, to): (i64, Option<i64>) = (gaps[0].get(0), gaps[0].get(1));
    assert!(to.unwrap() - from + 1 >= 30, "{from}..{to:?}");
    // A retired shipper: `--forget` (no URL needed) ends the hold.
    let state = home.path().join("audit.db.ship-state.json");
    assert!(state.exists());
    let out = audit(&home, None, &["ship", "--forget"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!state.exists());
}

#[test]
fn log_follow_on_the_fleet_prints_rows_as_they_commit_through_a_restart() {
    let (pg, url) = fleet();
    let home = generated(20);
    let ship = || {
        let out = audit(
            &home,
            Some(SUPER_PASSWORD),
            &["ship", "--once", "--to", &url, "--host-id", "web1"],
        );
        assert!(out.status.success(), "{}", text(&out));
    };
    ship();
    let mut follow = Command::new(env!("CARGO_BIN_EXE_vmware-audit"))
        .args([
            "--source", &url, "log", "--follow", "--jsonl", "--last", "5",
        ])
        .env("PGPASSWORD", SUPER_PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = follow.stdout.take().unwrap();
    let mut follow = Reap(vec![follow]);
    let (tx, rx) = std::sync::mpsc::channel::<serde_json::Value>();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(serde_json::from_str(&line).unwrap()).is_err() {
                break;
            }
        }
    });
    let next = || {
        rx.recv_timeout(Duration::from_secs(15))
            .expect("a followed row")
    };
    let first: Vec<_> = (0..5).map(|_| next()).collect();
    assert!(first.iter().all(|r| r["host"] == "web1"));
    // New rows, shipped: followed.
    let out = skill(
        home.path(),
        &["list_dfw_policies", "marker=one", "--repeat", "3"],
    );
    assert!(out.status.success());
    ship();
    for _ in 0..3 {
        assert!(next()["params"].as_str().unwrap().contains("one"));
    }
    // The server restarts: the follow rides it out.
    pg.restart();
    let out = skill(
        home.path(),
        &["list_dfw_policies", "marker=two", "--repeat", "2"],
    );
    assert!(out.status.success());
    ship();
    for _ in 0..2 {
        assert!(next()["params"].as_str().unwrap().contains("two"));
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(follow.0[0].id() as i32, libc::SIGTERM) };
    assert!(follow.0[0].wait().unwrap().success());
    assert!(rx.try_recv().is_err(), "nothing twice");
}
