//! What would a rule change do? Evaluate audit rows under two rule sets (the
//! rules in force and an edited version) and report the calls whose decision
//! would change. Shared by the TUI's editor and usable from any reader.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::audit::{AuditRow, Filter, Order, Reader};
use crate::policy::{CallContext, RuleSet};

/// A call whose decision differs between the two rule sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub row: AuditRow,
    /// The rule that decides under the edited rules.
    pub rule: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub rows: u64,
    /// How many calls would be newly denied / newly allowed (complete).
    pub denied_count: u64,
    pub allowed_count: u64,
    /// Allowed by the rules in force, denied by the edited ones.
    pub newly_denied: Vec<Change>,
    /// Denied by the rules in force, allowed by the edited ones.
    pub newly_allowed: Vec<Change>,
    /// Per tool: (newly denied, newly allowed), most changes first.
    pub by_tool: Vec<(String, u64, u64)>,
    /// More changes than kept in the lists (the counts are complete).
    pub truncated: bool,
}

/// Changed calls kept per list (counts are always complete).
pub const KEEP: usize = 500;

/// The call a row records, as the engine sees it. The audit log has no
/// environment column: a call's `env` parameter stands for it when present
/// (as the Python skills pass it); the caller is local (no network client);
/// the row's time is the clock of the maintenance window.
pub fn context_of(row: &AuditRow) -> (String, Option<DateTime<Utc>>) {
    let env = serde_json::from_str::<serde_json::Value>(&row.params)
        .ok()
        .and_then(|v| v.get("env").and_then(|e| e.as_str()).map(str::to_string))
        .unwrap_or_default();
    let at = DateTime::parse_from_rfc3339(&row.ts)
        .ok()
        .map(|t| t.with_timezone(&Utc));
    (env, at)
}

/// The call context of `row`, with the `env` and clock [`context_of`] gave.
fn call_of<'a>(
    row: &'a AuditRow,
    env: &'a str,
    aliases: &'a [&'a str],
    at: Option<DateTime<Utc>>,
) -> CallContext<'a> {
    CallContext {
        env,
        risk_level: &row.risk_level,
        aliases,
        client: None,
        role: (!row.role.is_empty()).then_some(row.role.as_str()),
        at,
    }
}

/// Evaluate each row `filter` selects (newest first, at most `limit`) under
/// `before` and `after`. `stop` is polled to abandon a long replay.
pub fn replay(
    reader: &Reader,
    filter: &Filter,
    limit: usize,
    before: &RuleSet,
    after: &RuleSet,
    stop: &dyn Fn() -> bool,
) -> rusqlite::Result<Option<Report>> {
    let mut report = Report::default();
    let mut tools: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut stopped = false;
    reader.for_each(filter, Order::NewestFirst, Some(limit), |row| {
        report.rows += 1;
        if report.rows.is_multiple_of(4096) && stop() {
            stopped = true;
            return false;
        }
        let (env, at) = context_of(&row);
        let renamed = crate::renames::other_names(&row.skill, &row.tool);
        let aliases: Vec<&str> = renamed.iter().map(String::as_str).collect();
        let ctx = call_of(&row, &env, &aliases, at);
        let was = before.check(&row.tool, &ctx);
        let will = after.check(&row.tool, &ctx);
        if was.allowed == will.allowed {
            return true;
        }
        let e = tools.entry(row.tool.clone()).or_default();
        let list = if will.allowed {
            e.1 += 1;
            report.allowed_count += 1;
            &mut report.newly_allowed
        } else {
            e.0 += 1;
            report.denied_count += 1;
            &mut report.newly_denied
        };
        if list.len() < KEEP {
            list.push(Change {
                rule: will.rule.clone(),
                reason: will.reason.clone(),
                row,
            });
        } else {
            report.truncated = true;
        }
        true
    })?;
    if stopped {
        return Ok(None);
    }
    let mut by_tool: Vec<(String, u64, u64)> =
        tools.into_iter().map(|(t, (d, a))| (t, d, a)).collect();
    by_tool.sort_by(|a, b| (b.1 + b.2).cmp(&(a.1 + a.2)).then_with(|| a.0.cmp(&b.0)));
    report.by_tool = by_tool;
    Ok(Some(report))
}

