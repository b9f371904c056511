//! The guard around every tool call, the Rust face of the Python `@vmware_tool`:
//! policy pre-check, run (or refuse), time, redact, audit.
//!
//! Three ways in, one bookkeeping: [`Guard::run`] for a sync tool,
//! [`Guard::run_async`] for a future (cancellation and panics handled as the
//! caller chooses), and [`Guard::begin`] / [`PendingCall::finish`] for a
//! framework that runs the call itself (the `rmcp` wrapper does).
//!
//! Auditing never changes what the tool returns: the row gets a redacted copy,
//! the caller the real value. A row that cannot be written never fails the call.

pub mod args;
pub mod budget;
mod failure;
pub(crate) mod pending;
pub(crate) mod run_async;
mod signal;
mod status;
mod tool;

use std::fmt::Display;
use std::sync::Arc;

use serde::Serialize;

use crate::audit::{Appended, AuditEngine};
use crate::identity;
use crate::policy::{Decision, PolicyEngine};
use crate::redact;

pub use failure::Failure;
pub(crate) use failure::note_panic;
pub(crate) use pending::RowWriter;
pub use pending::{Completion, Finished, PendingCall};
pub use run_async::{OnCancel, OnPanic, RunOptions};
pub use signal::{report_rejected, report_tool_failure};
pub use tool::{Call, Tool};

/// Maps a call's target (its `target` or `env` argument, `""` when omitted)
/// to the environment label the target declares, as Python's
/// `set_environment_resolver`. `None` or `""`: the target declares none.
pub type EnvironmentResolver = dyn Fn(&str) -> Option<String> + Send + Sync;

/// Why a guarded call did not return the tool's value.
#[derive(Debug)]
#[non_exhaustive]
pub enum GuardError<E> {
    /// Policy or a budget refused the call; the tool did not run. The
    /// decision's rule says which (`budget_runaway`, `budget_calls`, ...).
    Denied(Decision),
    /// An argument the family refuses before any tool runs (`limit` below 1,
    /// a host path into this server's own files), with Python's wording.
    InvalidArgument(String),
    /// The tool ran and failed.
    Failed(E),
    /// The caller's cancellation signal fired and the tool was stopped
    /// ([`OnCancel::Interrupt`]); it ran this many milliseconds.
    Interrupted { ran_ms: u64 },
    /// The tool panicked and the caller asked for a failure instead
    /// ([`OnPanic::Fail`]): the panic's message, redacted and sanitized.
    Panicked(String),
}

impl<E: Display> Display for GuardError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GuardError::Denied(d) => write!(f, "denied by policy rule '{}': {}", d.rule, d.reason),
            GuardError::Failed(e) => write!(f, "{e}"),
            GuardError::InvalidArgument(why) => write!(f, "{why}"),
            GuardError::Interrupted { ran_ms } => {
                write!(f, "call interrupted after {ran_ms} ms (cancelled)")
            }
            GuardError::Panicked(msg) => write!(f, "the tool failed unexpectedly: {msg}"),
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
    /// The status recorded (`ok`, `denied`, `error`, `dry_run`, `interrupted`, `*_bypassed`).
    pub status: String,
}

/// Policy plus audit, shared by every tool of a skill. Cheap to clone.
#[derive(Clone)]
pub struct Guard {
    policy: Arc<PolicyEngine>,
    audit: Option<AuditEngine>,
    user: Arc<str>,
    resolver: Option<Arc<EnvironmentResolver>>,
}

impl Guard {
    pub fn new(policy: PolicyEngine, audit: AuditEngine) -> Guard {
        redact::install_panic_hook();
        Guard {
            policy: Arc::new(policy),
            audit: Some(audit),
            user: identity::os_user().into(),
            resolver: None,
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
            resolver: None,
        }
    }

    /// Set once at start-up: how a call's target names its environment. A call
    /// that sets [`Call::env`] itself is not resolved again. A resolver that
    /// panics reads as "no label", as Python's does when its resolver raises.
    pub fn environment_resolver(
        mut self,
        resolver: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Guard {
        self.resolver = Some(Arc::new(resolver));
        self
    }

    pub fn policy(&self) -> &PolicyEngine {
        &self.policy
    }

    pub fn audit(&self) -> Option<&AuditEngine> {
        self.audit.as_ref()
    }

    /// Resolves once every row this guard handed to the audit writer is
    /// durable. Await it before exiting on SIGTERM.
    pub async fn flush(&self) {
        if let Some(audit) = &self.audit {
            audit.flush().await;
        }
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
    /// A panicking tool is recorded as `error` (the row durable first) and the
    /// panic resumes. Returns once the row is committed.
    pub fn run_detailed<T: Serialize, E: Display>(
        &self,
        tool: &Tool,
        call: Call,
        f: impl FnOnce() -> Result<T, E>,
    ) -> Outcome<T, E> {
        let pending = match self.start(tool, call, RowWriter::Waiter) {
            Ok(p) => p,
            Err(refused) => {
                return Outcome {
                    result: Err(refused.error()),
                    decision: refused.decision,
                    audit: refused.receipt.map(|r| r.wait()),
                    status: refused.status,
                };
            }
        };
        let decision = pending.decision().clone();
        let slot = pending.slot().clone();
        let ran = signal::within(&slot, || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        });
        match ran {
            Err(panic) => {
                let done = pending.complete(Completion::Panicked(Failure::of_panic(&*panic)));
                if let Some(r) = done.receipt {
                    r.wait();
                }
                std::panic::resume_unwind(panic);
            }
            Ok(result) => {
                let done = pending.finish(&result);
                Outcome {
                    decision,
                    audit: done.receipt.map(|r| r.wait()),
                    status: done.status,
                    result: result.map_err(GuardError::Failed),
                }
            }
        }
    }
}
