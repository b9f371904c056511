//! The guard around every tool call, the Rust face of the Python `@vmware_tool`:
//! policy pre-check, run (or refuse), time, redact, audit.
//!
//! Auditing never changes what the tool returns: the row gets a redacted copy,
//! the caller the real value. A row that cannot be written never fails the call.

use std::fmt::Display;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::audit::{Appended, AuditEngine, Record, python_json};
use crate::identity;
use crate::policy::{CallContext, Decision, PolicyEngine};
use crate::redact;
use crate::sanitize::sanitize;

/// A tool as a skill declares it, once.
#[derive(Debug, Clone)]
pub struct Tool {
    pub skill: String,
    pub name: String,
    /// `low`, `medium`, `high` or `critical`; an unknown level is treated as `critical`.
    pub risk_level: String,
    /// Parameter names stored as `***`, at any depth.
    pub sensitive_params: Vec<String>,
    /// The return value is itself a credential: the row records a marker instead.
    pub sensitive_result: bool,
    /// Other names of this tool (a rename): a deny rule naming any of them matches.
    pub aliases: Vec<String>,
}

impl Tool {
    /// A `low`-risk tool of `skill` named `name`.
    pub fn new(skill: &str, name: &str) -> Tool {
        Tool {
            skill: skill.into(),
            name: name.into(),
            risk_level: "low".into(),
            sensitive_params: Vec::new(),
            sensitive_result: false,
            aliases: Vec::new(),
        }
    }
    /// A tool whose skill is named from a module path, as the Python family names
    /// it: `Tool::in_module(module_path!(), "list_segments")` in crate
    /// `vmware_nsx_security` belongs to skill `nsx_security`.
    pub fn in_module(module: &str, name: &str) -> Tool {
        Tool::new(&identity::skill_name(module), name)
    }

    pub fn risk(mut self, level: &str) -> Tool {
        self.risk_level = level.into();
        self
    }
    pub fn sensitive_params(mut self, names: &[&str]) -> Tool {
        self.sensitive_params = names.iter().map(|s| s.to_string()).collect();
        self
    }
    pub fn sensitive_result(mut self) -> Tool {
        self.sensitive_result = true;
        self
    }
    pub fn aliases(mut self, names: &[&str]) -> Tool {
        self.aliases = names.iter().map(|s| s.to_string()).collect();
        self
    }
}

/// One call: its parameters, its target's environment, and what the caller
/// knows of the context (all optional).
#[derive(Debug, Clone, Default)]
pub struct Call {
    pub params: Value,
    /// The target's `environment:` label, as the skill resolved it; `""` if none.
    pub env: String,
    pub workflow_id: String,
    /// `mcp-stdio`, `mcp-https`, `mcp-http-loopback`, `cli`, `daemon`, or `""`.
    pub surface: String,
    pub correlation_id: String,
    pub rationale: String,
    pub approved_by: String,
    /// The authenticated network caller's name; `None` for local calls.
    pub client: Option<String>,
    pub role: Option<String>,
}

impl Call {
    /// A call with these parameters (a JSON object, or anything that serialises to one).
    pub fn new(params: impl Serialize) -> Call {
        let params =
            serde_json::to_value(params).unwrap_or_else(|e| json!({ "_raw": e.to_string() }));
        Call {
            params,
            ..Call::default()
        }
    }
    pub fn env(mut self, env: &str) -> Call {
        self.env = env.into();
        self
    }
    pub fn workflow_id(mut self, id: &str) -> Call {
        self.workflow_id = id.into();
        self
    }
    pub fn surface(mut self, surface: &str) -> Call {
        self.surface = surface.into();
        self
    }
    pub fn correlation_id(mut self, id: &str) -> Call {
        self.correlation_id = id.into();
        self
    }
    pub fn rationale(mut self, why: &str) -> Call {
        self.rationale = why.into();
        self
    }
    pub fn approved_by(mut self, who: &str) -> Call {
        self.approved_by = who.into();
        self
    }
    pub fn client(mut self, name: &str) -> Call {
        self.client = Some(name.into());
        self
    }
    pub fn role(mut self, role: &str) -> Call {
        self.role = Some(role.into());
        self
    }
}

