//! What the row says when a call fails, panics, or is declined by the
//! operator, on a real audit file: Python's `{"error", "traceback"}` for a
//! failure, `rejected` with `{}` for a declined call (its CLI guard's row),
//! and a tool's own report of a failure it returned from
//! (`report_tool_failure`), for sync and async tools and for MCP tools.

mod common;

use std::fmt;

use common::Home;
use serde_json::{Value, json};
use vmware_policy::audit::AuditRow;
use vmware_policy::{
    Call, GuardError, OnPanic, RunOptions, Tool, report_rejected, report_tool_failure,
};

fn result(row: &AuditRow) -> Value {
    serde_json::from_str(&row.result).unwrap()
}

/// `panicked at <this file>:<line>:` for the `panic!` with this message.
fn panic_site(message: &str) -> String {
    let needle = format!("panic!(\"{message}");
    let line = include_str!("failures_and_signals.rs")
        .lines()
        .position(|l| l.contains(&needle))
        .expect("the panic is in this file")
        + 1;
    format!("panicked at crates/vmware-policy/tests/failures_and_signals.rs:{line}:")
}

fn tool() -> Tool {
    Tool::new("nsx_security", "create_dfw_rule").risk("medium")
}

/// An error with a cause chain printed by `{:#}`, as anyhow's is.
#[derive(Debug)]
struct ApplyFailed;
impl fmt::Display for ApplyFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("applying the rule failed")?;
        if f.alternate() {
            f.write_str(
                ": POST /policy/api/v1 (Authorization: Bearer eyJhbGciOi.x.y): 409 conflict",
            )?;
        }
        Ok(())
    }
}

#[test]
fn a_failed_call_records_its_message_and_a_redacted_traceback_summary() {
    let home = Home::new("deny: []\n");
    let out = home
        .guard()
        .run(&tool(), Call::new(json!({"rule": "r1"})), || {
            Err::<Value, _>(ApplyFailed)
        });
    assert!(matches!(out, Err(GuardError::Failed(ApplyFailed))));
    let row = &home.rows()[0];
    assert_eq!(row.status, "error");
    let r = result(row);
    assert_eq!(r["error"], "applying the rule failed");
    let tb = r["traceback"].as_str().unwrap();
    assert!(
        tb.ends_with("ApplyFailed: applying the rule failed: POST /policy/api/v1 (Authorization: Bearer *** 409 conflict"),
        "{tb}"
    );
    assert!(
        !tb.contains("eyJhbGciOi"),
        "the credential is redacted: {tb}"
    );
}

#[test]
fn a_panic_records_where_it_panicked() {
    let home = Home::new("deny: []\n");
    let guard = home.guard();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        guard.run(
            &tool(),
            Call::new(json!({})),
            || -> Result<Value, String> { panic!("unexpected NSX reply, password=hunter2") },
        )
    }));
    assert!(panicked.is_err(), "the panic resumes");
    let r = result(&home.rows()[0]);
    assert_eq!(r["error"], "panic: unexpected NSX reply, password=***");
    let tb = r["traceback"].as_str().unwrap();
    assert!(tb.starts_with(&panic_site("unexpected NSX reply")), "{tb}");
}

#[test]
fn a_declined_call_is_rejected_with_an_empty_result_as_python_records_it() {
    let home = Home::new("deny: []\n");
    let guard = home.guard();
    let out = guard.run_detailed(&tool(), Call::new(json!({"rule": "r1"})), || {
        // The operator answered no at the confirmation prompt.
        assert!(report_rejected());
        Ok::<_, String>(json!({"applied": false, "reason": "declined by the operator"}))
    });
    assert_eq!(out.status, "rejected");
    // The tool's answer still reaches the caller.
    assert_eq!(out.result.unwrap()["applied"], false);
    // The next call starts clean: the report belonged to that call only.
    let next = guard.run_detailed(&tool(), Call::new(json!({"rule": "r2"})), || {
        Ok::<_, String>(json!({"applied": true}))
    });
    assert_eq!(next.status, "ok");
    let rows = home.rows();
    assert_eq!(
        (rows[0].status.as_str(), rows[0].result.as_str()),
        ("rejected", "{}")
    );
    assert_eq!(rows[1].status, "ok");
}

