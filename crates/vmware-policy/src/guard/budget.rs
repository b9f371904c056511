//! Per-process tool-call budgets and the runaway breaker, as Python's
//! `vmware_policy.budget`, with its settings and rule names, so one operator's
//! habits cover Rust and Python skills alike.
//!
//! - The runaway breaker (on by default): the same tool with identical raw
//!   arguments more than `VMWARE_RUNAWAY_MAX` (25) times within
//!   `VMWARE_RUNAWAY_WINDOW_SEC` (120) is refused, rule `budget_runaway`.
//! - Ceilings (off unless set): `VMWARE_MAX_TOOL_CALLS` (`budget_calls`) and
//!   `VMWARE_MAX_TOOL_SECONDS` (`budget_seconds`), for the process's own caller
//!   only (a network server is long-lived and serves many callers).
//!
//! Each setting is read live on every check, `OPS_` prefix preferred, with
//! Python's `int()`; 0 or less disables. Only calls policy allowed are counted.
//! State is per process (every guard shares it, as Python's singleton) and per
//! network caller.
//!
//! Unlike Python's, whose eviction scans every fingerprint on every call, the
//! work per call is amortised O(1): a queue ordered by time drops expired
//! fingerprints from the front. At most [`MAX_FINGERPRINTS`] are held per
//! caller; beyond that the least recently seen goes first (a looping call is
//! always among the most recent).

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::policy::py_int;

/// Python's defaults: generous enough that varied use never trips them.
pub const DEFAULT_RUNAWAY_MAX: i64 = 25;
pub const DEFAULT_RUNAWAY_WINDOW_SEC: i64 = 120;
/// Fingerprints held per caller, whatever the flood of distinct arguments.
pub const MAX_FINGERPRINTS: usize = 16_384;

/// A refusal by a budget: what the row and the agent are told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `budget_runaway`, `budget_calls` or `budget_seconds`.
    pub rule: &'static str,
    pub reason: String,
}

type Fingerprint = [u8; 32];

#[derive(Default)]
struct CallerState {
    total_calls: u64,
    total_seconds: f64,
    /// fingerprint -> times of the calls still in the window, oldest first.
    windows: HashMap<Fingerprint, VecDeque<Instant>>,
    /// Every recorded call in time order, for eviction from the front.
    order: VecDeque<(Instant, Fingerprint)>,
}

/// The budgets of one process.
#[derive(Default)]
pub struct Budget {
    state: Mutex<States>,
}

#[derive(Default)]
struct States {
    own: CallerState,
    callers: HashMap<String, CallerState>,
}

/// The limits in force now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_calls: Option<i64>,
    pub max_seconds: Option<i64>,
    pub runaway_max: i64,
    pub runaway_window_sec: i64,
}

impl Limits {
    /// As Python reads them: `OPS_*` first, then `VMWARE_*`; empty is unset;
    /// a value `int()` refuses is the default.
    pub fn from_env() -> Limits {
        Limits {
            max_calls: env_int("VMWARE_MAX_TOOL_CALLS"),
            max_seconds: env_int("VMWARE_MAX_TOOL_SECONDS"),
            runaway_max: env_int("VMWARE_RUNAWAY_MAX").unwrap_or(DEFAULT_RUNAWAY_MAX),
            runaway_window_sec: env_int("VMWARE_RUNAWAY_WINDOW_SEC")
                .unwrap_or(DEFAULT_RUNAWAY_WINDOW_SEC),
        }
    }
}

fn env_int(name: &str) -> Option<i64> {
    let neutral = name.replacen("VMWARE_", "OPS_", 1);
    let raw = match std::env::var(&neutral) {
        Ok(v) if !v.is_empty() => v,
        _ => std::env::var(name).ok().filter(|v| !v.is_empty())?,
    };
    py_int(&raw)
}

/// The process's budgets, shared by every guard in it.
pub fn global() -> &'static Budget {
    static BUDGET: OnceLock<Budget> = OnceLock::new();
    BUDGET.get_or_init(Budget::default)
}