/// Why a guarded call did not return the tool's value.
#[derive(Debug)]
pub enum GuardError<E> {
    /// Policy refused the call; the tool did not run.
    Denied(Decision),
    /// The tool ran and failed.
    Failed(E),
}

impl<E: Display> Display for GuardError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GuardError::Denied(d) => write!(f, "denied by policy rule '{}': {}", d.rule, d.reason),
            GuardError::Failed(e) => write!(f, "{e}"),
        }
    }
}

impl<E: std::fmt::Debug + Display> std::error::Error for GuardError<E> {}

/// A call's full outcome: the decision, what the caller gets, and the row.
#[derive(Debug)]
pub struct Outcome<T, E> {
    pub decision: Decision,
    pub result: Result<T, GuardError<E>>,
    /// The audit row, when auditing is on.
    pub audit: Option<Appended>,
    /// The status recorded (`ok`, `denied`, `error`, `dry_run`, `*_bypassed`).
    pub status: String,
}

/// Policy plus audit, shared by every tool of a skill.
#[derive(Clone)]
pub struct Guard {
    policy: Arc<PolicyEngine>,
    audit: Option<AuditEngine>,
    user: Arc<str>,
}

impl Guard {
    pub fn new(policy: PolicyEngine, audit: AuditEngine) -> Guard {
        redact::install_panic_hook();
        Guard {
            policy: Arc::new(policy),
            audit: Some(audit),
            user: identity::os_user().into(),
        }
    }

    /// Rules and audit log from the home of compat.md (`$OPS_HOME` or `~/.vmware`).
    pub fn from_home() -> Guard {
        Guard::new(PolicyEngine::from_home(), AuditEngine::from_home())
    }

    /// Policy only, no audit rows (for measuring, or a dry harness).
    pub fn without_audit(policy: PolicyEngine) -> Guard {
        Guard {
            policy: Arc::new(policy),
            audit: None,
            user: identity::os_user().into(),
        }
    }

    pub fn policy(&self) -> &PolicyEngine {
        &self.policy
    }

    pub fn audit(&self) -> Option<&AuditEngine> {
        self.audit.as_ref()
    }

