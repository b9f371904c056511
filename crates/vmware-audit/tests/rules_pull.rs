//! One signed rule set for the fleet: `rules sign` by the fleet's key, `rules
//! pull` on a host, against a real HTTP server on 127.0.0.1 (Python's
//! http.server with ETags) serving a good, a tampered, an older, an expired
//! and a foreign-signed revision. Only the good one installs, the last good
//! file stays through every refusal, each outcome is recorded in the audit
//! log, and a skill looping meanwhile obeys the new rules.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Home;

use common::{audit, audit_ok as ok};

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path) -> Server {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/etag_server.py");
    let mut child = Command::new(common::python())
        .arg(script)
        .arg(dir)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the HTTP server");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().parse().expect("the server's port");
    Server { child, port }
}

/// A revision of `text` signed by the key at `key`, published under `dir/name/`.
fn publish(dir: &Path, name: &str, text: &str, key: &Path, revision: u64, expires: &str) {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    let file = d.join("rules.yaml");
    std::fs::write(&file, text).unwrap();
    let rev = revision.to_string();
    let out = audit(
        dir,
        &[
            "rules",
            "sign",
            file.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "--revision",
            &rev,
            "--expires",
            expires,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const DENY_DELETES: &str = "deny:\n  - name: fleet-no-deletes\n    operations: [\"delete_*\"]\n";

#[test]
fn only_a_good_newer_signed_revision_installs_and_a_looping_skill_obeys_it() {
    let fleet = tempfile::tempdir().unwrap();
    let key = fleet.path().join("fleet");
    ok(
        fleet.path(),
        &[
            "rules",
            "keygen",
            key.to_str().unwrap(),
            "--name",
            "fleet-rules",
        ],
    );
    let other = fleet.path().join("intruder");
    ok(
        fleet.path(),
        &[
            "rules",
            "keygen",
            other.to_str().unwrap(),
            "--name",
            "fleet-rules",
        ],
    );
    let key_file = key.with_extension("key");
    let site = fleet.path().join("site");
    publish(&site, "good", DENY_DELETES, &key_file, 2, "30d");
    publish(&site, "older", "deny: []\n", &key_file, 1, "30d");
    publish(
        &site,
        "expired",
        DENY_DELETES,
        &key_file,
        5,
        "2020-01-01T00:00:00Z",
    );
    publish(
        &site,
        "foreign",
        "deny: []\n",
        &other.with_extension("key"),
        9,
        "30d",
    );
    publish(&site, "tampered", DENY_DELETES, &key_file, 4, "30d");
    std::fs::write(site.join("tampered/rules.yaml"), "deny: []\n").unwrap();
    let server = serve(&site);
    let url = |name: &str| format!("http://127.0.0.1:{}/{name}/rules.yaml", server.port);

    let home = Home::new();
    home.write_rules("deny: []\n");
    std::fs::copy(
        key.with_extension("pub"),
        home.path().join("rules-trusted.pub"),
    )
    .unwrap();
    // A skill calling a delete every 50 ms, in one process, all along.
    let mut skill = common::skill_cmd(
        home.path(),
        &[
            "delete_dfw_policy",
            "policy_id=web",
            "--repeat",
            "400",
            "--interval-ms",
            "50",
        ],
    )
    .stdout(Stdio::null())
    .spawn()
    .unwrap();

    let refused = |name: &str, why: &str| {
        let out = audit(home.path(), &["rules", "pull", &url(name)]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(why), "{name}: {err}");
        assert_eq!(
            std::fs::read_to_string(home.rules()).unwrap(),
            if name == "older" {
                DENY_DELETES
            } else {
                "deny: []\n"
            },
            "{name}: the last good file stays"
        );
    };
    refused("tampered", "altered after signing");
    refused("expired", "revision 5 expired");
    refused("foreign", "signed by no trusted key");

    let out = ok(home.path(), &["rules", "pull", &url("good")]);
    assert!(out.contains("installed revision 2 on "), "{out}");
    assert!(out.contains("sha256 "), "{out}");
    let installed_at = Instant::now();
    assert_eq!(std::fs::read_to_string(home.rules()).unwrap(), DENY_DELETES);

    refused("older", "revision 1 is not newer than revision 2 installed");
    // The same URL again: the server's ETag says nothing changed.
    let again = ok(home.path(), &["rules", "pull", &url("good")]);
    assert!(again.contains("not modified"), "{again}");
    // A host that edits the pulled file by hand drifts; the next pull puts
    // the signed revision back (however the ETag reads).
    std::fs::write(home.rules(), "deny: []\n").unwrap();
    let back = ok(home.path(), &["rules", "pull", &url("good")]);
    assert!(
        back.contains("restored (it had been edited on this host) revision 2"),
        "{back}"
    );
    assert_eq!(std::fs::read_to_string(home.rules()).unwrap(), DENY_DELETES);

    // The looping skill obeys the pulled rules within its reload time.
    let deadline = Instant::now() + Duration::from_secs(20);
    let denied = loop {
        let rows = common::all_rows_of(&home.db());
        let d = rows
            .iter()
            .filter(|r| r.tool == "delete_dfw_policy" && r.status == "denied")
            .count();
        if d >= 3 || Instant::now() > deadline {
            break (rows, d);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = skill.kill();
    let _ = skill.wait();
    let (rows, d) = denied;
    assert!(d >= 3, "the skill kept running deletes: {d} denied");
    let first_denied = rows
        .iter()
        .find(|r| r.status == "denied")
        .expect("a denial");
    assert!(first_denied.result.contains("fleet-no-deletes"));
    assert!(
        rows.iter()
            .any(|r| r.tool == "delete_dfw_policy" && r.status == "ok"),
        "allowed before the pull"
    );
    eprintln!(
        "denied from {:?} after the install",
        Instant::now().duration_since(installed_at)
    );

    // Every pull that installed or was refused left a row.
    let pulls: Vec<(String, String)> = rows
        .iter()
        .filter(|r| r.tool == "rules_pull")
        .map(|r| (r.status.clone(), r.params.clone()))
        .collect();
    let statuses: Vec<&str> = pulls.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        statuses,
        ["error", "error", "error", "ok", "error", "ok"],
        "{pulls:?}"
    );
    assert!(pulls[3].1.contains("\"revision\": 2"), "{:?}", pulls[3]);
    // A refusal records what was offered: the older revision, its hash.
    assert!(
        pulls[4].1.contains("\"revision\": 1, \"sha256\": \""),
        "{:?}",
        pulls[4]
    );
}

#[test]
fn signing_refuses_an_invalid_file_and_pulling_needs_a_trusted_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k");
    ok(dir.path(), &["rules", "keygen", key.to_str().unwrap()]);
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "deny:\n  - name: x\n    operations: [\n").unwrap();
    let out = audit(
        dir.path(),
        &[
            "rules",
            "sign",
            bad.to_str().unwrap(),
            "--key",
            key.with_extension("key").to_str().unwrap(),
            "--revision",
            "1",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not validate"));
    assert!(!dir.path().join("bad.yaml.sig").exists());

    let home = Home::new();
    let out = audit(
        home.path(),
        &["rules", "pull", "http://127.0.0.1:9/rules.yaml"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rules-trusted.pub"));
}