fn lock(m: &Mutex<States>) -> std::sync::MutexGuard<'_, States> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Budget {
    /// Enforce the ceilings and the breaker for a call policy allowed, then
    /// count it. `caller` is the network caller (`None`: this process's own).
    pub fn check_and_record(
        &self,
        tool: &str,
        params: &Value,
        caller: Option<&str>,
        limits: Limits,
        now: Instant,
    ) -> Result<(), Refusal> {
        let fp = fingerprint(tool, params);
        let mut states = lock(&self.state);
        let lifetime = caller.is_none();
        let state = match caller {
            None => &mut states.own,
            Some(c) => states.callers.entry(c.to_string()).or_default(),
        };
        if lifetime
            && let Some(max) = limits.max_calls
            && state.total_calls as i128 >= i128::from(max)
        {
            return Err(Refusal {
                rule: "budget_calls",
                reason: format!(
                    "Tool-call budget reached: {} calls (VMWARE_MAX_TOOL_CALLS={max}). Stop and \
                     summarize what is done; raise the ceiling only if the work genuinely needs \
                     more calls.",
                    state.total_calls
                ),
            });
        }
        if lifetime
            && let Some(max) = limits.max_seconds
            && state.total_seconds >= max as f64
        {
            return Err(Refusal {
                rule: "budget_seconds",
                reason: format!(
                    "Cumulative tool wall-time budget reached: {:.0}s (VMWARE_MAX_TOOL_SECONDS={max}). \
                     Stop and report progress rather than continuing.",
                    state.total_seconds
                ),
            });
        }
        let (max, window) = (limits.runaway_max, limits.runaway_window_sec);
        if max > 0 && window > 0 {
            let span = Duration::from_secs(window.unsigned_abs());
            state.evict(now.checked_sub(span));
            let times = state.windows.entry(fp).or_default();
            if times.len() as i128 >= i128::from(max) {
                let n = times.len();
                return Err(Refusal {
                    rule: "budget_runaway",
                    reason: format!(
                        "Runaway guard tripped: '{tool}' called {n} times with identical arguments \
                         in {window}s. This usually means a poll/retry loop is stuck. Stop re-calling \
                         — check the operation's status once, or wait, instead of looping. (Raise \
                         VMWARE_RUNAWAY_MAX if this is genuinely intended.)"
                    ),
                });
            }
            times.push_back(now);
            state.order.push_back((now, fp));
            state.cap();
        }
        state.total_calls += 1;
        Ok(())
    }

    /// Count a finished call's wall time toward the time ceiling.
    pub fn add_duration(&self, seconds: f64, caller: Option<&str>) {
        if seconds <= 0.0 {
            return;
        }
        let mut states = lock(&self.state);
        match caller {
            None => states.own.total_seconds += seconds,
            Some(c) => {
                states
                    .callers
                    .entry(c.to_string())
                    .or_default()
                    .total_seconds += seconds
            }
        }
    }

    /// How many argument fingerprints the breaker holds for `caller`.
    pub fn tracked_fingerprints(&self, caller: Option<&str>) -> usize {
        let states = lock(&self.state);
        match caller {
            None => states.own.windows.len(),
            Some(c) => states.callers.get(c).map_or(0, |s| s.windows.len()),
        }
    }

    /// Forget everything (tests; Python's `reset_budget`).
    pub fn reset(&self) {
        *lock(&self.state) = States::default();
    }
}

impl CallerState {
    /// Drop every call older than `cutoff` (`None`: nothing is that old).
    fn evict(&mut self, cutoff: Option<Instant>) {
        let Some(cutoff) = cutoff else { return };
        while let Some(&(at, fp)) = self.order.front() {
            if at >= cutoff {
                break;
            }
            self.order.pop_front();
            self.drop_oldest_of(fp, at);
        }
    }

    /// Keep at most [`MAX_FINGERPRINTS`]: forget the least recently seen.
    fn cap(&mut self) {
        while self.windows.len() > MAX_FINGERPRINTS {
            let Some((at, fp)) = self.order.pop_front() else {
                break;
            };
            self.drop_oldest_of(fp, at);
        }
    }

    /// Remove one call (the oldest of `fp`, recorded at `at`) from its window.
    fn drop_oldest_of(&mut self, fp: Fingerprint, at: Instant) {
        if let Some(times) = self.windows.get_mut(&fp) {
            if times.front() == Some(&at) {
                times.pop_front();
            }
            if times.is_empty() {
                self.windows.remove(&fp);
            }
        }
    }
}

/// A digest of the tool and its raw arguments with keys sorted (Python's
/// `json.dumps(params, sort_keys=True)`): neither the arguments nor a secret
/// in them is kept, and two calls differing in any argument differ.
fn fingerprint(tool: &str, params: &Value) -> Fingerprint {
    let mut h = Sha256::new();
    h.update(tool.as_bytes());
    h.update([0u8]);
    canonical(params, &mut h);
    h.finalize().into()
}

