//! A call between its policy check and its row: [`Guard::begin`] decides and
//! starts the clock, [`PendingCall::finish`] records the outcome. Any framework
//! can wrap a call this way; a `PendingCall` dropped unfinished (its task
//! cancelled, its client gone) still leaves a row, `interrupted`.

use std::fmt::Display;
use std::time::Instant;

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::failure::Failure;
use super::signal::{Signal, Slot};
use super::status::{final_status, returned_failure, surface_for_row};
use super::{Call, Guard, Tool, args, budget};
use crate::audit::{Receipt, Record, python_json};
use crate::identity;
use crate::policy::{CallContext, Decision};
use crate::redact;
use crate::sanitize::sanitize;

/// A call refused before it ran: by policy (`denied`) or a budget
/// (`budget_exceeded`), with its row's receipt.
pub(crate) struct Refused {
    /// Refused for its arguments (an `error` row, as Python's
    /// `ToolArgumentError`), not by policy or a budget.
    pub(crate) invalid_argument: bool,
    pub(crate) decision: Decision,
    pub(crate) status: String,
    pub(crate) receipt: Option<Receipt>,
}

impl Refused {
    /// What the caller of `run` gets.
    pub(crate) fn error<E>(&self) -> super::GuardError<E> {
        if self.invalid_argument {
            super::GuardError::InvalidArgument(self.decision.reason.clone())
        } else {
            super::GuardError::Denied(self.decision.clone())
        }
    }
}

/// How a call ended, as the guard records it.
#[derive(Debug, Clone)]
pub enum Completion {
    /// The tool returned this value (JSON). `ok`, or `error` when it is the
    /// family's failure envelope (`{"error": ...}`, `{"outcome": "failed"}`).
    Returned(Value),
    /// The tool failed: its message and traceback summary (`"text".into()`
    /// for a message alone, [`Failure::of`] for an error value).
    Failed(Failure),
    /// The call was stopped before it finished, for this reason
    /// (`cancelled`, ...).
    Interrupted(String),
    /// The tool panicked.
    Panicked(Failure),
    /// The operator declined the call (a confirmation answered no): `rejected`.
    Rejected,
}

/// What [`PendingCall::finish`] recorded.
#[derive(Debug)]
pub struct Finished {
    /// The status of the row (`ok`, `error`, `dry_run`, `interrupted`,
    /// `rejected`, `*_bypassed`).
    pub status: String,
    /// The row's receipt (`None` when auditing is off): await it, or drop it
    /// and the row is written all the same.
    pub receipt: Option<Receipt>,
}

/// Who commits a call's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowWriter {
    /// The thread that waits for the receipt, when it waits (the sync `run`,
    /// which waits at once): no other thread is woken on its way.
    Waiter,
    /// The engine's helper thread, at once: the receipt may be awaited, held
    /// or dropped.
    Helper,
}

/// An allowed call whose outcome is not yet recorded.
pub struct PendingCall {
    guard: Guard,
    tool: Tool,
    call: Call,
    decision: Decision,
    start: Instant,
    writer: RowWriter,
    done: bool,
    /// What the tool reported from inside ([`super::report_tool_failure`], ...).
    slot: Slot,
}

impl Guard {
    /// Check the arguments, policy and budgets, and start the call. A refusal
    /// is recorded (the row is handed to the writer; [`Guard::flush`] or the
    /// engine's drop makes it durable) and returned, its rule saying why
    /// (`invalid_argument` for the family's argument rules); an allowed call
    /// comes back as a [`PendingCall`].
    pub fn begin(&self, tool: &Tool, call: Call) -> Result<PendingCall, Decision> {
        self.start(tool, call, RowWriter::Helper)
            .map_err(|r| r.decision)
    }

