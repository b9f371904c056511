//! Decide one call against one rule set, in the order of compat.md.
//!
//! `check` and `explain` run this same code: `explain` passes a recorder that
//! notes why each rule did or did not match, `check` a tracer that compiles
//! away, so what is explained is exactly what is enforced.

use chrono::{DateTime, Timelike, Utc};
use regex::SetMatches;
use serde::Serialize;

use super::rules::{
    Body, CallerCond, Compiled, Conditions, PatternCond, RISK_LEVELS, RuleKind, RuleSet, Window,
};

/// What a call is checked with, besides its operation name.
#[derive(Debug, Clone, Default)]
pub struct CallContext<'a> {
    /// The target's environment label; `""` when the target has none.
    pub env: &'a str,
    /// The risk level the tool declares (`low`, `medium`, `high`, `critical`).
    pub risk_level: &'a str,
    /// Other names of the same operation (a rename): a rule naming any matches.
    pub aliases: &'a [&'a str],
    /// The authenticated network caller's name; `None` for stdio and the CLI.
    pub client: Option<&'a str>,
    /// The caller's role; `None` where roles do not apply.
    pub role: Option<&'a str>,
    /// The clock for the maintenance window; `None` means now.
    pub at: Option<DateTime<Utc>>,
}

/// The outcome of a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub allowed: bool,
    /// The rule that decided: a deny rule's name, or one of `policy_disabled`,
    /// `rules_unreadable`, `rules_invalid`, `no_rules`, `maintenance_window`,
    /// `maintenance_window_malformed`, `default_allow`.
    pub rule: String,
    /// Why, for a denial; empty when allowed.
    pub reason: String,
}

impl Decision {
    fn allow(rule: &str) -> Decision {
        Decision {
            allowed: true,
            rule: rule.into(),
            reason: String::new(),
        }
    }
    fn deny(rule: &str, reason: impl Into<String>) -> Decision {
        Decision {
            allowed: false,
            rule: rule.into(),
            reason: reason.into(),
        }
    }
}

/// How one step of the evaluation went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepOutcome {
    /// The rule matched (and, being first, decided).
    Matched,
    NotMatched,
    /// The rule could not be evaluated as written; it is applied (fail closed).
    Invalid,
    /// Not reached: an earlier step decided.
    NotReached,
}

/// One line of an explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// A deny rule's name, or `maintenance_window`, `policy`...
    pub subject: String,
    pub outcome: StepOutcome,
    pub detail: String,
}

/// A decision and how it was reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub decision: Decision,
    pub steps: Vec<Step>,
}

pub(crate) trait Trace {
    const ON: bool;
    fn note(&mut self, subject: &str, outcome: StepOutcome, detail: String);
}

pub(crate) struct NoTrace;
impl Trace for NoTrace {
    const ON: bool = false;
    #[inline(always)]
    fn note(&mut self, _: &str, _: StepOutcome, _: String) {}
}

pub(crate) struct Recorder(pub Vec<Step>);
impl Trace for Recorder {
    const ON: bool = true;
    fn note(&mut self, subject: &str, outcome: StepOutcome, detail: String) {
        self.0.push(Step {
            subject: subject.into(),
            outcome,
            detail,
        });
    }
}

/// Whether `VMWARE_POLICY_DISABLED=1` is set: the documented escape hatch.
pub fn policy_disabled() -> bool {
    std::env::var_os("VMWARE_POLICY_DISABLED").is_some_and(|v| v == "1")
}

/// Index of a tool's declared level; an unknown level counts as `critical`.
fn risk_index(level: &str) -> usize {
    RISK_LEVELS
        .iter()
        .position(|l| *l == level)
        .unwrap_or(RISK_LEVELS.len() - 1)
}

pub(crate) fn evaluate<T: Trace>(
    set: &RuleSet,
    operation: &str,
    call: &CallContext,
    trace: &mut T,
) -> Decision {
    if policy_disabled() {
        if T::ON {
            trace.note(
                "policy",
                StepOutcome::Matched,
                "VMWARE_POLICY_DISABLED=1: policy is bypassed, the call is audited as *_bypassed"
                    .into(),
            );
        }
        return Decision::allow("policy_disabled");
    }
    match &set.body {
        Body::Unreadable { reason } => {
            if T::ON {
                trace.note(
                    "rules",
                    StepOutcome::Matched,
                    format!(
                        "the rules file does not load ({}): every operation is denied",
                        set.source
                    ),
                );
            }
            Decision::deny("rules_unreadable", reason.clone())
        }
        Body::Empty => {
            if T::ON {
                trace.note(
                    "rules",
                    StepOutcome::Matched,
                    "the rules file loads to nothing: every operation is allowed".into(),
                );
            }
            Decision::allow("no_rules")
        }
        Body::Rules(compiled) => evaluate_rules(compiled, set, operation, call, trace),
    }
}

