//! The guard around every tool of an MCP server built on `rmcp` (the Rust MCP
//! SDK). rmcp has no middleware API, so [`GuardedServer`] wraps the skill's
//! server as a whole: `tools/call` goes through the guard, every other request
//! and notification goes to the skill's server untouched.
//!
//! Declarations are made once, at start-up: each routed tool's [`Tool`]
//! (skill, risk, sensitive parameters) and what a cancelled call does. A
//! routed tool with no declaration stops the server from starting; a call
//! naming an undeclared tool is refused. What the guard records of a call:
//! the raw arguments as the client sent them (redacted), surface `mcp-stdio`
//! (or as set), the trace-id of `_meta.traceparent` as correlation id, the
//! client's `clientInfo.name` as agent when no environment marker names one,
//! and the environment from the guard's resolver. A tool whose elicitation
//! the operator declined calls [`crate::report_rejected`] and its row is
//! `rejected`.

mod context;
mod in_flight;

use std::collections::HashMap;
use std::sync::Arc;

use rmcp::model::{CallToolRequest, CallToolResult, ClientRequest, ServerResult};
use rmcp::service::{NotificationContext, RequestContext};
use rmcp::{ErrorData as McpError, RoleServer, Service};
use serde_json::{Value, json};

pub use context::{completion_of, trace_id};
pub use in_flight::InFlight;

use crate::guard::run_async::{Ran, drive};
use crate::guard::{Call, Completion, Failure, Guard, OnCancel, Tool};
use crate::policy::Decision;

/// One tool as the guard knows it.
#[derive(Debug, Clone)]
pub struct Declare {
    tool: Tool,
    on_cancel: OnCancel,
}

impl Declare {
    /// A tool that stops when its client cancels ([`OnCancel::Interrupt`]): a read.
    pub fn new(tool: Tool) -> Declare {
        Declare {
            tool,
            on_cancel: OnCancel::Interrupt,
        }
    }
    /// What a client's `notifications/cancelled` does to this tool. A write
    /// that must not stop half done: [`OnCancel::Finish`].
    pub fn on_cancel(mut self, choice: OnCancel) -> Declare {
        self.on_cancel = choice;
        self
    }
}

/// Tools the server routes that no declaration covers: the server must not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undeclared(pub Vec<String>);

impl std::fmt::Display for Undeclared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "refusing to start: tools routed with no guard declaration (risk, sensitive parameters): {}. \
             Declare each with mcp::Declare::new(Tool::new(skill, name)...)",
            self.0.join(", ")
        )
    }
}

impl std::error::Error for Undeclared {}

/// A skill's MCP server with every tool call guarded. Serve it as the server
/// itself: `GuardedServer::new(...)?.serve(stdio()).await`.
pub struct GuardedServer<S> {
    inner: S,
    guard: Guard,
    tools: Arc<HashMap<String, Declare>>,
    surface: String,
    /// The skill an undeclared call is recorded under.
    skill: String,
    in_flight: InFlight,
}

impl<S: Service<RoleServer>> GuardedServer<S> {
    /// Wrap `inner`, whose router lists `routed` (for the macros:
    /// `Server::tool_router().list_all()`). Fails if a routed tool is not declared.
    pub fn new(
        guard: Guard,
        inner: S,
        routed: impl IntoIterator<Item = rmcp::model::Tool>,
        declared: impl IntoIterator<Item = Declare>,
    ) -> Result<GuardedServer<S>, Undeclared> {
        let tools: HashMap<String, Declare> = declared
            .into_iter()
            .map(|d| (d.tool.name.clone(), d))
            .collect();
        let mut missing: Vec<String> = routed
            .into_iter()
            .map(|t| t.name.to_string())
            .filter(|name| !tools.contains_key(name))
            .collect();
        if !missing.is_empty() {
            missing.sort();
            return Err(Undeclared(missing));
        }
        let skill = tools
            .values()
            .next()
            .map_or_else(|| "unknown".to_string(), |d| d.tool.skill.clone());
        Ok(GuardedServer {
            inner,
            guard,
            tools: Arc::new(tools),
            surface: "mcp-stdio".into(),
            skill,
            in_flight: InFlight::default(),
        })
    }

    /// The surface recorded: `mcp-stdio` (the default) or `mcp-https`,
    /// `mcp-http-loopback` for a network transport.
    pub fn surface(mut self, surface: &str) -> GuardedServer<S> {
        self.surface = surface.into();
        self
    }

    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// The calls in flight: take it before serving, and on SIGTERM wait for
    /// them ([`InFlight::wait_idle`]) before flushing the guard and exiting.
    pub fn in_flight(&self) -> InFlight {
        self.in_flight.clone()
    }

