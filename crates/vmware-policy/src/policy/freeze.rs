//! The emergency freeze: a deny-all rule put first in the rules, marked so it
//! is recognisable (and removable) and saying who froze and when. Every skill,
//! Rust or Python, obeys it on its next call.

use chrono::{DateTime, Utc};

/// The freeze rule's name.
pub const NAME: &str = "emergency-freeze";
const BEGIN: &str = "# --- emergency freeze (vmware-audit; remove this block to unfreeze) ---";
const END: &str = "# --- end of emergency freeze ---";
/// Inside the block: a line the freeze replaced, given back on unfreeze.
const WAS: &str = "# replaced by the freeze: ";

/// Who froze the rules in force, and since when (as the freeze rule's reason
/// says it): shown as prominently as an unreadable file by every header.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Frozen {
    pub by: String,
    /// `YYYY-MM-DD HH:MM` UTC, or "?" when the reason was edited.
    pub since: String,
}

impl Frozen {
    /// "FROZEN by alice since 2026-12-01 10:00 UTC".
    pub fn words(&self) -> String {
        format!("FROZEN by {} since {} UTC", self.by, self.since)
    }
}

impl super::rules::RuleSet {
    /// The freeze in force: a deny rule named [`NAME`] in a rule set that loads.
    pub fn frozen(&self) -> Option<Frozen> {
        let super::rules::Body::Rules(c) = &self.body else {
            return None;
        };
        let rule = c.deny.iter().find(|r| r.name == NAME)?;
        let rest = rule.reason.strip_prefix("Emergency freeze by ");
        let (by, since) = rest
            .and_then(|r| r.split_once(" at "))
            .map(|(by, at)| {
                (
                    by.to_string(),
                    at.split(" UTC").next().unwrap_or("?").to_string(),
                )
            })
            .unwrap_or_else(|| ("?".into(), "?".into()));
        Some(Frozen { by, since })
    }
}

/// Whether `text` holds the freeze block.
pub fn is_frozen(text: &str) -> bool {
    text.lines().any(|l| l.trim() == BEGIN)
}

/// `text` with the freeze rule first in `deny:` (added when absent). Errors
/// when the file's `deny:` is not a block list this can add to safely.
pub fn freeze(text: &str, who: &str, at: DateTime<Utc>) -> Result<String, String> {
    let out = add_block(text, who, at)?;
    verify(&out)?;
    Ok(out)
}