/// How many of the newest `limit` calls deny rule `index` of `set` would deny
/// on its own: `(denied, calls read)`. The blast radius of a rule a typo has
/// widened, shown by `rules validate` and the editor.
pub fn rule_reach(
    reader: &Reader,
    set: &RuleSet,
    index: usize,
    limit: usize,
) -> rusqlite::Result<(u64, u64)> {
    let (mut denied, mut rows) = (0u64, 0u64);
    reader.for_each(&Filter::default(), Order::NewestFirst, Some(limit), |row| {
        rows += 1;
        let (env, at) = context_of(&row);
        let renamed = crate::renames::other_names(&row.skill, &row.tool);
        let aliases: Vec<&str> = renamed.iter().map(String::as_str).collect();
        let ctx = call_of(&row, &env, &aliases, at);
        denied += u64::from(set.rule_denies(index, &row.tool, &ctx));
        true
    })?;
    Ok((denied, rows))
}

/// Calls read for a blast radius.
pub const REACH_ROWS: usize = 10_000;

/// Add the blast radius to each diagnostic that widens a rule: "over the last
/// N calls in the audit log, this rule would now deny M". Best effort: without
/// a readable audit log the diagnostics stay as they are.
pub fn add_blast_radius(diags: &mut [crate::policy::Diagnostic], text: &str, reader: &Reader) {
    if !diags.iter().any(|d| d.widens_rule.is_some()) {
        return;
    }
    let set = RuleSet::from_bytes(
        text.as_bytes(),
        std::path::Path::new("rules.yaml"),
        crate::policy::Source::User,
    );
    let mut memo: BTreeMap<usize, Option<(u64, u64)>> = BTreeMap::new();
    for d in diags.iter_mut() {
        let Some(index) = d.widens_rule else { continue };
        let reach = *memo
            .entry(index)
            .or_insert_with(|| rule_reach(reader, &set, index, REACH_ROWS).ok());
        if let Some((denied, rows)) = reach {
            d.message.push_str(&format!(
                " (blast radius: of the last {rows} calls in the audit log, this rule as written would deny {denied})"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditEngine, Record};
    use crate::policy::Source;
    use std::path::Path;

    fn rules(text: &str) -> RuleSet {
        RuleSet::from_bytes(text.as_bytes(), Path::new("rules.yaml"), Source::User)
    }

    #[test]
    fn lists_calls_whose_decision_would_change() {
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join("audit.db");
        let e = AuditEngine::new(&db);
        for (tool, env, status) in [
            ("delete_vm", "production", "ok"),
            ("delete_vm", "lab", "ok"),
            ("list_vms", "production", "ok"),
            ("power_off_vm", "production", "denied"),
        ] {
            e.append(Record {
                skill: "vsphere".into(),
                tool: tool.into(),
                params: format!("{{\"env\": \"{env}\"}}"),
                status: status.into(),
                risk_level: "high".into(),
                ..Record::default()
            });
        }
        let before = rules("deny:\n  - name: no-power\n    operations: [power_off_vm]\n");
        let after = rules(
            "deny:\n  - name: no-prod-deletes\n    operations: [\"delete_*\"]\n    environments: [production]\n    reason: not in prod\n",
        );
        let r = Reader::open(&db).unwrap();
        let rep = replay(&r, &Filter::default(), 100, &before, &after, &|| false)
            .unwrap()
            .unwrap();
        assert_eq!(rep.rows, 4);
        assert_eq!(rep.newly_denied.len(), 1);
        assert_eq!((rep.denied_count, rep.allowed_count), (1, 1));
        assert_eq!(rep.newly_denied[0].row.tool, "delete_vm");
        assert_eq!(rep.newly_denied[0].rule, "no-prod-deletes");
        assert_eq!(rep.newly_allowed.len(), 1);
        assert_eq!(rep.newly_allowed[0].row.tool, "power_off_vm");
        assert_eq!(rep.by_tool.len(), 2);
        assert!(
            replay(&r, &Filter::default(), 100, &before, &before, &|| false)
                .unwrap()
                .unwrap()
                .newly_denied
                .is_empty()
        );
    }
}