fn canonical(v: &Value, h: &mut Sha256) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            h.update(b"{");
            for k in keys {
                h.update(serde_json::to_string(k).unwrap_or_default().as_bytes());
                h.update(b":");
                canonical(&map[k], h);
                h.update(b",");
            }
            h.update(b"}");
        }
        Value::Array(items) => {
            h.update(b"[");
            for i in items {
                canonical(i, h);
                h.update(b",");
            }
            h.update(b"]");
        }
        other => h.update(other.to_string().as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn limits(max: i64, window: i64) -> Limits {
        Limits {
            max_calls: None,
            max_seconds: None,
            runaway_max: max,
            runaway_window_sec: window,
        }
    }

    #[test]
    fn the_26th_identical_call_in_the_window_is_refused_and_a_different_one_is_not() {
        let b = Budget::default();
        let t0 = Instant::now();
        let args = json!({"task": "t-1", "b": [1, {"y": 2, "x": 1}]});
        for i in 0..25 {
            b.check_and_record(
                "wait_task",
                &args,
                None,
                limits(25, 120),
                t0 + Duration::from_millis(i),
            )
            .unwrap();
        }
        let refused = b
            .check_and_record(
                "wait_task",
                &args,
                None,
                limits(25, 120),
                t0 + Duration::from_secs(1),
            )
            .unwrap_err();
        assert_eq!(refused.rule, "budget_runaway");
        assert!(
            refused
                .reason
                .contains("called 25 times with identical arguments in 120s")
        );
        // Key order does not matter; any other value does.
        let reordered = json!({"b": [1, {"x": 1, "y": 2}], "task": "t-1"});
        assert!(
            b.check_and_record(
                "wait_task",
                &reordered,
                None,
                limits(25, 120),
                t0 + Duration::from_secs(2)
            )
            .is_err()
        );
        let other = json!({"task": "t-2", "b": [1, {"y": 2, "x": 1}]});
        assert!(
            b.check_and_record(
                "wait_task",
                &other,
                None,
                limits(25, 120),
                t0 + Duration::from_secs(2)
            )
            .is_ok()
        );
        // Once the window has passed, the loop may call again.
        assert!(
            b.check_and_record(
                "wait_task",
                &args,
                None,
                limits(25, 120),
                t0 + Duration::from_secs(121)
            )
            .is_ok()
        );
    }

    #[test]
    fn a_flood_of_distinct_arguments_holds_bounded_memory() {
        let b = Budget::default();
        let t0 = Instant::now();
        for i in 0..(MAX_FINGERPRINTS as u64 + 5_000) {
            b.check_and_record(
                "get_vm",
                &json!({"vm": i}),
                None,
                limits(25, 120),
                t0 + Duration::from_micros(i),
            )
            .unwrap();
        }
        assert_eq!(b.tracked_fingerprints(None), MAX_FINGERPRINTS);
        // Expired windows go without a scan.
        b.check_and_record(
            "get_vm",
            &json!({"vm": "x"}),
            None,
            limits(25, 120),
            t0 + Duration::from_secs(200),
        )
        .unwrap();
        assert_eq!(b.tracked_fingerprints(None), 1);
    }

    #[test]
    fn ceilings_apply_to_the_process_own_caller_and_network_callers_are_apart() {
        let b = Budget::default();
        let now = Instant::now();
        let l = Limits {
            max_calls: Some(2),
            ..limits(25, 120)
        };
        for i in 0..2 {
            b.check_and_record("t", &json!({"i": i}), None, l, now)
                .unwrap();
        }
        assert_eq!(
            b.check_and_record("t", &json!({"i": 9}), None, l, now)
                .unwrap_err()
                .rule,
            "budget_calls"
        );
        // A network caller has no lifetime ceiling, and its own breaker.
        for i in 0..5 {
            b.check_and_record("t", &json!({"i": i}), Some("alice"), l, now)
                .unwrap();
        }
        let l = Limits {
            max_seconds: Some(1),
            ..limits(25, 120)
        };
        b.add_duration(1.5, None);
        assert_eq!(
            b.check_and_record("t", &json!({}), None, l, now)
                .unwrap_err()
                .rule,
            "budget_seconds"
        );
        // Zero or less disables the breaker.
        for _ in 0..50 {
            b.check_and_record("t", &json!({}), Some("bob"), limits(0, 120), now)
                .unwrap();
        }
    }
}