    /// Run `tool` through the guard: refused with [`GuardError::Denied`] if policy
    /// denies it, else run, with one audit row either way.
    pub fn run<T: Serialize, E: Display>(
        &self,
        tool: &Tool,
        call: Call,
        f: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, GuardError<E>> {
        self.run_detailed(tool, call, f).result
    }

    /// [`Guard::run`], returning the decision, the status and the audit outcome too.
    /// A panicking tool is recorded as `error` and the panic resumes.
    pub fn run_detailed<T: Serialize, E: Display>(
        &self,
        tool: &Tool,
        call: Call,
        f: impl FnOnce() -> Result<T, E>,
    ) -> Outcome<T, E> {
        let start = Instant::now();
        let aliases: Vec<&str> = tool.aliases.iter().map(String::as_str).collect();
        let ctx = CallContext {
            env: &call.env,
            risk_level: &tool.risk_level,
            aliases: &aliases,
            client: call.client.as_deref(),
            role: call.role.as_deref(),
            at: None,
        };
        let decision = self.policy.check(&tool.name, &ctx);
        if !decision.allowed {
            let result = json!({"error": decision.reason, "rule": decision.rule});
            let audit = self.record(tool, &call, "denied", &result, start);
            return Outcome {
                result: Err(GuardError::Denied(decision.clone())),
                decision,
                audit,
                status: "denied".into(),
            };
        }
        let bypassed = decision.rule == "policy_disabled";
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let (status, row_result, result, previewed) = match ran {
            Err(panic) => {
                let msg = panic_message(&*panic);
                let row =
                    json!({"error": sanitize(&redact::redact_text(&format!("panic: {msg}")), 500)});
                self.record(
                    tool,
                    &call,
                    &final_status("error", bypassed, false, &call.params),
                    &row,
                    start,
                );
                std::panic::resume_unwind(panic);
            }
            Ok(Err(e)) => {
                let row = json!({"error": sanitize(&redact::redact_text(&e.to_string()), 500)});
                ("error", row, Err(GuardError::Failed(e)), false)
            }
            Ok(Ok(value)) => {
                let real = serde_json::to_value(&value)
                    .unwrap_or_else(|e| json!({ "_raw": e.to_string() }));
                let previewed = real.get("action").and_then(Value::as_str) == Some("preview");
                let status = if returned_failure(&real) {
                    "error"
                } else {
                    "ok"
                };
                let row = if tool.sensitive_result {
                    Value::String(redact::REDACTED_DECLARED.into())
                } else {
                    real
                };
                (status, row, Ok(value), previewed)
            }
        };
        let status = final_status(status, bypassed, previewed, &call.params);
        let audit = self.record(tool, &call, &status, &row_result, start);
        Outcome {
            decision,
            result,
            audit,
            status,
        }
    }

    fn record(
        &self,
        tool: &Tool,
        call: &Call,
        status: &str,
        result: &Value,
        start: Instant,
    ) -> Option<Appended> {
        let audit = self.audit.as_ref()?;
        let mut params = match &call.params {
            Value::Null => Value::Object(Map::new()),
            p => p.clone(),
        };
        redact::redact_declared(&mut params, &tool.sensitive_params);
        redact::redact_for_audit(&mut params);
        let mut result = result.clone();
        redact::redact_for_audit(&mut result);
        let local = call.client.is_none();
        let from_env = |given: &str, key: &str| {
            if !given.is_empty() || !local {
                given.to_string()
            } else {
                std::env::var(key).unwrap_or_default()
            }
        };
        let record = Record {
            ts: None,
            skill: tool.skill.clone(),
            tool: tool.name.clone(),
            params: python_json(&params),
            result: python_json(&result),
            status: status.into(),
            duration_ms: start.elapsed().as_millis().min(i64::MAX as u128) as i64,
            agent: identity::detect_agent().into(),
            workflow_id: call.workflow_id.clone(),
            user: call
                .client
                .as_ref()
                .map_or_else(|| self.user.to_string(), |c| format!("token:{c}")),
            risk_level: tool.risk_level.clone(),
            rationale: from_env(&call.rationale, "VMWARE_AUDIT_RATIONALE"),
            approved_by: from_env(&call.approved_by, "VMWARE_AUDIT_APPROVED_BY"),
            risk_tier: String::new(),
            surface: surface_for_row(&call.surface),
            correlation_id: call
                .correlation_id
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
                .take(128)
                .collect(),
            role: call.role.clone().unwrap_or_default(),
        };
        Some(audit.append(record))
    }
}

/// The status a row records: a completed dry run is `dry_run`, a bypass appends `_bypassed`.
fn final_status(status: &str, bypassed: bool, previewed: bool, params: &Value) -> String {
    let dry = previewed || params.get("dry_run") == Some(&Value::Bool(true));
    let recorded = if status == "ok" && dry {
        "dry_run"
    } else {
        status
    };
    if bypassed {
        format!("{recorded}_bypassed")
    } else {
        recorded.to_string()
    }
}

/// `{"error": <truthy>}` or `{"outcome": "failed"}` (or a one-element list of
/// such): the family's envelope for a tool that failed without raising.
fn returned_failure(v: &Value) -> bool {
    let says = |o: &Map<String, Value>| {
        o.get("error").is_some_and(truthy) || o.get("outcome") == Some(&json!("failed"))
    };
    match v {
        Value::Object(o) => says(o),
        Value::Array(items) if items.len() == 1 => items[0].as_object().is_some_and(says),
        _ => false,
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

const SURFACES: &[&str] = &[
    "mcp-stdio",
    "mcp-https",
    "mcp-http-loopback",
    "cli",
    "daemon",
    "",
];

/// A surface name outside the family's list is recorded as `invalid:<value>`.
fn surface_for_row(surface: &str) -> String {
    if SURFACES.contains(&surface) {
        surface.to_string()
    } else {
        format!("invalid:{surface}")
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with no message".into())
}
