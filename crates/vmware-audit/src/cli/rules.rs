//! `vmware-audit rules`: validate a file, start one from the baseline, show
//! the rule set in force.

use std::io::Write;

use serde_json::json;
use vmware_policy::PolicyEngine;
use vmware_policy::policy::{BASELINE, Body, Severity, validate_bytes};
use vmware_policy::safe_text::{term_safe, to_json};

use super::args::RulesCommand;
use super::common::Ctx;
use super::output;
use super::policy::{source_words, window_words};
use super::style::Paint;

pub fn run(ctx: &Ctx, cmd: &RulesCommand) -> i32 {
    match cmd {
        RulesCommand::Validate { path, json } => {
            validate(ctx, path.as_deref().unwrap_or(&ctx.rules), *json)
        }
        RulesCommand::Init => init(ctx),
        RulesCommand::Show { json } => show(ctx, *json),
        RulesCommand::Keygen { prefix, name } => {
            super::rules_signed::keygen(prefix, name.as_deref())
        }
        RulesCommand::Sign {
            file,
            key,
            revision,
            expires,
            out,
        } => super::rules_signed::sign(file, key, *revision, expires, out.as_deref()),
        RulesCommand::Pull {
            url,
            sig_url,
            trust,
            every,
        } => super::rules_signed::pull(ctx, url, sig_url.as_deref(), trust, every.as_deref()),
    }
}

fn validate(ctx: &Ctx, path: &std::path::Path, json: bool) -> i32 {
    let bytes = match vmware_policy::policy::file::read_rules(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return output::fail(&format!(
                "no rules file at {} (the packaged baseline is in force; `vmware-audit rules init` creates one to edit)",
                path.display()
            ));
        }
        Err(e) => return output::fail(&format!("cannot read {}: {e}", path.display())),
    };
    let mut diags = validate_bytes(&bytes);
    if let (Ok(text), Ok(reader)) = (
        std::str::from_utf8(&bytes),
        vmware_policy::audit::Reader::open(&ctx.db),
    ) {
        vmware_policy::replay::add_blast_radius(&mut diags, text, &reader);
    }
    let errors = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let mut out = std::io::stdout().lock();
    if json {
        let _ = writeln!(
            out,
            "{}",
            to_json(
                &json!({"path": path.display().to_string(), "errors": errors, "diagnostics": diags}),
                true
            )
        );
    } else {
        for d in &diags {
            let sev = match d.severity {
                Severity::Error => Paint::Red.apply("error", ctx.color),
                Severity::Warning => Paint::Yellow.apply("warning", ctx.color),
            };
            let _ = writeln!(
                out,
                "{}:{}:{}: {sev}: {}",
                term_safe(&path.display().to_string()),
                d.line,
                d.column,
                term_safe(&d.message)
            );
        }
        if diags.is_empty() {
            let _ = writeln!(
                out,
                "{}: no problems",
                term_safe(&path.display().to_string())
            );
        }
    }
    i32::from(errors > 0)
}

/// Read at most a little over the rules size limit (the validator reports a bigger file).
fn init(ctx: &Ctx) -> i32 {
    let path = &ctx.rules;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Err(e) = vmware_policy::home::ensure_private_dir(dir)
    {
        return output::fail(&format!("cannot create {}: {e}", dir.display()));
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(mut f) => match f.write_all(BASELINE.as_bytes()).and_then(|_| f.sync_all()) {
            Ok(()) => {
                println!(
                    "wrote {} (the packaged baseline: it denies nothing; edit it, it is re-read automatically)",
                    path.display()
                );
                0
            }
            Err(e) => output::fail(&format!("cannot write {}: {e}", path.display())),
        },
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let _ = writeln!(
                std::io::stderr(),
                "vmware-audit: {} already exists; not overwriting it (edit it, or move it away first)",
                path.display()
            );
            1
        }
        Err(e) => output::fail(&format!("cannot create {}: {e}", path.display())),
    }
}

fn show(ctx: &Ctx, json: bool) -> i32 {
    let engine = PolicyEngine::without_watching(&ctx.rules);
    let set = engine.rules();
    let rules = match &set.body {
        Body::Rules(c) => c.describe(),
        _ => Vec::new(),
    };
    let reason = match &set.body {
        Body::Unreadable { reason } => Some(reason.clone()),
        _ => None,
    };
    let mut out = std::io::stdout().lock();
    if json {
        let doc = json!({
            "source": set.source.as_str(),
            "path": set.path.display().to_string(),
            "hash": set.hash,
            "error": reason,
            "frozen": set.frozen(),
            "deny": rules,
            "maintenance_window": window_words(&set),
        });
        let _ = writeln!(out, "{}", to_json(&doc, true));
        return i32::from(reason.is_some());
    }
    let _ = writeln!(
        out,
        "{} {}",
        Paint::Bold.apply("Rules in force:", ctx.color),
        term_safe(&source_words(&set, &ctx.rules))
    );
    if let Some(r) = &reason {
        let _ = writeln!(
            out,
            "{} {}",
            Paint::Red.apply("Every operation is DENIED:", ctx.color),
            term_safe(r)
        );
        return 1;
    }
    if let Some(fz) = set.frozen() {
        let _ = writeln!(
            out,
            "{}",
            Paint::Red.apply(
                &format!(
                    "{}: every operation is DENIED until the freeze is lifted (F9 in the rule editor, or remove the marked block).",
                    term_safe(&fz.words())
                ),
                ctx.color
            )
        );
    }
    if matches!(set.body, Body::Empty) {
        let _ = writeln!(
            out,
            "  no rules: every operation is allowed (rule no_rules)"
        );
    }
    for (i, r) in rules.iter().enumerate() {
        let list = |v: &Option<Vec<String>>, any: &str| match v {
            None => any.to_string(),
            Some(v) if v.is_empty() => "none (never matches)".to_string(),
            Some(v) => v
                .iter()
                .map(|p| term_safe(p).into_owned())
                .collect::<Vec<_>>()
                .join(", "),
        };
        let _ = writeln!(
            out,
            "\n{}. {} (line {})",
            i + 1,
            Paint::Bold.apply(&term_safe(&r.name), ctx.color),
            r.line
        );
        let _ = writeln!(out, "   operations:   {}", list(&r.operations, "any"));
        let _ = writeln!(out, "   environments: {}", list(&r.environments, "any"));
        if r.clients.is_some() {
            let _ = writeln!(out, "   clients:      {}", list(&r.clients, "any"));
        }
        if r.roles.is_some() {
            let _ = writeln!(out, "   roles:        {}", list(&r.roles, "any"));
        }
        if let Some(m) = &r.min_risk_level {
            let _ = writeln!(out, "   risk at least {}", term_safe(m));
        }
        let _ = writeln!(out, "   reason:       {}", term_safe(&r.reason));
        for p in &r.problems {
            let _ = writeln!(
                out,
                "   {} {}",
                Paint::Yellow.apply("problem:", ctx.color),
                term_safe(p)
            );
        }
    }
    let _ = writeln!(
        out,
        "\nmaintenance window: {}",
        term_safe(&window_words(&set))
    );
    0
}
