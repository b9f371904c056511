//! # vmware_policy
//!
//! Audit log, policy engine and tool guard for AI agents that operate VMware
//! through skills. A skill declares each tool once and runs every call through
//! a [`Guard`]: the operator's rules (`rules.yaml`, hot-reloaded) are checked,
//! the tool runs or is refused, and one row is appended to the shared audit log
//! (`audit.db`, SQLite in WAL mode). Both files are the ones the Python skill
//! family (`vmware-policy` on PyPI) reads and writes: a Rust skill and a Python
//! skill on one machine share one policy and one history.
//!
//! ```
//! use vmware_policy::{AuditEngine, Call, Guard, GuardError, PolicyEngine, Tool};
//!
//! # let home = tempfile::tempdir().unwrap();
//! # let (rules_path, db_path) = (home.path().join("rules.yaml"), home.path().join("audit.db"));
//! // In a skill: `Guard::from_home()` uses $OPS_HOME (default ~/.vmware).
//! std::fs::write(&rules_path, r#"
//! deny:
//!   - name: no-delete-in-prod
//!     operations: ["delete_*"]
//!     environments: ["production"]
//! "#).unwrap();
//! let guard = Guard::new(PolicyEngine::new(&rules_path), AuditEngine::new(&db_path));
//!
//! // Declare each tool once.
//! let delete = Tool::new("nsx_security", "delete_dfw_policy")
//!     .risk("critical")
//!     .sensitive_params(&["password"]);
//!
//! // Call it: policy check, run, audit row. The environment comes from the
//! // target the skill resolved, never from the agent's free text.
//! let call = Call::new(serde_json::json!({"policy_id": "web-tier", "password": "s3cret"}))
//!     .env("production");
//! let outcome = guard.run(&delete, call, || Ok::<_, std::io::Error>("deleted"));
//! match outcome {
//!     Err(GuardError::Denied(d)) => assert_eq!(d.rule, "no-delete-in-prod"),
//!     other => panic!("expected a denial, got {other:?}"),
//! }
//!
//! // In a lab, the same call runs; the password never reaches the audit row.
//! let call = Call::new(serde_json::json!({"policy_id": "web-tier", "password": "s3cret"})).env("lab");
//! assert_eq!(guard.run(&delete, call, || Ok::<_, std::io::Error>("deleted")).unwrap(), "deleted");
//!
//! let rows = vmware_policy::audit::Reader::open(&db_path).unwrap().latest(2).unwrap();
//! assert_eq!(rows[0].status, "ok");
//! assert_eq!(rows[1].status, "denied");
//! assert!(rows[0].params.contains(r#""password": "***""#));
//! ```
//!
//! An async tool (any runtime) awaits its row instead of blocking a thread,
//! and says what a cancellation does to it:
//!
//! ```
//! # use vmware_policy::{AuditEngine, Call, Guard, GuardError, OnCancel, PolicyEngine, RunOptions, Tool};
//! # let home = tempfile::tempdir().unwrap();
//! # let guard = Guard::new(PolicyEngine::new(home.path().join("rules.yaml")), AuditEngine::new(home.path().join("audit.db")));
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let list = Tool::new("nsx_security", "list_dfw_policies");
//! let (cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
//! let opts = RunOptions::new()
//!     .cancel_on(async { let _ = cancelled.await; })
//!     .on_cancel(OnCancel::Interrupt); // a read: stop at once
//! drop(cancel); // the client gave up
//! let out = guard
//!     .run_async_with(&list, Call::new(serde_json::json!({})), opts, async {
//!         tokio::time::sleep(std::time::Duration::from_secs(60)).await;
//!         Ok::<_, String>("policies")
//!     })
//!     .await;
//! assert!(matches!(out.result, Err(GuardError::Interrupted { .. })));
//! assert_eq!(out.status, "interrupted"); // and the row is durable already
//! # });
//! ```

pub mod audit;
pub mod guard;
pub mod home;
pub mod identity;
#[cfg(feature = "rmcp")]
pub mod mcp;
pub mod policy;
pub mod redact;
pub mod renames;
pub mod replay;
pub mod safe_text;
pub mod sanitize;

/// The rusqlite this crate is built with: its errors are part of our API, and
/// SQLite links once per binary, so a skill uses this one rather than its own.
pub use rusqlite;

pub use audit::{Appended, AuditEngine, AuditOptions, Record};
pub use guard::{
    Call, Completion, Failure, Guard, GuardError, OnCancel, OnPanic, Outcome, PendingCall,
    RunOptions, Tool, report_rejected, report_tool_failure,
};
pub use policy::{CallContext, Decision, PolicyEngine};
pub use sanitize::sanitize;
