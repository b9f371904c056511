//! A Rust skill as a stdio MCP server, every tool guarded: the template to copy.
//!
//! ```text
//! cargo run -p vmware-policy --example mcp_skill --features rmcp
//! ```
//!
//! Skill `nsx_security`, three tools, each taking `target`: `list_dfw_policies`
//! (low; `sleep_ms` simulates a slow call), `create_dfw_rule` (medium) and
//! `delete_dfw_policy` (critical; `password` is never recorded). Target
//! `nsx-prod` is environment `production`, `nsx-lab` is `lab`, so a rule like
//! `environments: [production]` in `$OPS_HOME/rules.yaml` refuses prod calls.
//!
//! Flags: `--no-guard` serves the same tools unguarded (to measure what the
//! guard costs). Test hook: `MCP_SKILL_PANIC_TOOL=<tool>` makes that tool
//! panic, to show a panicking tool still answers and leaves a row.

use std::time::Duration;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::{ServerHandler, ServiceExt, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use vmware_policy::mcp::{Declare, GuardedServer};
use vmware_policy::{Guard, OnCancel, Tool};

const SKILL: &str = "nsx_security";

#[derive(Deserialize, JsonSchema)]
struct ListArgs {
    /// The NSX manager: `nsx-prod` or `nsx-lab`.
    target: Option<String>,
    /// Simulate a slow NSX API: wait this many milliseconds first.
    sleep_ms: Option<u64>,
}

#[derive(Deserialize, JsonSchema)]
struct CreateArgs {
    target: Option<String>,
    /// The new rule's name.
    name: String,
    /// `ALLOW`, `DROP` or `REJECT`.
    action: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
struct DeleteArgs {
    target: Option<String>,
    policy_id: String,
    /// The NSX admin password (never recorded).
    password: String,
}

#[derive(Clone)]
struct NsxSecurity {
    tool_router: ToolRouter<Self>,
}

fn maybe_panic(tool: &str) {
    if std::env::var("MCP_SKILL_PANIC_TOOL").as_deref() == Ok(tool) {
        panic!("{tool}: unexpected NSX reply (simulated)");
    }
}

#[tool_router]
impl NsxSecurity {
    fn new() -> NsxSecurity {
        NsxSecurity {
            tool_router: Self::tool_router(),
        }
    }

    #[tool(description = "List the distributed firewall policies of an NSX manager.")]
    async fn list_dfw_policies(&self, Parameters(args): Parameters<ListArgs>) -> String {
        maybe_panic("list_dfw_policies");
        if let Some(ms) = args.sleep_ms {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        let target = args.target.unwrap_or_else(|| "nsx-lab".into());
        json!({"target": target, "policies": ["web-tier", "db-tier"]}).to_string()
    }

    #[tool(description = "Create a distributed firewall rule.")]
    async fn create_dfw_rule(&self, Parameters(args): Parameters<CreateArgs>) -> String {
        maybe_panic("create_dfw_rule");
        let action = args.action.unwrap_or_else(|| "DROP".into());
        json!({"created": args.name, "action": action, "target": args.target}).to_string()
    }

    #[tool(description = "Delete a distributed firewall policy.")]
    async fn delete_dfw_policy(&self, Parameters(args): Parameters<DeleteArgs>) -> String {
        maybe_panic("delete_dfw_policy");
        let _ = args.password; // would authenticate to NSX
        json!({"deleted": args.policy_id, "target": args.target}).to_string()
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for NsxSecurity {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

/// Which environment a target is in: a real skill reads its config file.
fn environment_of(target: &str) -> Option<String> {
    match target {
        "nsx-prod" => Some("production".into()),
        "nsx-lab" => Some("lab".into()),
        _ => None,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = NsxSecurity::new();
    let transport = rmcp::transport::io::stdio_pipes();
    if std::env::args().any(|a| a == "--no-guard") {
        server.serve(transport).await?.waiting().await?;
        return Ok(());
    }

    // Rules and audit log from $OPS_HOME (default ~/.vmware); set once.
    let guard = Guard::from_home().environment_resolver(environment_of);
    // Declare every routed tool once; an undeclared one stops the start.
    let declared = [
        Declare::new(Tool::new(SKILL, "list_dfw_policies").risk("low")),
        Declare::new(Tool::new(SKILL, "create_dfw_rule").risk("medium"))
            .on_cancel(OnCancel::Finish),
        Declare::new(
            Tool::new(SKILL, "delete_dfw_policy")
                .risk("critical")
                .sensitive_params(&["password"]),
        )
        .on_cancel(OnCancel::Finish),
    ];
    let guarded = GuardedServer::new(
        guard.clone(),
        server,
        NsxSecurity::tool_router().list_all(),
        declared,
    )?;
    let in_flight = guarded.in_flight();
    let running = guarded.serve(transport).await?;
    let stop = running.cancellation_token();

    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = running.waiting() => {}          // the client closed stdin
        _ = sigterm.recv() => stop.cancel(), // reads stop; writes finish
    }
    // Graceful shutdown: let calls in flight end, then make every row durable.
    let still = in_flight.wait_idle(Duration::from_secs(10)).await;
    if still > 0 {
        eprintln!("nsx_security: {still} call(s) still running at exit");
    }
    guard.flush().await;
    // Stdin may sit in a blocking read no cancellation reaches: exit now.
    std::process::exit(0);
}