    async fn call_tool(
        &self,
        request: CallToolRequest,
        context: RequestContext<RoleServer>,
    ) -> Result<ServerResult, McpError> {
        let _counted = self.in_flight.enter();
        let params = &request.params;
        let name = params.name.to_string();
        let arguments = Value::Object(params.arguments.clone().unwrap_or_default());
        let mut call = Call::new(arguments)
            .surface(&self.surface)
            .correlation_id(&trace_id(&context.meta));
        if let Some(info) = context.client_info() {
            call = call.agent(&info.name);
        }
        let Some(declared) = self.tools.get(&name) else {
            let decision = Decision {
                allowed: false,
                rule: "undeclared_tool".into(),
                reason: format!("tool '{name}' is not declared to the guard; refused"),
            };
            let tool = Tool::new(&self.skill, &name).risk("critical");
            if let Some(r) = self.guard.refuse(&tool, &call, &decision) {
                r.await;
            }
            return Ok(denial(&decision));
        };
        let pending = match self
            .guard
            .start(&declared.tool, call, crate::guard::RowWriter::Helper)
        {
            Ok(p) => p,
            Err(refused) => {
                let answer = if refused.invalid_argument {
                    // A tool error the agent can fix, as Python's ToolArgumentError.
                    ServerResult::CallToolResult(CallToolResult::structured_error(
                        json!({"error": refused.decision.reason}),
                    ))
                } else {
                    denial(&refused.decision)
                };
                if let Some(r) = refused.receipt {
                    r.await;
                }
                return Ok(answer);
            }
        };
        let cancelled = context.ct.clone().cancelled_owned();
        let run = self
            .inner
            .handle_request(ClientRequest::CallToolRequest(request), context);
        let slot = pending.slot().clone();
        let (completion, answer) = match drive(run, cancelled, declared.on_cancel, &slot).await {
            Ran::Done(Ok(ServerResult::CallToolResult(r))) => {
                (completion_of(&r), Ok(ServerResult::CallToolResult(r)))
            }
            Ran::Done(Ok(other)) => (
                Completion::Returned(serde_json::to_value(&other).unwrap_or(Value::Null)),
                Ok(other),
            ),
            Ran::Done(Err(e)) => {
                let failure = Failure {
                    message: e.message.to_string(),
                    ..Failure::of(&e)
                };
                (Completion::Failed(failure), Err(e))
            }
            // rmcp sends nothing for a cancelled request; this answer is dropped.
            // The token fires for the client's notifications/cancelled and for
            // the server stopping (stdin closed, SIGTERM) alike.
            Ran::Cancelled => (
                Completion::Interrupted(
                    "cancelled: the client gave up or the server is stopping".into(),
                ),
                Err(McpError::internal_error(
                    "call cancelled by the client",
                    None,
                )),
            ),
            Ran::Panicked(panic) => {
                let failure = Failure::of_panic(&*panic);
                let shown = crate::sanitize(&crate::redact::redact_text(&failure.message), 500);
                let answer = CallToolResult::structured_error(
                    json!({"error": format!("the tool failed unexpectedly: {shown}")}),
                );
                (
                    Completion::Panicked(failure),
                    Ok(ServerResult::CallToolResult(answer)),
                )
            }
        };
        let done = pending.complete(completion);
        if let Some(r) = done.receipt {
            r.await;
        }
        answer
    }
}

/// A refusal as the agent sees it: a tool error it can read, naming the rule.
fn denial(decision: &Decision) -> ServerResult {
    ServerResult::CallToolResult(CallToolResult::structured_error(
        json!({"error": decision.reason, "rule": decision.rule}),
    ))
}

impl<S: Service<RoleServer>> Service<RoleServer> for GuardedServer<S> {
    async fn handle_request(
        &self,
        request: ClientRequest,
        context: RequestContext<RoleServer>,
    ) -> Result<ServerResult, McpError> {
        match request {
            ClientRequest::CallToolRequest(call) => self.call_tool(call, context).await,
            other => self.inner.handle_request(other, context).await,
        }
    }

    async fn handle_notification(
        &self,
        notification: rmcp::model::ClientNotification,
        context: NotificationContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.inner.handle_notification(notification, context).await
    }

    fn get_info(&self) -> <RoleServer as rmcp::service::ServiceRole>::Info {
        self.inner.get_info()
    }

    fn supported_protocol_versions(
        &self,
    ) -> std::borrow::Cow<'static, [rmcp::model::ProtocolVersion]> {
        self.inner.supported_protocol_versions()
    }
}