    /// [`Guard::begin`], with the refusal's status and row receipt.
    pub(crate) fn start(
        &self,
        tool: &Tool,
        mut call: Call,
        writer: RowWriter,
    ) -> Result<PendingCall, Refused> {
        let start = Instant::now();
        if call.env.is_empty()
            && let Some(resolve) = &self.resolver
        {
            call.env = resolve_env(resolve.as_ref(), &call.params);
        }
        // A CLI command gets Python's CLI guard's wording for the argument rules.
        let cli = call.surface == "cli";
        // The family's argument rules come first, before policy (Python's order).
        if let Some(refused) =
            args::check_call(&call.params, &tool.path_params, call.client.is_some(), cli)
        {
            // Python records the raised error's traceback; its CLI guard, the message.
            let failure = Failure {
                traceback: if cli {
                    String::new()
                } else {
                    format!("{}: {}", refused.error_type, refused.message)
                },
                message: refused.message.clone(),
            };
            let receipt = self.submit_row(tool, &call, "error", &failure.row(""), start, writer);
            return Err(Refused {
                invalid_argument: true,
                decision: Decision {
                    allowed: false,
                    rule: "invalid_argument".into(),
                    reason: refused.message,
                },
                status: "error".into(),
                receipt,
            });
        }
        // A rule written before the 2.0 renames still names the old tool (and a
        // 1.x skill calls the old name a rule now spells new): match both.
        let renamed = crate::renames::other_names(&tool.skill, &tool.name);
        let aliases: Vec<&str> = tool
            .aliases
            .iter()
            .chain(&renamed)
            .map(String::as_str)
            .collect();
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
            let receipt = self.refusal_row(tool, &call, "denied", &decision, start, writer);
            return Err(Refused {
                invalid_argument: false,
                decision,
                status: "denied".into(),
                receipt,
            });
        }
        // Budgets count only what policy allowed (Python's order).
        // Unlike Python's CLI guard, a CLI-surface call is counted too: a
        // command is one call per process there, so only a process that
        // loops (examples/skill --repeat) can trip it, and that is a runaway.
        let counted = budget::global().check_and_record(
            &tool.name,
            &call.params,
            call.client.as_deref(),
            budget::Limits::from_env(),
            start,
        );
        if let Err(refusal) = counted {
            let bypassed = decision.rule == "policy_disabled";
            let status = final_status("budget_exceeded", bypassed, false, &call.params);
            let decision = Decision {
                allowed: false,
                rule: refusal.rule.into(),
                reason: refusal.reason,
            };
            let receipt = self.refusal_row(tool, &call, &status, &decision, start, writer);
            return Err(Refused {
                invalid_argument: false,
                decision,
                status,
                receipt,
            });
        }
        Ok(PendingCall {
            guard: self.clone(),
            tool: tool.clone(),
            call,
            decision,
            start,
            writer,
            done: false,
            slot: Slot::default(),
        })
    }

    /// Record a refusal decided outside policy (an MCP call naming an
    /// undeclared tool): a `denied` row with the decision's rule.
    #[cfg_attr(not(feature = "rmcp"), allow(dead_code))]
    pub(crate) fn refuse(&self, tool: &Tool, call: &Call, decision: &Decision) -> Option<Receipt> {
        self.refusal_row(
            tool,
            call,
            "denied",
            decision,
            Instant::now(),
            RowWriter::Helper,
        )
    }

    /// The row of a refused call: `{"error": reason, "rule": rule}`, as Python's.
    fn refusal_row(
        &self,
        tool: &Tool,
        call: &Call,
        status: &str,
        decision: &Decision,
        start: Instant,
        writer: RowWriter,
    ) -> Option<Receipt> {
        let result = json!({"error": decision.reason, "rule": decision.rule});
        self.submit_row(tool, call, status, &result, start, writer)
    }

    /// Build the row (redacted) and hand it to the writer.
    fn submit_row(
        &self,
        tool: &Tool,
        call: &Call,
        status: &str,
        result: &Value,
        start: Instant,
        writer: RowWriter,
    ) -> Option<Receipt> {
        // Every call's wall time counts toward VMWARE_MAX_TOOL_SECONDS, as in Python.
        budget::global().add_duration(start.elapsed().as_secs_f64(), call.client.as_deref());
        let audit = self.audit.as_ref()?;
        let row = self.row(tool, call, status, result, start);
        Some(match writer {
            RowWriter::Waiter => audit.submit_deferred(row),
            RowWriter::Helper => audit.submit(row),
        })
    }

    fn row(
        &self,
        tool: &Tool,
        call: &Call,
        status: &str,
        result: &Value,
        start: Instant,
    ) -> Record {
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
        let agent = match (identity::detect_agent(), &call.agent) {
            ("unknown", Some(named)) if !named.trim().is_empty() => sanitize(named, 64),
            (detected, _) => detected.to_string(),
        };
        Record {
            ts: None,
            skill: tool.skill.clone(),
            tool: tool.name.clone(),
            params: python_json(&params),
            result: python_json(&result),
            status: status.into(),
            duration_ms: start.elapsed().as_millis().min(i64::MAX as u128) as i64,
            agent,
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
        }
    }
}

