//! `vmware-audit demo`: a temporary home, a demo rules file, simulated agent
//! calls through the real guard, and the rows they wrote.

use serde_json::json;
use vmware_policy::audit::Reader;
use vmware_policy::{AuditEngine, Call, Guard, PolicyEngine, Tool, sanitize};

const DEMO_RULES: &str = r#"# demo rules: written by `vmware-audit demo`
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
  start: "22:00"
  end: "06:00"
"#;

pub fn run() -> i32 {
    let home = match tempfile_dir() {
        Ok(h) => h,
        Err(e) => {
            eprintln!("vmware-audit demo: cannot create a temporary home: {e}");
            return 1;
        }
    };
    let rules = home.join("rules.yaml");
    let db = home.join("audit.db");
    if let Err(e) = std::fs::write(&rules, DEMO_RULES) {
        eprintln!("vmware-audit demo: cannot write {}: {e}", rules.display());
        return 1;
    }
    let guard = Guard::new(PolicyEngine::new(&rules), AuditEngine::new(&db));
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
    println!("demo home: {} (rules.yaml, audit.db)\n", home.display());
    let rows = match Reader::open(&db).and_then(|r| r.latest(50).map_err(Into::into)) {
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
    0
}

fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("vmware-audit-demo-{}", std::process::id()));
    vmware_policy::home::ensure_private_dir(&dir)?;
    Ok(dir)
}