pub(crate) fn evaluate_rules<T: Trace>(
    c: &Compiled,
    set: &RuleSet,
    operation: &str,
    call: &CallContext,
    trace: &mut T,
) -> Decision {
    if let Some(why) = &c.deny_invalid {
        if T::ON {
            trace.note(
                "deny",
                StepOutcome::Invalid,
                format!("{why}: the rules cannot be evaluated, every operation is denied"),
            );
        }
        return Decision::deny(
            "rules_invalid",
            format!(
                "Policy rules in {} cannot be evaluated: {why}. Every operation is denied until it is fixed.",
                set.path.display()
            ),
        );
    }
    let mut matches = Matches::default();
    for (i, rule) in c.deny.iter().enumerate() {
        let outcome = match &rule.kind {
            RuleKind::Invalid(why) => Err(why.clone()),
            RuleKind::Conditions(cond) => {
                rule_matches(cond, c, &mut matches, operation, call, trace, &rule.name)
            }
        };
        match outcome {
            Ok(true) => {
                if T::ON {
                    trace.note(
                        &rule.name,
                        StepOutcome::Matched,
                        "every condition holds: this rule denies the call".into(),
                    );
                    note_rest(c, i + 1, trace);
                }
                return Decision::deny(&rule.name, rule.reason.clone());
            }
            Ok(false) => {}
            Err(why) => {
                if T::ON {
                    trace.note(
                        &rule.name,
                        StepOutcome::Invalid,
                        format!("{why}: applied to every call it reaches (fail closed)"),
                    );
                    note_rest(c, i + 1, trace);
                }
                return Decision::deny(
                    &rule.name,
                    format!(
                        "Deny rule '{}' in {} cannot be evaluated as written ({why}); it is applied to fail closed. {}",
                        rule.name,
                        set.path.display(),
                        rule.reason
                    ),
                );
            }
        }
    }
    let high = matches!(call.risk_level, "high" | "critical");
    match &c.window {
        Window::Absent => {
            if T::ON {
                trace.note(
                    "maintenance_window",
                    StepOutcome::NotMatched,
                    "no maintenance window is set".into(),
                );
            }
        }
        Window::Malformed { .. } | Window::Valid { .. } if !high => {
            if T::ON {
                trace.note(
                    "maintenance_window",
                    StepOutcome::NotMatched,
                    format!(
                        "applies to high and critical operations; this one is '{}'",
                        call.risk_level
                    ),
                );
            }
        }
        Window::Malformed { repr, why } => {
            if T::ON {
                trace.note(
                    "maintenance_window",
                    StepOutcome::Invalid,
                    format!("malformed ({why}): high-risk operations are denied"),
                );
            }
            return Decision::deny(
                "maintenance_window_malformed",
                format!(
                    "maintenance_window in {} is malformed ({repr}). High-risk operations are blocked until it is fixed. \
                     Expected 'start' and 'end' as 'HH:MM' strings, e.g. start: \"22:00\" / end: \"06:00\".",
                    set.path.display()
                ),
            );
        }
        Window::Valid {
            start,
            end,
            start_text,
            end_text,
        } => {
            let now = call.at.unwrap_or_else(Utc::now);
            let minute = i64::from(now.hour()) * 60 + i64::from(now.minute());
            if !Window::contains(*start, *end, minute) {
                if T::ON {
                    trace.note(
                        "maintenance_window",
                        StepOutcome::Matched,
                        format!(
                            "{:02}:{:02} UTC is outside {start_text}-{end_text}",
                            now.hour(),
                            now.minute()
                        ),
                    );
                }
                return Decision::deny(
                    "maintenance_window",
                    format!("High-risk operations only allowed during {start_text}-{end_text}"),
                );
            }
            if T::ON {
                trace.note(
                    "maintenance_window",
                    StepOutcome::NotMatched,
                    format!(
                        "{:02}:{:02} UTC is inside {start_text}-{end_text}",
                        now.hour(),
                        now.minute()
                    ),
                );
            }
        }
    }
    if T::ON && c.change_limits {
        trace.note(
            "change_limits",
            StepOutcome::NotMatched,
            "change_limits is parsed but not enforced (as in the Python package)".into(),
        );
    }
    Decision::allow("default_allow")
}

fn note_rest<T: Trace>(c: &Compiled, from: usize, trace: &mut T) {
    for rule in &c.deny[from..] {
        trace.note(
            &rule.name,
            StepOutcome::NotReached,
            "an earlier rule decided".into(),
        );
    }
}

/// The patterns that match this call, computed once per field and check.
#[derive(Default)]
struct Matches {
    ops: Option<Hits>,
    envs: Option<Hits>,
    clients: Option<Hits>,
    roles: Option<Hits>,
}

enum Hits {
    None,
    One(SetMatches),
    Many(Vec<bool>),
}

impl Hits {
    fn of(set: Option<&regex::RegexSet>, names: &[&str]) -> Hits {
        let Some(set) = set else { return Hits::None };
        match names {
            [one] => Hits::One(set.matches(one)),
            _ => {
                let mut hit = vec![false; set.len()];
                for name in names {
                    for i in set.matches(name).iter() {
                        hit[i] = true;
                    }
                }
                Hits::Many(hit)
            }
        }
    }
    fn any(&self, ids: &[usize]) -> bool {
        match self {
            Hits::None => false,
            Hits::One(m) => ids.iter().any(|&i| m.matched(i)),
            Hits::Many(v) => ids.iter().any(|&i| v[i]),
        }
    }
}