/// The environment the target declares: the target is the `target` argument,
/// else `env`, else `""` (the resolver knows what an omitted target means).
fn resolve_env(resolve: &super::EnvironmentResolver, params: &Value) -> String {
    let target = match params.get("target").or_else(|| params.get("env")) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| resolve(&target)))
        .ok()
        .flatten()
        .map(|e| e.trim().to_string())
        .unwrap_or_default()
}

impl PendingCall {
    /// The decision that let the call run (`default_allow`, `policy_disabled`, ...).
    pub fn decision(&self) -> &Decision {
        &self.decision
    }

    /// The call as the guard sees it (its environment resolved).
    pub fn call(&self) -> &Call {
        &self.call
    }

    /// How long the call has run so far.
    pub fn elapsed(&self) -> std::time::Duration {
        self.start.elapsed()
    }

    /// Record the tool's result: `Ok` as its value, `Err` as its message.
    pub fn finish<T: Serialize, E: Display>(self, result: &Result<T, E>) -> Finished {
        let completion = match result {
            Ok(v) => Completion::Returned(
                serde_json::to_value(v).unwrap_or_else(|e| json!({ "_raw": e.to_string() })),
            ),
            Err(e) => Completion::Failed(Failure::of(e)),
        };
        self.complete(completion)
    }

    /// Record any ending, interrupted and panicked included.
    pub fn complete(mut self, completion: Completion) -> Finished {
        self.record(completion)
    }

    /// The one place a started call's row is made (by `complete`, or by the
    /// drop of a call nobody finished).
    fn record(&mut self, completion: Completion) -> Finished {
        self.done = true;
        let bypassed = self.decision.rule == "policy_disabled";
        let params = &self.call.params;
        let reported = self.slot.take();
        // Python's CLI guard words and records a few endings its own way.
        let cli = self.call.surface == "cli";
        let (status, row) = match (completion, reported) {
            // A panic or an interruption is what happened, whatever was reported.
            (Completion::Panicked(f), _) => (
                final_status("error", bypassed, false, params),
                f.row("panic: "),
            ),
            (Completion::Interrupted(why), _) => {
                let what = if cli { "command" } else { "call" };
                (
                    final_status("interrupted", bypassed, false, params),
                    Failure::from(format!("{what} interrupted ({why})")).row(""),
                )
            }
            // Python's CLI guard records a declined confirmation with no result: `{}`.
            (Completion::Rejected, _) | (_, Some(Signal::Rejected)) => {
                (final_status("rejected", bypassed, false, params), json!({}))
            }
            // The CLI guard records the message alone (the command printed the rest).
            (Completion::Failed(f), _) if cli => (
                final_status("error", bypassed, false, params),
                Failure::from(f.message).row(""),
            ),
            (Completion::Failed(f), _) => {
                (final_status("error", bypassed, false, params), f.row(""))
            }
            (Completion::Returned(_), Some(Signal::Failed(msg))) if cli => (
                final_status("error", bypassed, false, params),
                Failure::from(msg).row(""),
            ),
            (Completion::Returned(real), reported) => {
                // The CLI guard reads neither a returned failure nor a preview.
                let previewed =
                    !cli && real.get("action").and_then(Value::as_str) == Some("preview");
                let failed = (!cli && returned_failure(&real))
                    || matches!(reported, Some(Signal::Failed(_)));
                let status = if failed { "error" } else { "ok" };
                // A reported failure keeps the returned value in the row, as
                // Python's `@vmware_tool` does (its message is the tool's to show).
                let row = if self.tool.sensitive_result {
                    Value::String(redact::REDACTED_DECLARED.into())
                } else {
                    real
                };
                (final_status(status, bypassed, previewed, params), row)
            }
        };
        let receipt = self.guard.submit_row(
            &self.tool,
            &self.call,
            &status,
            &row,
            self.start,
            self.writer,
        );
        Finished { status, receipt }
    }
}

impl Drop for PendingCall {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // The row goes to the helper thread (its receipt is dropped);
        // nothing here waits for it.
        let _ = self.record(Completion::Interrupted("dropped before it finished".into()));
    }
}

impl std::fmt::Debug for PendingCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingCall")
            .field("tool", &self.tool.name)
            .field("decision", &self.decision)
            .field("elapsed", &self.start.elapsed())
            .finish()
    }
}

impl PendingCall {
    /// This call's slot for what the tool reports from inside.
    pub(crate) fn slot(&self) -> &Slot {
        &self.slot
    }
}

pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with no message".into())
}
