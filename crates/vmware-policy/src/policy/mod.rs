//! rules.yaml: parse, validate, decide, reload.

pub mod decide;
pub mod engine;
pub mod file;
pub mod fnmatch;
pub mod freeze;
pub mod rules;
pub mod save;
pub mod validate;
mod watch;
#[cfg(target_os = "linux")]
mod watch_inotify;
mod window;
pub mod yaml;

pub use decide::{CallContext, Decision, Explanation, Step, StepOutcome, policy_disabled};
pub use engine::{BASELINE, PolicyEngine, load_rules, set_load_notices};
pub use rules::{Body, RISK_LEVELS, RuleSet, RuleView, Source, Window, line_col_of_byte};
pub use validate::{Diagnostic, Severity, has_errors, validate, validate_bytes};
pub(crate) use window::py_int;
