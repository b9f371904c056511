//! The example MCP skill (`examples/mcp_skill.rs`, a stdio rmcp server with
//! every tool guarded) driven by real MCP clients nobody here wrote: the Python
//! `mcp` SDK (stdio_client + ClientSession), as an MCP host runs it, and rmcp's
//! own client. Each scenario is checked on the wire and in the audit file.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Home, mcp_skill_bin, python_cmd};
use serde_json::Value;
use vmware_policy::audit::{AuditRow, Reader};

const PROD_DENY: &str = "deny:\n  - name: no-delete-in-prod\n    operations: [\"delete_*\"]\n    environments: [production]\n";

/// Environment markers that would name the agent instead of the client.
const AGENT_MARKERS: &[&str] = &[
    "CLAUDECODE",
    "CLAUDE_CODE",
    "CLAUDE_SESSION_ID",
    "CODEX_SESSION",
    "OLLAMA_HOST",
    "DEERFLOW_SESSION",
    "RUST_BACKTRACE",
];

/// Run the Python MCP host script; one JSON object per line it printed.
fn python_host(home: &Home, scenario: &[&str]) -> Vec<Value> {
    python_host_with(home, scenario, &[])
}

/// [`python_host`] with these variables set for the host and the skill it starts.
fn python_host_with(home: &Home, scenario: &[&str], env: &[(&str, &str)]) -> Vec<Value> {
    let bin = mcp_skill_bin();
    let mut args = vec![bin.to_str().unwrap()];
    args.extend_from_slice(scenario);
    let mut cmd = python_cmd(home.path(), "mcp_client.py", &args);
    for k in AGENT_MARKERS {
        cmd.env_remove(k);
    }
    cmd.envs(env.iter().copied());
    let out = cmd.output().expect("run the python MCP host");
    assert!(
        out.status.success(),
        "mcp_client.py {scenario:?} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn step<'a>(steps: &'a [Value], name: &str) -> &'a Value {
    steps
        .iter()
        .find(|s| s["step"] == name)
        .unwrap_or_else(|| panic!("no step {name} in {steps:?}"))
}

fn rows(db: &Path) -> Vec<AuditRow> {
    if !db.exists() {
        return Vec::new();
    }
    let mut rows = Reader::open(db).unwrap().latest(1000).unwrap();
    rows.reverse();
    rows
}

/// Wait (up to `limit`) for a row with this status, for a process that
/// records it after the client has gone.
fn wait_for_status(db: &Path, status: &str, limit: Duration) -> Vec<AuditRow> {
    let start = Instant::now();
    loop {
        let all = rows(db);
        if all.iter().any(|r| r.status == status) || start.elapsed() > limit {
            return all;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_python_mcp_host_gets_denials_as_tool_errors_and_every_call_leaves_its_row() {
    let home = Home::new();
    home.write_rules(PROD_DENY);
    let steps = python_host(&home, &["session"]);

    assert_eq!(
        step(&steps, "tools")["names"],
        serde_json::json!(["create_dfw_rule", "delete_dfw_policy", "list_dfw_policies"])
    );
    let denied = step(&steps, "prod_delete");
    assert_eq!(denied["is_error"], true);
    assert_eq!(denied["structured"]["rule"], "no-delete-in-prod");
    assert!(
        denied["structured"]["error"]
            .as_str()
            .unwrap()
            .contains("no-delete-in-prod")
    );
    let lab = step(&steps, "lab_delete");
    assert_eq!(lab["is_error"], false);
    assert!(lab["text"].as_str().unwrap().contains("web-tier"));
    let waited = step(&steps, "cancelled_list")["waited_ms"]
        .as_u64()
        .unwrap();
    assert!(
        waited < 5_000,
        "the cancelled call held the client {waited} ms"
    );
    assert_eq!(step(&steps, "after_cancel")["is_error"], false);

    let all = wait_for_status(&home.db(), "interrupted", Duration::from_secs(10));
    let by = |tool: &str, status: &str| {
        all.iter()
            .find(|r| r.tool == tool && r.status == status)
            .unwrap_or_else(|| panic!("no {tool} {status} row in {all:#?}"))
    };
    let prod = by("delete_dfw_policy", "denied");
    assert!(prod.result.contains("no-delete-in-prod"));
    assert!(prod.params.contains(r#""target": "nsx-prod""#));
    let lab = by("delete_dfw_policy", "ok");
    assert!(
        lab.params.contains(r#""password": "***""#),
        "{}",
        lab.params
    );
    let create = by("create_dfw_rule", "ok");
    assert_eq!(create.risk_level, "medium");
    let cancelled = by("list_dfw_policies", "interrupted");
    assert!(cancelled.params.contains(r#""sleep_ms": 20000"#));
    assert!(
        (300..15_000).contains(&cancelled.duration_ms),
        "ran {} ms",
        cancelled.duration_ms
    );
    let traced = all
        .iter()
        .find(|r| r.correlation_id == "4bf92f3577b34da6a3ce929d0e0e4736")
        .expect("the traced call's row");
    assert_eq!(traced.tool, "list_dfw_policies");
    for r in &all {
        assert_eq!(r.skill, "nsx_security");
        assert_eq!(r.surface, "mcp-stdio");
        assert_eq!(r.agent, "pytest-mcp-host", "agent from clientInfo");
    }
    assert_eq!(all.len(), 6, "{all:#?}");
    // The passwords are nowhere in the file, the WAL included.
    for f in ["audit.db", "audit.db-wal"] {
        if let Ok(bytes) = std::fs::read(home.path().join(f)) {
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains("s3cret-lab") && !text.contains("s3cret-prod"));
        }
    }
}

#[test]
fn a_client_that_exits_mid_call_still_leaves_a_row() {
    let home = Home::new();
    home.write_rules("deny: []\n");
    let steps = python_host(&home, &["exit-mid-call"]);
    step(&steps, "exiting");
    // rmcp lets a handler run up to 5 s after stdin closes, then cancels it.
    let all = wait_for_status(&home.db(), "interrupted", Duration::from_secs(30));
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0].status, "interrupted");
    assert_eq!(all[0].tool, "list_dfw_policies");
    assert!(all[0].duration_ms >= 400, "{}", all[0].duration_ms);
}

#[test]
fn a_panicking_tool_answers_with_an_error_and_leaves_an_error_row() {
    let home = Home::new();
    home.write_rules("deny: []\n");
    // Asked for, the backtrace's own frames go into the row, as Python's traceback.
    let steps = python_host_with(&home, &["panic"], &[("RUST_BACKTRACE", "1")]);
    let panicked = step(&steps, "panic");
    assert_eq!(panicked["is_error"], true);
    let msg = panicked["structured"]["error"].as_str().unwrap();
    assert!(msg.contains("failed unexpectedly"), "{msg}");
    // The server lives on and serves the next call.
    assert_eq!(step(&steps, "after_panic")["is_error"], false);
    let all = rows(&home.db());
    assert_eq!(all[0].tool, "create_dfw_rule");
    assert_eq!(all[0].status, "error");
    let result: Value = serde_json::from_str(&all[0].result).unwrap();
    assert!(
        result["error"]
            .as_str()
            .unwrap()
            .starts_with("panic: create_dfw_rule"),
        "{result}"
    );
    // Where it panicked, and the skill's own frames, innermost first.
    let traceback = result["traceback"].as_str().unwrap();
    assert!(
        traceback.starts_with("panicked at crates/vmware-policy/examples/mcp_skill.rs:"),
        "{traceback}"
    );
    assert!(traceback.contains("mcp_skill::maybe_panic"), "{traceback}");
    assert_eq!(all[1].status, "ok");
}

mod rmcp_client {
    use super::*;
    use rmcp::ServiceExt;
    use rmcp::model::{CallToolRequestParams, MetaObject, RequestMetaObject};
    use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};

    fn args(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn server(home: &Home) -> TokioChildProcess {
        let cmd = tokio::process::Command::new(mcp_skill_bin()).configure(|c| {
            c.env("OPS_HOME", home.path());
            for k in AGENT_MARKERS {
                c.env_remove(k);
            }
        });
        TokioChildProcess::new(cmd).expect("spawn the example MCP skill")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rmcp_own_client_lists_calls_and_is_refused_in_production() {
        let home = Home::new();
        home.write_rules(PROD_DENY);
        let client = ().serve(server(&home)).await.expect("initialize");
        let mut names: Vec<String> = client
            .list_all_tools()
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.name.to_string())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["create_dfw_rule", "delete_dfw_policy", "list_dfw_policies"]
        );

        let denied = client
            .call_tool(
                CallToolRequestParams::new("delete_dfw_policy").with_arguments(args(
                    serde_json::json!({"target": "nsx-prod", "policy_id": "p", "password": "pw"}),
                )),
            )
            .await
            .unwrap();
        assert_eq!(denied.is_error, Some(true));
        assert_eq!(
            denied.structured_content.unwrap()["rule"],
            "no-delete-in-prod"
        );

        let mut meta = MetaObject::new();
        meta.set_traceparent("00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01");
        let mut traced = CallToolRequestParams::new("create_dfw_rule")
            .with_arguments(args(serde_json::json!({"target": "nsx-lab", "name": "r2"})));
        traced.meta = Some(RequestMetaObject(meta));
        let ok = client.call_tool(traced).await.unwrap();
        assert_ne!(ok.is_error, Some(true));
        client.cancel().await.unwrap();

        let all = rows(&home.db());
        assert_eq!(all.len(), 2, "{all:#?}");
        assert_eq!(all[0].status, "denied");
        assert_eq!(all[1].status, "ok");
        assert_eq!(all[1].correlation_id, "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(all[1].agent, "rmcp", "rmcp's default clientInfo name");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sigterm_ends_the_server_with_every_row_written() {
        let home = Home::new();
        home.write_rules("deny: []\n");
        let transport = server(&home);
        let pid = transport.id().expect("server pid") as i32;
        let client = ().serve(transport).await.expect("initialize");
        let fast = CallToolRequestParams::new("list_dfw_policies")
            .with_arguments(args(serde_json::json!({"target": "nsx-lab"})));
        client.call_tool(fast).await.unwrap();
        // A slow read in flight when SIGTERM arrives.
        let slow = CallToolRequestParams::new("list_dfw_policies").with_arguments(args(
            serde_json::json!({"target": "nsx-lab", "sleep_ms": 60000}),
        ));
        let peer = client.peer().clone();
        let in_flight = tokio::spawn(async move { peer.call_tool(slow).await });
        tokio::time::sleep(Duration::from_millis(500)).await;
        let started = Instant::now();
        // SAFETY: signalling a child we spawned.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let _ = in_flight.await;
        let all = wait_for_status(&home.db(), "interrupted", Duration::from_secs(20));
        let took = started.elapsed();
        assert_eq!(all.len(), 2, "{all:#?}");
        assert_eq!(all[0].status, "ok");
        assert_eq!(all[1].status, "interrupted");
        assert!(took < Duration::from_secs(15), "shutdown took {took:?}");
        // The process is gone: kill(pid, 0) fails once it has exited and been reaped.
        drop(client);
        let gone = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(100));
            let mut status = 0;
            // SAFETY: reaping our own child if it has exited.
            unsafe {
                libc::waitpid(pid, &mut status, libc::WNOHANG) == pid || libc::kill(pid, 0) != 0
            }
        });
        assert!(gone, "the server did not exit on SIGTERM");
    }
}
