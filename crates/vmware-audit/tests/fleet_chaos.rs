//! The fleet under fire, against a real PostgreSQL: three homes standing for
//! three hosts, each with a Rust skill process and a Python skill process
//! (vmware-policy 1.24.3) writing and rotating at a small threshold (ours by
//! copy, Python's by rename), a shipper per home killed with SIGKILL 20
//! times, and the server restarted twice mid-run. Afterwards every row of
//! every host is in the central database exactly once, and `log --source`
//! returns what each host's own `log --archives` returns, in order.

mod common;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::pg::{Pg, SUPER_PASSWORD};
use common::{Home, Reap, all_rows, python_cmd, skill_cmd};

const RUST_ROWS: usize = 900;
const PY_ROWS: usize = 600;
const THRESHOLD: &str = "120000";
const KEEP: &str = "100000";
const KILLS: usize = 20;

fn audit() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vmware-audit"));
    c.env("PGPASSWORD", SUPER_PASSWORD);
    c
}

fn shipper(home: &Home, url: &str, host: &str) -> Child {
    audit()
        .args(["ship", "--to", url, "--host-id", host])
        .env("OPS_HOME", home.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn key(params: &str) -> (String, i64) {
    let v: serde_json::Value = serde_json::from_str(params).unwrap();
    (
        v["writer"].as_str().unwrap().to_string(),
        v["seq"].as_i64().unwrap(),
    )
}

#[test]
fn every_row_of_every_host_arrives_once_through_kills_and_restarts() {
    let pg = Pg::start();
    pg.create_db("fleet");
    let url = pg.url("postgres", "fleet");
    let out = audit()
        .args(["ship", "--init-schema", "--to", &url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let homes: Vec<Home> = (0..3).map(|_| Home::new()).collect();
    let hosts = ["host-a", "host-b", "host-c"];
    let pad = "x".repeat(150);
    let mut writers = Reap::default();
    for (i, home) in homes.iter().enumerate() {
        home.write_rules("deny: []\n");
        writers.0.push(
            skill_cmd(
                home.path(),
                &[
                    "list_dfw_policies",
                    &format!("writer=rust{i}"),
                    &format!("pad={pad}"),
                    "--seq",
                    "--repeat",
                    &RUST_ROWS.to_string(),
                    "--interval-ms",
                    "3",
                    "--rotate-bytes",
                    THRESHOLD,
                    "--keep-archives",
                    KEEP,
                ],
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        );
        writers.0.push(
            python_cmd(
                home.path(),
                "writer_rotating.py",
                &[
                    &format!("py{i}"),
                    &PY_ROWS.to_string(),
                    THRESHOLD,
                    &pad,
                    KEEP,
                ],
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        );
    }
    // Killed on the way out whatever happens (the writers are waited for below).
    let mut shippers = Reap(
        homes
            .iter()
            .zip(hosts)
            .map(|(h, id)| shipper(h, &url, id))
            .collect(),
    );

    // 20 SIGKILLs, round robin over the hosts, each shipper restarted at once;
    // the server restarted after the 7th and the 14th.
    let started = Instant::now();
    for k in 0..KILLS {
        std::thread::sleep(Duration::from_millis(250));
        let i = k % 3;
        shippers.0[i].kill().unwrap(); // SIGKILL
        shippers.0[i].wait().unwrap();
        shippers.0[i] = shipper(&homes[i], &url, hosts[i]);
        if k == 6 || k == 13 {
            pg.restart();
        }
    }
    for w in &mut writers.0 {
        assert!(w.wait().unwrap().success(), "a writer failed");
    }
    drop(shippers);
    eprintln!("writers done after {:?}", started.elapsed());
    // The shippers shipped under fire, not only the drain below.
    let mut central = pg.client("fleet");
    for id in hosts {
        let n: i64 = central
            .query_one(
                "SELECT COUNT(*) FROM vmware_audit_fleet WHERE host_id = $1",
                &[&id],
            )
            .unwrap()
            .get(0);
        assert!(n > 0, "{id}: nothing shipped while the writers ran");
    }

    // Drain: what is left, shipped by a last run of each.
    for (home, id) in homes.iter().zip(hosts) {
        let out = audit()
            .args(["ship", "--once", "--to", &url, "--host-id", id])
            .env("OPS_HOME", home.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    for (home, id) in homes.iter().zip(hosts) {
        let local = all_rows(&home.db());
        assert_eq!(
            local.len(),
            RUST_ROWS + PY_ROWS,
            "every acknowledged row is in a local file"
        );
        assert!(
            vmware_policy::audit::rotate::archives(&home.db()).len() >= 2,
            "the writers rotated"
        );
        let rows = central
            .query(
                "SELECT params FROM vmware_audit_fleet WHERE host_id = $1",
                &[&id],
            )
            .unwrap();
        let mut seen: HashMap<(String, i64), usize> = HashMap::new();
        for r in &rows {
            *seen.entry(key(r.get(0))).or_default() += 1;
        }
        for l in &local {
            assert_eq!(
                seen.get(&key(&l.params)),
                Some(&1),
                "{id}: {:?} central once",
                key(&l.params)
            );
        }
        assert_eq!(rows.len(), local.len(), "{id}: nothing else, nothing twice");

        // `log --source` gives what the host's own log gives, in order.
        let fleet = audit()
            .args([
                "--source", &url, "log", "--json", "--last", "100000", "--host", id,
            ])
            .env("OPS_HOME", home.path())
            .output()
            .unwrap();
        assert!(
            fleet.status.success(),
            "{}",
            String::from_utf8_lossy(&fleet.stderr)
        );
        let own = audit()
            .args(["log", "--json", "--last", "100000", "--archives"])
            .env("OPS_HOME", home.path())
            .output()
            .unwrap();
        let mut fleet: Vec<serde_json::Value> = serde_json::from_slice(&fleet.stdout).unwrap();
        let own: Vec<serde_json::Value> = serde_json::from_slice(&own.stdout).unwrap();
        for r in &mut fleet {
            assert_eq!(r["host"], *id);
            r.as_object_mut().unwrap().remove("host");
        }
        assert_eq!(fleet.len(), own.len());
        if let Some(at) = fleet.iter().zip(&own).position(|(f, o)| f != o) {
            // What a flake needs to be understood: where the two part, and
            // the files of the host's history in the order `--archives` read them.
            let files: Vec<String> = vmware_policy::audit::rotate::archives(&home.db())
                .iter()
                .map(|a| a.file_name().unwrap().to_string_lossy().into_owned())
                .collect();
            let near = |rows: &[serde_json::Value]| -> Vec<String> {
                rows[at.saturating_sub(2)..(at + 3).min(rows.len())]
                    .iter()
                    .map(|r| format!("{} {}", r["id"], r["params"]))
                    .collect()
            };
            panic!(
                "{id}: the fleet's rows differ from the host's own log at {at}:\n fleet {:#?}\n own {:#?}\n archives {files:?}",
                near(&fleet),
                near(&own)
            );
        }
    }
}
