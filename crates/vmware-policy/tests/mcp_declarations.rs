//! The rmcp wrapper's fail-closed rules, in process over an in-memory pipe:
//! a routed tool nobody declared stops the start; a call naming a tool the
//! guard does not know is refused and recorded, the server's own code never run.
#![cfg(feature = "rmcp")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ContentBlock, ServerCapabilities, ServerConfig,
};
use rmcp::{ServerHandler, ServiceExt, tool, tool_handler, tool_router};
use vmware_policy::audit::Reader;
use vmware_policy::mcp::{Declare, GuardedServer, Undeclared};
use vmware_policy::{AuditEngine, Guard, PolicyEngine, Tool};

#[derive(Clone)]
struct Two {
    tool_router: ToolRouter<Self>,
    ran: Arc<AtomicUsize>,
}

#[tool_router]
impl Two {
    #[tool(description = "a read")]
    async fn list_segments(&self) -> String {
        self.ran.fetch_add(1, Ordering::SeqCst);
        "[]".into()
    }
    #[tool(description = "a write")]
    async fn delete_segment(&self) -> String {
        self.ran.fetch_add(1, Ordering::SeqCst);
        "deleted".into()
    }
    #[tool(description = "a read whose backend fails")]
    async fn get_segment(&self) -> Result<CallToolResult, rmcp::ErrorData> {
        self.ran.fetch_add(1, Ordering::SeqCst);
        Ok(CallToolResult::error(vec![ContentBlock::text(
            "NSX answered 503 for segment web (token=abc123secret)",
        )]))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Two {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

fn two() -> Two {
    Two {
        tool_router: Two::tool_router(),
        ran: Arc::new(AtomicUsize::new(0)),
    }
}

fn guard(dir: &std::path::Path) -> Guard {
    std::fs::write(dir.join("rules.yaml"), "deny: []\n").unwrap();
    Guard::new(
        PolicyEngine::new(dir.join("rules.yaml")),
        AuditEngine::new(dir.join("audit.db")),
    )
}

#[test]
fn a_routed_tool_with_no_declaration_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let declared = [
        Declare::new(Tool::new("nsx", "list_segments")),
        Declare::new(Tool::new("nsx", "get_segment")),
    ];
    let err = match GuardedServer::new(
        guard(dir.path()),
        two(),
        Two::tool_router().list_all(),
        declared,
    ) {
        Err(e) => e,
        Ok(_) => panic!("an undeclared routed tool must stop the start"),
    };
    assert_eq!(err, Undeclared(vec!["delete_segment".into()]));
    assert!(err.to_string().contains("refusing to start"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_to_an_undeclared_tool_is_refused_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let inner = two();
    let ran = inner.ran.clone();
    // The router below is given no tools to check, as a server whose routes
    // are built at run time might be: the call itself must still fail closed.
    let declared = [
        Declare::new(Tool::new("nsx", "list_segments")),
        Declare::new(Tool::new("nsx", "get_segment")),
    ];
    let server = GuardedServer::new(guard(dir.path()), inner, Vec::new(), declared).unwrap();
    let (server_end, client_end) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        let running = server.serve(server_end).await.unwrap();
        let _ = running.waiting().await;
    });
    let client = ().serve(client_end).await.unwrap();
    let refused = client
        .call_tool(CallToolRequestParams::new("delete_segment"))
        .await
        .unwrap();
    assert_eq!(refused.is_error, Some(true));
    assert_eq!(
        refused.structured_content.unwrap()["rule"],
        "undeclared_tool"
    );
    let allowed = client
        .call_tool(CallToolRequestParams::new("list_segments"))
        .await
        .unwrap();
    assert_ne!(allowed.is_error, Some(true));
    let failed = client
        .call_tool(CallToolRequestParams::new("get_segment"))
        .await
        .unwrap();
    assert_eq!(
        failed.is_error,
        Some(true),
        "the tool's own error reaches the client"
    );
    assert_eq!(ran.load(Ordering::SeqCst), 2, "only the declared tools ran");
    client.cancel().await.unwrap();

    let mut rows = Reader::open(&dir.path().join("audit.db"))
        .unwrap()
        .latest(10)
        .unwrap();
    rows.reverse();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        (rows[0].tool.as_str(), rows[0].status.as_str()),
        ("delete_segment", "denied")
    );
    assert!(rows[0].result.contains("undeclared_tool"));
    assert_eq!(rows[0].risk_level, "critical");
    assert_eq!(
        (rows[1].tool.as_str(), rows[1].status.as_str()),
        ("list_segments", "ok")
    );
}