fn rule_matches<T: Trace>(
    cond: &Conditions,
    c: &Compiled,
    m: &mut Matches,
    operation: &str,
    call: &CallContext,
    trace: &mut T,
    name: &str,
) -> Result<bool, String> {
    // Why a condition did not hold; formatted only when explaining.
    let no = |trace: &mut T, detail: &dyn Fn() -> String| {
        if T::ON {
            trace.note(name, StepOutcome::NotMatched, detail());
        }
        Ok(false)
    };
    // A pattern condition none of whose patterns matched: Python raises on an
    // item it cannot match (`invalid`), which makes the rule apply; else no match.
    let unmatched = |trace: &mut T,
                     invalid: &Option<String>,
                     ids: &[usize],
                     patterns: &[String],
                     what: &dyn Fn() -> String| {
        if let Some(why) = invalid {
            return Err(why.clone());
        }
        no(trace, &|| {
            let pats: Vec<&str> = ids.iter().map(|&i| patterns[i].as_str()).collect();
            format!("{} matches none of {pats:?}", what())
        })
    };
    match &cond.operations {
        PatternCond::Absent => {}
        PatternCond::Never => {
            return no(trace, &|| {
                "`operations` is empty: the rule matches no operation".into()
            });
        }
        PatternCond::Invalid(why) => return Err(why.clone()),
        PatternCond::Patterns { ids, invalid } => {
            let hits = m.ops.get_or_insert_with(|| {
                if call.aliases.is_empty() {
                    Hits::of(c.sets.ops.as_ref(), &[operation])
                } else {
                    let mut names = vec![operation];
                    names.extend_from_slice(call.aliases);
                    Hits::of(c.sets.ops.as_ref(), &names)
                }
            });
            if !hits.any(ids) {
                return unmatched(trace, invalid, ids, &c.sets.op_patterns, &|| {
                    format!("operation '{operation}'")
                });
            }
        }
    }
    match &cond.environments {
        PatternCond::Absent | PatternCond::Never => {}
        _ if call.env.is_empty() => {
            return no(trace, &|| {
                "the rule is scoped to environments and the call's target has no environment label"
                    .into()
            });
        }
        PatternCond::Invalid(why) => return Err(why.clone()),
        PatternCond::Patterns { ids, invalid } => {
            let hits = m
                .envs
                .get_or_insert_with(|| Hits::of(c.sets.envs.as_ref(), &[call.env]));
            if !hits.any(ids) {
                return unmatched(trace, invalid, ids, &c.sets.env_patterns, &|| {
                    format!("environment '{}'", call.env)
                });
            }
        }
    }
    for (field, cond, who, slot, set, patterns) in [
        (
            "clients",
            &cond.clients,
            call.client,
            &mut m.clients,
            c.sets.clients.as_ref(),
            &c.sets.client_patterns,
        ),
        (
            "roles",
            &cond.roles,
            call.role,
            &mut m.roles,
            c.sets.roles.as_ref(),
            &c.sets.role_patterns,
        ),
    ] {
        match cond {
            CallerCond::Absent => {}
            CallerCond::MatchAll(why) => {
                if T::ON {
                    trace.note(name, StepOutcome::Invalid, why.clone());
                }
                return Ok(true);
            }
            CallerCond::Patterns { ids, invalid } => {
                let Some(who) = who.filter(|w| !w.is_empty()) else {
                    return no(trace, &|| {
                        format!("the rule lists {field} and this is a local call (no {field} name)")
                    });
                };
                if !slot.get_or_insert_with(|| Hits::of(set, &[who])).any(ids) {
                    return unmatched(trace, invalid, ids, patterns, &|| {
                        format!("{field} '{who}'")
                    });
                }
            }
        }
    }
    if let Some(min) = &cond.min_risk
        && risk_index(call.risk_level) < min.index
    {
        return no(trace, &|| {
            format!(
                "risk '{}' is below min_risk_level '{}'",
                call.risk_level, RISK_LEVELS[min.index]
            )
        });
    }
    Ok(true)
}

impl RuleSet {
    /// Whether deny rule `index` alone would deny this call (an invalid rule
    /// applies, failing closed), whatever the rules before it decide: the
    /// reach of one rule, for the validator's blast radius.
    pub fn rule_denies(&self, index: usize, operation: &str, call: &CallContext) -> bool {
        let Body::Rules(c) = &self.body else {
            return false;
        };
        let Some(rule) = c.deny.get(index) else {
            return false;
        };
        match &rule.kind {
            RuleKind::Invalid(_) => true,
            RuleKind::Conditions(cond) => rule_matches(
                cond,
                c,
                &mut Matches::default(),
                operation,
                call,
                &mut NoTrace,
                &rule.name,
            )
            .unwrap_or(true),
        }
    }
}
