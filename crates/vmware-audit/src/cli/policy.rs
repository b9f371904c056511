//! `vmware-audit policy`: which rule set is in force and where it came from;
//! with `--operation`, the decision and how it was reached.

use std::io::Write;

use serde_json::json;
use vmware_policy::policy::{Body, RuleSet, Source, StepOutcome, Window};
use vmware_policy::safe_text::{term_safe, to_json};
use vmware_policy::{CallContext, PolicyEngine};

use super::args::PolicyArgs;
use super::common::Ctx;
use super::style::Paint;

/// Where the rules came from, in words, as the Python CLI says it.
pub fn source_words(set: &RuleSet, user_path: &std::path::Path) -> String {
    match set.source {
        Source::User => format!("your rules file ({})", user_path.display()),
        Source::PackagedDefault => format!(
            "the packaged baseline (you have no {})",
            user_path.display()
        ),
        Source::UserUnreadable => {
            format!("NOTHING: {} exists but does not load", user_path.display())
        }
        Source::BaselineUnreadable => "NOTHING: the packaged baseline does not load".into(),
    }
}

pub fn window_words(set: &RuleSet) -> String {
    match &set.body {
        Body::Rules(c) => match &c.window {
            Window::Absent => "none".into(),
            Window::Valid {
                start_text,
                end_text,
                ..
            } => format!("{start_text}-{end_text} UTC"),
            Window::Malformed { why, .. } => {
                format!("MALFORMED ({why}): high/critical operations are denied")
            }
        },
        _ => "none".into(),
    }
}

pub fn run(ctx: &Ctx, a: &PolicyArgs) -> i32 {
    let engine = PolicyEngine::without_watching(&ctx.rules);
    let set = engine.rules();
    let unreadable = match &set.body {
        Body::Unreadable { reason } => Some(reason.clone()),
        _ => None,
    };
    let warnings = vmware_policy::home::permission_warnings(&ctx.rules);
    for w in &warnings {
        eprintln!("vmware-audit: warning: {}", term_safe(w));
    }
    let info = json!({
        "source": set.source.as_str(),
        "path": set.path.display().to_string(),
        "hash": set.hash,
        "deny_rules": set.deny_count(),
        "maintenance_window": window_words(&set),
        "warnings": warnings,
        "frozen": set.frozen(),
    });
    let mut out = std::io::stdout().lock();
    if a.operation.is_empty() {
        if a.json {
            let mut doc = info;
            doc["error"] = json!(unreadable);
            let _ = writeln!(out, "{}", to_json(&doc, true));
        } else {
            print_header(ctx, &mut out, &set, unreadable.as_deref());
            let _ = writeln!(
                out,
                "\nPass --operation to see what happens to a specific call."
            );
        }
        return i32::from(unreadable.is_some());
    }
    if !vmware_policy::policy::RISK_LEVELS.contains(&a.risk.as_str()) {
        eprintln!(
            "vmware-audit: warning: '{}' is not a risk level (low, medium, high, critical); for min_risk_level the engines count an unknown level as critical",
            term_safe(&a.risk)
        );
    }
    // As Python's `vmware-audit policy`: a pre-2.0 name in a rule still
    // applies; without --skill, every skill's old names for this tool count.
    let renamed = if a.skill.is_empty() {
        vmware_policy::renames::old_names_any_skill(&a.operation)
    } else {
        vmware_policy::renames::other_names(&a.skill, &a.operation)
    };
    let aliases: Vec<&str> = renamed.iter().map(String::as_str).collect();
    let call = CallContext {
        env: &a.env,
        risk_level: &a.risk,
        aliases: &aliases,
        client: a.client.as_deref(),
        role: a.role.as_deref(),
        ..CallContext::default()
    };
    let x = engine.explain(&a.operation, &call);
    let denied = !x.decision.allowed;
    if a.json {
        let doc = json!({
            "allowed": x.decision.allowed,
            "rule": x.decision.rule,
            "reason": x.decision.reason,
            "source": set.source.as_str(),
            "path": info["path"],
            "operation": a.operation,
            "env": a.env,
            "risk": a.risk,
            "skill": a.skill,
            "steps": x.steps,
        });
        let _ = writeln!(out, "{}", to_json(&doc, true));
    } else {
        print_header(ctx, &mut out, &set, unreadable.as_deref());
        let env = if a.env.is_empty() {
            "unset"
        } else {
            a.env.as_str()
        };
        let _ = writeln!(
            out,
            "\n{} (env={}, risk={})",
            Paint::Bold.apply(&term_safe(&a.operation), ctx.color),
            term_safe(env),
            term_safe(&a.risk)
        );
        if denied {
            let _ = writeln!(
                out,
                "  {} by rule '{}': {}",
                Paint::Red.apply("DENIED", ctx.color),
                term_safe(&x.decision.rule),
                term_safe(&x.decision.reason)
            );
        } else {
            let _ = writeln!(
                out,
                "  {} (rule: {})",
                Paint::Green.apply("allowed", ctx.color),
                term_safe(&x.decision.rule)
            );
        }
        if !x.steps.is_empty() {
            let _ = writeln!(out, "\nHow it was decided:");
        }
        for s in &x.steps {
            let (mark, paint) = match s.outcome {
                StepOutcome::Matched => ("matched    ", Paint::Red),
                StepOutcome::NotMatched => ("no match   ", Paint::Dim),
                StepOutcome::Invalid => ("invalid    ", Paint::Yellow),
                StepOutcome::NotReached => ("not reached", Paint::Dim),
            };
            let _ = writeln!(
                out,
                "  {} {}: {}",
                paint.apply(mark, ctx.color),
                term_safe(&s.subject),
                term_safe(&s.detail)
            );
        }
    }
    if unreadable.is_some() || (a.exit_code && denied) {
        1
    } else {
        0
    }
}

fn print_header(ctx: &Ctx, out: &mut impl Write, set: &RuleSet, unreadable: Option<&str>) {
    let paint = match set.source {
        Source::User => Paint::Green,
        Source::PackagedDefault => Paint::Cyan,
        _ => Paint::Red,
    };
    let _ = writeln!(
        out,
        "{} {}",
        Paint::Bold.apply("Rules in force:", ctx.color),
        paint.apply(&term_safe(&source_words(set, &ctx.rules)), ctx.color)
    );
    let _ = writeln!(
        out,
        "  {} deny rule(s), maintenance window: {}  (version {})",
        set.deny_count(),
        term_safe(&window_words(set)),
        set.hash
    );
    if let Some(fz) = set.frozen() {
        let head = format!(
            "{}: every operation is currently DENIED.",
            term_safe(&fz.words())
        );
        let _ = writeln!(
            out,
            "\n{} Lift it with F9 in the rule editor (`vmware-audit tui --edit`), or remove the marked block from the rules file.",
            Paint::Red.apply(&head, ctx.color),
        );
    }
    if let Some(reason) = unreadable {
        let _ = writeln!(
            out,
            "\n{} {}",
            Paint::Red.apply("Every operation is currently DENIED.", ctx.color),
            term_safe(reason)
        );
    }
}