/// The frozen text must, once loaded as every engine loads it, deny every
/// call by the freeze rule. A file with two `deny:` keys, say, gets the block
/// under the first while YAML keeps the last: the freeze would do nothing
/// while the TUI said FROZEN. Refuse, and say why, rather than pretend.
fn verify(frozen: &str) -> Result<(), String> {
    use super::decide::{CallContext, NoTrace, evaluate_rules};
    use super::rules::{Body, RISK_LEVELS, RuleSet, Source};
    let set = RuleSet::from_bytes(
        frozen.as_bytes(),
        std::path::Path::new("rules.yaml"),
        Source::User,
    );
    let compiled = match &set.body {
        Body::Rules(c) => c,
        Body::Unreadable { reason } => {
            return Err(format!(
                "the file would not load once frozen, so the freeze was not saved: {reason}"
            ));
        }
        Body::Empty => {
            return Err(
                "the file would load to nothing once frozen; the freeze was not saved".into(),
            );
        }
    };
    for op in ["list_vms", "delete_vm", "power_off_vm", "x"] {
        for risk in RISK_LEVELS {
            for env in ["", "production"] {
                for client in [None, Some("agent")] {
                    let call = CallContext {
                        env,
                        risk_level: risk,
                        client,
                        ..CallContext::default()
                    };
                    let d = evaluate_rules(compiled, &set, op, &call, &mut NoTrace);
                    if d.allowed || d.rule != NAME {
                        return Err(format!(
                            "once frozen, `{op}` ({risk}{}) would be {} by rule '{}', not denied by the freeze \
                             (is `deny:` written twice? YAML keeps only the last one); the freeze was not saved: \
                             fix the file, or freeze by putting a deny-all rule first by hand",
                            if env.is_empty() {
                                String::new()
                            } else {
                                format!(", {env}")
                            },
                            if d.allowed { "allowed" } else { "decided" },
                            d.rule
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

fn add_block(text: &str, who: &str, at: DateTime<Utc>) -> Result<String, String> {
    if is_frozen(text) {
        return Ok(text.to_string());
    }
    let who: String = who
        .chars()
        .filter(|c| c.is_alphanumeric() || "-_.@".contains(*c))
        .take(64)
        .collect();
    let reason = format!(
        "Emergency freeze by {} at {} UTC: every operation is denied until it is lifted",
        if who.is_empty() { "an operator" } else { &who },
        at.format("%Y-%m-%d %H:%M")
    );
    let block = |indent: &str| {
        format!(
            "{indent}{BEGIN}\n{indent}- name: {NAME}\n{indent}  operations: [\"*\"]\n{indent}  reason: \"{reason}\"\n{indent}{END}\n"
        )
    };
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    // `deny: []` (no rules yet): the block replaces the line and keeps it, to
    // be given back on unfreeze.
    if let Some(i) = lines.iter().position(|l| l.trim_end() == "deny: []") {
        let mut s: String = lines[..i].concat();
        s.push_str(&format!("{BEGIN}\n{WAS}{}\ndeny:\n", lines[i].trim_end()));
        s.push_str(&block("  ").replacen(&format!("  {BEGIN}\n"), "", 1));
        s.push_str(&lines[i + 1..].concat());
        return Ok(s);
    }
    let deny = lines.iter().position(|l| {
        let t = l.trim_end();
        t == "deny:" || (t.starts_with("deny:") && t[5..].trim_start().starts_with('#'))
    });
    let out = match deny {
        None => {
            if lines.iter().any(|l| l.starts_with("deny:")) {
                return Err(
                    "`deny:` is not a block list (`deny:` then `- name:` items); \
                            freeze by hand or rewrite it as a block list"
                        .into(),
                );
            }
            let mut s = text.to_string();
            if !s.is_empty() && !s.ends_with('\n') {
                s.push('\n');
            }
            // The `deny:` key goes inside the block: left behind alone it would
            // be a null `deny:`, which denies everything.
            s.push_str(&format!("{BEGIN}\ndeny:\n"));
            s.push_str(&block("  ").replacen(&format!("  {BEGIN}\n"), "", 1));
            s
        }
        Some(i) => {
            // Indent as the first item does (or two spaces).
            let indent = lines[i + 1..]
                .iter()
                .find(|l| l.trim_start().starts_with('-'))
                .map(|l| l[..l.len() - l.trim_start().len()].to_string())
                .unwrap_or_else(|| "  ".into());
            let mut s: String = lines[..=i].concat();
            if !s.ends_with('\n') {
                s.push('\n');
            }
            s.push_str(&block(&indent));
            s.push_str(&lines[i + 1..].concat());
            s
        }
    };
    Ok(out)
}

/// `text` without the freeze block; `None` when it has none.
pub fn unfreeze(text: &str) -> Option<String> {
    if !is_frozen(text) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut inside = false;
    for l in text.split_inclusive('\n') {
        let t = l.trim();
        if t == BEGIN {
            inside = true;
        } else if inside && t.starts_with(WAS) {
            out.push_str(&t[WAS.len()..]);
            out.push('\n');
        } else if inside && t == END {
            inside = false;
        } else if !inside {
            out.push_str(l);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{CallContext, PolicyEngine};

    fn denies_everything(text: &str) -> bool {
        let e = PolicyEngine::from_text(text, "rules.yaml");
        ["list_vms", "get_alerts", "anything"].iter().all(|op| {
            let d = e.check(op, &CallContext::default());
            !d.allowed && d.rule == NAME
        })
    }

    #[test]
    fn freeze_goes_first_and_unfreeze_gives_the_file_back() {
        let at = DateTime::parse_from_rfc3339("2026-11-22T03:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        for original in [
            "deny:\n  - name: a\n    operations: [\"delete_*\"]\nmaintenance_window:\n  start: \"22:00\"\n  end: \"06:00\"\n",
            "# comment\ndeny:   # the rules\n    - name: a\n      operations: [x]\n",
            "maintenance_window:\n  start: \"22:00\"\n  end: \"06:00\"\n",
            "",
            "deny:\n",
            "deny: []\nmaintenance_window:\n  start: \"22:00\"\n  end: \"06:00\"\n",
        ] {
            let frozen = freeze(original, "alice", at).unwrap();
            assert!(is_frozen(&frozen));
            assert!(denies_everything(&frozen), "{frozen}");
            assert!(
                crate::policy::validate(&frozen)
                    .iter()
                    .all(|d| d.severity != crate::policy::Severity::Error),
                "{frozen}"
            );
            assert!(frozen.contains("by alice at 2026-11-22 03:00 UTC"));
            assert_eq!(
                freeze(&frozen, "bob", at).unwrap(),
                frozen,
                "freezing twice is once"
            );
            let back = unfreeze(&frozen).unwrap();
            assert_eq!(back, original);
        }
    }

    #[test]
    fn a_flow_list_is_refused_rather_than_broken() {
        let at = Utc::now();
        assert!(freeze("deny: [{name: a, operations: [x]}]\n", "x", at).is_err());
        assert_eq!(unfreeze("deny: []\n"), None);
    }
}
