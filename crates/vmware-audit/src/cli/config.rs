//! `vmware-audit config`: the TUI's effective configuration, where it comes
//! from, and what is wrong in it.

use vmware_policy::safe_text::term_safe;

use crate::config::{self, keys};
use crate::tui::keymap;

pub fn run() -> i32 {
    let path = config::path();
    let cfg = config::load(&path);
    println!(
        "# {} ({})",
        term_safe(&path.display().to_string()),
        if cfg.exists {
            "read"
        } else {
            "not found: the defaults are in use"
        }
    );
    for p in &cfg.problems {
        println!("# problem: {}", term_safe(p));
    }
    keymap::set_overrides(cfg.keys.clone());
    let map = keymap::bindings();
    println!("\n[keys]");
    for (name, action) in keys::actions() {
        let key = map
            .iter()
            .find(|b| b.action == action)
            .map(|b| keymap::describe(b.trigger))
            .unwrap_or_else(|| "(none)".into());
        let changed = if cfg.keys.contains_key(name) {
            ""
        } else {
            "  # default"
        };
        println!("{name} = {:?}{changed}", term_safe(&key));
    }
    println!("\n[theme]");
    println!("color = {}", cfg.color.unwrap_or(true));
    let p = cfg.palette;
    for (role, c) in [
        ("accent", p.accent),
        ("good", p.good),
        ("warn", p.warn),
        ("bad", p.bad),
        ("highlight", p.highlight),
    ] {
        println!("{role} = \"{}\"", c.to_string().to_lowercase());
    }
    for (name, f) in &cfg.filters {
        println!("\n[filters.{}]", term_safe(name));
        for (key, values) in [
            ("surface", &f.surface),
            ("workflow_id", &f.workflow_id),
            ("correlation_id", &f.correlation_id),
            ("skill", &f.skill),
            ("tool", &f.tool),
            ("status", &f.status),
            ("agent", &f.agent),
            ("user", &f.user),
            ("risk", &f.risk),
            ("not_skill", &f.not_skill),
            ("not_tool", &f.not_tool),
            ("not_status", &f.not_status),
            ("not_agent", &f.not_agent),
            ("not_user", &f.not_user),
            ("not_risk", &f.not_risk),
        ] {
            if !values.is_empty() {
                println!("{key} = {}", term_safe(&format!("{values:?}")));
            }
        }
        for (key, v) in [("since", &f.since), ("until", &f.until)] {
            if let Some(v) = v {
                println!("{key} = {}", term_safe(&format!("{v:?}")));
            }
        }
    }
    if cfg.problems.is_empty() { 0 } else { 1 }
}
