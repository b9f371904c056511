//! A small NSX-security-like skill: a skill author's starting point, and the way
//! the tests produce real rows.
//!
//! ```text
//! cargo run --example skill -- TOOL [KEY=VALUE ...]
//! cargo run --example skill -- delete_dfw_policy policy_id=web env=production password=x
//! ```
//!
//! `env=NAME` is the call's environment (a real skill resolves it from the
//! target's `environment:` label). Other pairs are the tool's parameters
//! (`true`/`false`/numbers are typed). Rules and audit log come from
//! `$OPS_HOME` (default `~/.vmware`).
//!
//! Extra flags, for tests: `--repeat N` makes N calls in this one process (so
//! the runaway breaker sees them: the 26th identical call within 120 s is
//! refused, `budget_exceeded`; set `VMWARE_RUNAWAY_MAX=0` to generate load); `--committed FILE`
//! appends the id of every row the audit log reported committed, one per line,
//! after `append` returned; `--interval-ms N` waits between calls; `--seq` adds
//! `seq=<i>` to each call's parameters; `--rotate-bytes N` rotates the audit log
//! at N bytes instead of 100 MiB; `--keep-archives N` keeps N archives, not 5.

use std::io::Write;

use serde_json::{Map, Value, json};
use vmware_policy::{
    Appended, AuditEngine, AuditOptions, Call, Guard, GuardError, PolicyEngine, Tool,
    audit::rotate, home,
};

/// The skill's tools, declared once.
fn tools() -> Vec<Tool> {
    vec![
        Tool::new("nsx_security", "list_dfw_policies").risk("low"),
        Tool::new("nsx_security", "create_dfw_rule").risk("medium"),
        Tool::new("nsx_security", "delete_dfw_policy")
            .risk("critical")
            .sensitive_params(&["password"]),
    ]
}

/// What each tool does (here: pretends, against no NSX manager).
fn run_tool(name: &str, params: &Map<String, Value>) -> Result<Value, String> {
    match name {
        "list_dfw_policies" => Ok(json!({"policies": [
            {"id": "web-tier", "rules": 12}, {"id": "db-tier", "rules": 4}
        ]})),
        "create_dfw_rule" => match params.get("policy_id") {
            Some(p) => Ok(json!({"created": true, "policy_id": p, "rule_id": "r-1001"})),
            None => Err("create_dfw_rule needs policy_id=...".into()),
        },
        "delete_dfw_policy" => match params.get("policy_id") {
            Some(p) => Ok(json!({"deleted": p})),
            None => Err("delete_dfw_policy needs policy_id=...".into()),
        },
        other => Err(format!("unknown tool {other}")),
    }
}

fn typed(v: &str) -> Value {
    match v {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => v
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(v.into())),
    }
}

struct Args {
    tool: String,
    env: String,
    params: Map<String, Value>,
    repeat: u64,
    committed: Option<std::path::PathBuf>,
    interval_ms: u64,
    seq: bool,
    rotate_bytes: Option<u64>,
    keep_archives: Option<usize>,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let tool = it
        .next()
        .ok_or("usage: skill TOOL [KEY=VALUE ...] [--repeat N] [--committed FILE]")?;
    let mut args = Args {
        tool,
        env: String::new(),
        params: Map::new(),
        repeat: 1,
        committed: None,
        interval_ms: 0,
        seq: false,
        rotate_bytes: None,
        keep_archives: None,
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--repeat" => {
                args.repeat = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or("--repeat takes a number")?
            }
            "--interval-ms" => {
                args.interval_ms = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or("--interval-ms takes a number")?
            }
            "--seq" => args.seq = true,
            "--rotate-bytes" => {
                args.rotate_bytes = Some(
                    it.next()
                        .and_then(|n| n.parse().ok())
                        .ok_or("--rotate-bytes takes a number")?,
                )
            }
            "--keep-archives" => {
                args.keep_archives = Some(
                    it.next()
                        .and_then(|n| n.parse().ok())
                        .ok_or("--keep-archives takes a number")?,
                )
            }
            "--committed" => {
                args.committed = Some(it.next().ok_or("--committed takes a file")?.into())
            }
            kv => {
                let (k, v) = kv
                    .split_once('=')
                    .ok_or_else(|| format!("expected KEY=VALUE, got {kv:?}"))?;
                if k == "env" {
                    args.env = v.into();
                } else {
                    args.params.insert(k.into(), typed(v));
                }
            }
        }
    }
    Ok(args)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("skill: {e}");
            std::process::exit(2);
        }
    };
    let Some(tool) = tools().into_iter().find(|t| t.name == args.tool) else {
        let names: Vec<String> = tools().into_iter().map(|t| t.name).collect();
        eprintln!(
            "skill: unknown tool {:?}; tools: {}",
            args.tool,
            names.join(", ")
        );
        std::process::exit(2);
    };
    let guard = match args.rotate_bytes {
        None => Guard::from_home(),
        Some(rotate_bytes) => Guard::new(
            PolicyEngine::from_home(),
            AuditEngine::with_options(
                home::audit_db_path(),
                AuditOptions {
                    rotate_bytes,
                    max_archives: args.keep_archives.unwrap_or(rotate::MAX_ARCHIVES),
                    ..AuditOptions::default()
                },
            ),
        ),
    };
    let mut committed = args.committed.as_ref().map(|p| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .unwrap_or_else(|e| {
                eprintln!("skill: cannot open {}: {e}", p.display());
                std::process::exit(2);
            })
    });
    let mut denied = false;
    for i in 0..args.repeat {
        let mut params = args.params.clone();
        if args.seq {
            params.insert("seq".into(), Value::from(i));
        }
        let call = Call::new(&params).env(&args.env).surface("cli");
        let outcome = guard.run_detailed(&tool, call, || run_tool(&tool.name, &args.params));
        if let (Some(f), Some(Appended::Written(id))) = (committed.as_mut(), outcome.audit) {
            // Written only after `append` returned: what the log promised is
            // durable. With the time it returned (unix µs), for latency figures.
            // One write per line: several writers may append to one file.
            let line = format!("{id} {}\n", chrono::Utc::now().timestamp_micros());
            let _ = f.write_all(line.as_bytes());
        }
        if args.repeat == 1 || args.interval_ms > 0 {
            match &outcome.result {
                Ok(v) => println!("allowed ({}) -> {v}", outcome.decision.rule),
                Err(GuardError::Denied(d)) => println!("denied ({}): {}", d.rule, d.reason),
                Err(e) => println!("error: {e}"),
            }
            let _ = std::io::stdout().flush();
        }
        denied |= matches!(outcome.result, Err(GuardError::Denied(_)));
        if args.interval_ms > 0 && i + 1 < args.repeat {
            std::thread::sleep(std::time::Duration::from_millis(args.interval_ms));
        }
    }
    if let Some(audit) = guard.audit().filter(|a| a.lost_rows() > 0) {
        eprintln!("skill: {} audit row(s) lost (see above)", audit.lost_rows());
    }
    // Close the audit log before exiting (`exit` runs no destructors).
    drop(guard);
    std::process::exit(if denied { 1 } else { 0 });
}
