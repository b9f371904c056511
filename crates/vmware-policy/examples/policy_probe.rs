//! A reader for the save-under-load test: checks one operation in a loop with
//! a hot-reloading `PolicyEngine`, and reads the file directly too; prints
//! every rule name it sees change to, and any unreadable read, until it has
//! seen `stop` from both, or a minute passes.
//!
//! cargo run --example policy_probe -- RULES_PATH STOP_RULE [--engine-only RULES]
//!
//! With `--engine-only RULES`, only the hot-reloading engine is checked (files
//! written in place may be read half-written by a direct read), and every
//! rule set it holds must be whole: a user file with exactly RULES deny rules,
//! or the packaged baseline (the file was deleted); anything else is printed
//! as `PARTIAL`.

use std::io::Write;
use std::time::{Duration, Instant};

use vmware_policy::policy::{CallContext, PolicyEngine, load_rules};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(stop)) = (args.next(), args.next()) else {
        eprintln!("usage: policy_probe RULES_PATH STOP_RULE");
        std::process::exit(2);
    };
    let path = std::path::PathBuf::from(path);
    let whole: Option<usize> = match (args.next().as_deref(), args.next()) {
        (Some("--engine-only"), Some(n)) => n.parse().ok(),
        _ => None,
    };
    let engine = PolicyEngine::new(&path);
    let ctx = CallContext::default();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "ready");
    let _ = out.flush();
    let (mut last_engine, mut last_file) = (String::new(), String::new());
    let end = Instant::now() + Duration::from_secs(60);
    let mut checks = 0u64;
    while Instant::now() < end {
        checks += 1;
        if let Some(n) = whole {
            let set = engine.rules();
            let d = set.check("probe", &ctx);
            let ok = match set.source {
                vmware_policy::policy::Source::User => {
                    set.deny_count() == n && d.rule.starts_with('v')
                }
                vmware_policy::policy::Source::PackagedDefault => d.allowed,
                _ => false,
            };
            if !ok {
                let _ = writeln!(
                    out,
                    "PARTIAL {} rules, decision {}",
                    set.deny_count(),
                    d.rule
                );
            }
            if d.rule != last_engine {
                let _ = writeln!(out, "engine {}", d.rule);
                last_engine = d.rule.clone();
            }
            if last_engine == stop {
                let _ = writeln!(out, "done after {checks} checks");
                return;
            }
            continue;
        }
        let d = engine.check("probe", &ctx);
        if d.rule != last_engine {
            let _ = writeln!(out, "engine {}", d.rule);
            last_engine = d.rule.clone();
        }
        // A direct read, as a freshly started skill would do it.
        let set = load_rules(&path);
        if set.is_unreadable() {
            let _ = writeln!(out, "UNREADABLE {:?}", set.body);
        }
        let rule = set.check("probe", &ctx).rule;
        if rule != last_file {
            let _ = writeln!(out, "file {rule}");
            last_file = rule;
        }
        if last_engine == stop && last_file == stop {
            let _ = writeln!(out, "done after {checks} checks");
            return;
        }
    }
    let _ = writeln!(out, "timeout after {checks} checks");
    std::process::exit(3);
}