#[test]
fn a_failure_the_tool_reports_makes_the_row_error_and_keeps_what_it_returned() {
    let home = Home::new("deny: []\n");
    let out = home
        .guard()
        .run_detailed(&tool(), Call::new(json!({})), || {
            report_tool_failure("printed: NSX manager unreachable");
            Ok::<_, String>(json!({"applied": 0}))
        });
    assert_eq!(out.status, "error");
    assert_eq!(result(&home.rows()[0]), json!({"applied": 0}));
    assert!(!report_tool_failure("no call running"), "outside a call");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_tool_reports_across_awaits_and_its_panic_is_located() {
    let home = Home::new("deny: []\n");
    let guard = home.guard();
    let out = guard
        .run_async_with(&tool(), Call::new(json!({})), RunOptions::new(), async {
            // Elicitation round trip: the task may resume on another worker.
            for _ in 0..20 {
                tokio::task::yield_now().await;
            }
            report_rejected();
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            Ok::<_, String>(json!({"applied": false}))
        })
        .await;
    assert_eq!(out.status, "rejected");

    let out = guard
        .run_async_with(
            &tool(),
            Call::new(json!({})),
            RunOptions::new().on_panic(OnPanic::Fail),
            async {
                tokio::task::yield_now().await;
                panic!("state machine out of sync")
            },
        )
        .await;
    let out: vmware_policy::Outcome<Value, String> = out;
    assert!(matches!(out.result, Err(GuardError::Panicked(_))));
    let rows = home.rows();
    assert_eq!(rows[0].result, "{}");
    let r = result(&rows[1]);
    assert_eq!(r["error"], "panic: state machine out of sync");
    let site = panic_site("state machine out of sync");
    assert!(r["traceback"].as_str().unwrap().starts_with(&site), "{r}");
}

#[cfg(feature = "rmcp")]
mod mcp {
    use super::*;
    use rmcp::handler::server::router::tool::ToolRouter;
    use rmcp::model::{CallToolRequestParams, ServerCapabilities, ServerConfig};
    use rmcp::{ServerHandler, ServiceExt, tool, tool_handler, tool_router};
    use vmware_policy::mcp::{Declare, GuardedServer};

    #[derive(Clone)]
    struct Confirming {
        tool_router: ToolRouter<Self>,
    }

    #[tool_router]
    impl Confirming {
        #[tool(description = "a write that asks the operator first")]
        async fn delete_segment(&self) -> String {
            // As if an elicitation came back declined.
            tokio::task::yield_now().await;
            report_rejected();
            "not deleted: the operator declined".into()
        }
        #[tool(description = "a write whose backend fails")]
        async fn create_segment(&self) -> Result<String, rmcp::ErrorData> {
            Err(rmcp::ErrorData::internal_error("NSX answered 503", None))
        }
    }

    #[tool_handler(router = self.tool_router)]
    impl ServerHandler for Confirming {
        fn get_info(&self) -> ServerConfig {
            ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_mcp_tool_declined_by_the_operator_is_rejected() {
        let home = Home::new("deny: []\n");
        let inner = Confirming {
            tool_router: Confirming::tool_router(),
        };
        let declared = [
            Declare::new(Tool::new("nsx", "delete_segment").risk("critical")),
            Declare::new(Tool::new("nsx", "create_segment").risk("medium")),
        ];
        let routes = Confirming::tool_router().list_all();
        let server = GuardedServer::new(home.guard(), inner, routes, declared).unwrap();
        let (server_end, client_end) = tokio::io::duplex(64 * 1024);
        tokio::spawn(async move {
            let running = server.serve(server_end).await.unwrap();
            let _ = running.waiting().await;
        });
        let client = ().serve(client_end).await.unwrap();
        let answer = client
            .call_tool(CallToolRequestParams::new("delete_segment"))
            .await
            .unwrap();
        assert_ne!(answer.is_error, Some(true));
        let _ = client
            .call_tool(CallToolRequestParams::new("create_segment"))
            .await;
        client.cancel().await.unwrap();
        let rows = home.rows();
        assert_eq!(
            (rows[0].status.as_str(), rows[0].result.as_str()),
            ("rejected", "{}")
        );
        let failed = result(&rows[1]);
        assert_eq!(rows[1].status, "error");
        assert_eq!(failed["error"], "NSX answered 503");
        assert!(
            failed["traceback"]
                .as_str()
                .unwrap()
                .contains("ErrorData: -32603: NSX answered 503"),
            "{failed}"
        );
    }
}
