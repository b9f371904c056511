//! `vmware-audit demo` (and `tui --demo`): a temporary home, demo rules with
//! deny rules and a maintenance window, simulated agents calling tools through
//! the real guard, and the TUI on it. Without a terminal, a fixed set of calls
//! and the rows they wrote.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{Timelike, Utc};
use serde_json::json;
use vmware_policy::audit::Reader;
use vmware_policy::audit::generate::generate;
use vmware_policy::{AuditEngine, Call, Guard, PolicyEngine, Tool, sanitize};

use super::common::Ctx;

/// The demo rules; the window is set to open two hours from now, so it shows
/// closed and high-risk calls are denied by it.
fn demo_rules(window_start: &str, window_end: &str) -> String {
    format!(
        r#"# demo rules: written by `vmware-audit demo`
deny:
  - name: no-delete-in-prod
    operations: ["delete_*"]
    environments: ["production"]
    reason: "Destructive operations are not allowed in production"
  - name: no-agent-firewall-edits
    operations: ["create_dfw_*"]
    min_risk_level: medium
    environments: ["prod-*"]
maintenance_window:
  start: "{window_start}"
  end: "{window_end}"
"#
    )
}

/// `--db` and `--rules`, when given, are used instead of the temporary home's
/// files: the demo's rows go into that database, and an existing rules file
/// is used as it is (never overwritten with the demo's); a missing one gets
/// the demo rules.
pub fn run(ctx: &Ctx, db: Option<PathBuf>, rules: Option<PathBuf>) -> i32 {
    let home = match demo_home() {
        Ok(h) => h,
        Err(e) => {
            eprintln!("vmware-audit demo: cannot create a temporary home: {e}");
            return 1;
        }
    };
    let rules = rules.unwrap_or_else(|| home.join("rules.yaml"));
    let db = db.unwrap_or_else(|| home.join("audit.db"));
    let now = Utc::now();
    let at = |h: u32| format!("{:02}:{:02}", (now.hour() + h) % 24, now.minute());
    if !rules.exists() {
        // Atomically and 0600, as every rules file we write.
        if let Err(e) = vmware_policy::policy::save::save(&rules, &demo_rules(&at(2), &at(3)), None)
        {
            eprintln!("vmware-audit demo: cannot write {}: {e}", rules.display());
            return 1;
        }
    }
    let guard = Arc::new(Guard::new(PolicyEngine::new(&rules), AuditEngine::new(&db)));
    if !std::io::stdout().is_terminal() {
        return fixed_calls(&guard, &rules, &db);
    }
    // A day of history first, so the stats and filters have something to show.
    if let Err(e) = generate(&db, 3000, 1, now.timestamp() as u64, now) {
        eprintln!("vmware-audit demo: cannot write the demo history: {e}");
        return 1;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let agents: Vec<_> = (0..3)
        .map(|i| {
            let (guard, stop) = (guard.clone(), stop.clone());
            std::thread::spawn(move || agent(&guard, &stop, i))
        })
        .collect();
    let code = crate::tui::run(crate::tui::Options {
        db: db.clone(),
        rules: rules.clone(),
        color: ctx.color,
        edit: false,
        filter: vmware_policy::audit::Filter::default(),
        archives: false,
        source: None,
    });
    stop.store(true, Ordering::Relaxed);
    for a in agents {
        let _ = a.join();
    }
    println!(
        "The demo home is kept for a look with the other commands:\n  \
         OPS_HOME={} vmware-audit log --status denied",
        home.display()
    );
    code
}

/// Tools the simulated agents call: (skill, tool, risk, sensitive params).
const TOOLS: &[(&str, &str, &str)] = &[
    ("nsx_security", "list_dfw_policies", "low"),
    ("nsx_security", "create_dfw_rule", "medium"),
    ("nsx_security", "delete_dfw_policy", "critical"),
    ("vsphere", "list_vms", "low"),
    ("vsphere", "power_off_vm", "high"),
    ("vsphere", "delete_vm", "critical"),
    ("vsphere", "get_vm_metrics", "low"),
    ("avi", "list_pools", "low"),
    ("avi", "delete_pool", "high"),
    ("aria", "get_alerts", "low"),
];
const ENVS: &[&str] = &["production", "prod-eu", "lab", "staging"];
/// Who the simulated agents are (as MCP clients name themselves).
const AGENTS: &[&str] = &["claude-code", "codex", "ollama-ops"];

/// How long a simulated call takes: reads are quick, writes wait on vCenter.
fn work_ms(risk: &str, roll: u64) -> u64 {
    match risk {
        "low" => 15 + roll % 240,
        "medium" => 120 + roll % 600,
        _ => 400 + roll % 1600,
    }
}

/// One simulated agent: a call every 0.3–1.5 s until told to stop.
fn agent(guard: &Guard, stop: &AtomicBool, n: u64) {
    let mut seed = Utc::now().timestamp_nanos_opt().unwrap_or(1) as u64 ^ ((n + 1) * 0x9e37_79b9);
    let mut next = |m: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % m
    };
    while !stop.load(Ordering::Relaxed) {
        let (skill, name, risk) = TOOLS[next(TOOLS.len() as u64) as usize];
        let tool = Tool::new(skill, name)
            .risk(risk)
            .sensitive_params(&["password"]);
        let target = format!("web-{:02}", next(40));
        let mut params = json!({"target": target, "password": "demo-secret"});
        if next(8) == 0 {
            params["dry_run"] = json!(true);
        }
        let call = Call::new(params)
            .env(ENVS[next(ENVS.len() as u64) as usize])
            .workflow_id(&format!("wf-{}", next(5)))
            .agent(AGENTS[n as usize % AGENTS.len()]);
        let fails = next(25) == 0;
        let work = work_ms(risk, next(10_000));
        let _ = guard.run(&tool, call, || {
            // The call's own time, cut short if the demo ends.
            for _ in 0..work / 25 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(25));
            }
            if fails {
                Err(format!("{target}: the vCenter API answered 503"))
            } else {
                Ok(json!({"target": target, "done": true}))
            }
        });
        let pause = 300 + next(1200);
        for _ in 0..pause / 50 {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// No terminal: a fixed set of calls, and the rows they wrote.
fn fixed_calls(guard: &Guard, rules: &Path, db: &Path) -> i32 {
    let list = Tool::new("nsx_security", "list_dfw_policies");
    let create = Tool::new("nsx_security", "create_dfw_rule").risk("medium");
    let delete = Tool::new("nsx_security", "delete_dfw_policy")
        .risk("critical")
        .sensitive_params(&["password"]);
    let calls: Vec<(&Tool, Call)> = vec![
        (&list, Call::new(json!({})).env("production")),
        (&create, Call::new(json!({"policy_id": "web"})).env("lab")),
        (
            &create,
            Call::new(json!({"policy_id": "web"})).env("prod-eu"),
        ),
        (
            &delete,
            Call::new(json!({"policy_id": "web", "password": "s3cret"})).env("production"),
        ),
        (
            &delete,
            Call::new(json!({"policy_id": "old", "password": "s3cret"})).env("lab"),
        ),
        (
            &delete,
            Call::new(json!({"policy_id": "tmp", "dry_run": true})).env("lab"),
        ),
    ];
    for (tool, call) in calls {
        let _ = guard.run(tool, call, || Ok::<_, String>(json!({"done": true})));
    }
    println!(
        "demo rules: {}\ndemo audit log: {}\n",
        rules.display(),
        db.display()
    );
    let rows = match Reader::open(db).and_then(|r| r.latest(50).map_err(Into::into)) {
        Ok(rows) => rows,
        Err(e) => {
            eprintln!("vmware-audit demo: cannot read {}: {e}", db.display());
            return 1;
        }
    };
    println!(
        "{:<4} {:<19} {:<20} {:<10} {:<9} params / result",
        "id", "time (UTC)", "tool", "status", "risk"
    );
    for r in rows.iter().rev() {
        let time = r.ts.get(..19).unwrap_or(&r.ts).replace('T', " ");
        let detail = if r.status.starts_with("denied") {
            &r.result
        } else {
            &r.params
        };
        println!(
            "{:<4} {:<19} {:<20} {:<10} {:<9} {}",
            r.id,
            time,
            sanitize(&r.tool, 20),
            sanitize(&r.status, 10),
            sanitize(&r.risk_level, 9),
            sanitize(detail, 90)
        );
    }
    println!("\n(run it in a terminal to see the live TUI)");
    0
}

fn demo_home() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("vmware-audit-demo-{}", std::process::id()));
    vmware_policy::home::ensure_private_dir(&dir)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_calls_take_realistic_time_by_risk() {
        for roll in [0, 1, 9_999] {
            assert!((15..255).contains(&work_ms("low", roll)));
            assert!((400..2000).contains(&work_ms("critical", roll)));
        }
        assert_eq!(AGENTS.len(), 3, "one name per simulated agent");
    }

    #[test]
    fn each_simulated_agent_is_recorded_under_its_own_name_with_its_time() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rules.yaml"), "deny: []\n").unwrap();
        let guard = Guard::new(
            vmware_policy::PolicyEngine::new(dir.path().join("rules.yaml")),
            vmware_policy::AuditEngine::new(dir.path().join("audit.db")),
        );
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            for n in 0..3 {
                let (guard, stop) = (&guard, &stop);
                s.spawn(move || agent(guard, stop, n));
            }
            std::thread::sleep(Duration::from_millis(2500));
            stop.store(true, Ordering::Relaxed);
        });
        let rows = vmware_policy::audit::Reader::open(&dir.path().join("audit.db"))
            .unwrap()
            .latest(1000)
            .unwrap();
        let agents: std::collections::BTreeSet<&str> =
            rows.iter().map(|r| r.agent.as_str()).collect();
        if vmware_policy::identity::detect_agent() == "unknown" {
            assert_eq!(agents.len(), 3, "{agents:?}");
        }
        assert!(rows.iter().any(|r| r.duration_ms >= 15), "real durations");
    }
}
