//! Which rows: one filter for every reader, whether typed as CLI flags or picked
//! in a TUI pane. It becomes SQL from fixed fragments, every value bound.

use rusqlite::types::Value as SqlValue;

/// A selection of audit rows. Each list means "any of these" (a flag given
/// twice); `not_*` lists exclude. Empty lists do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub skills: Vec<String>,
    pub tools: Vec<String>,
    pub statuses: Vec<String>,
    pub agents: Vec<String>,
    pub users: Vec<String>,
    pub risks: Vec<String>,
    pub surfaces: Vec<String>,
    pub workflow_ids: Vec<String>,
    pub correlation_ids: Vec<String>,
    pub not_skills: Vec<String>,
    pub not_tools: Vec<String>,
    pub not_statuses: Vec<String>,
    pub not_agents: Vec<String>,
    pub not_users: Vec<String>,
    pub not_risks: Vec<String>,
    /// The hosts a fleet row came from (`--host`); a local file's rows have
    /// none, so a host filter selects none of them.
    pub hosts: Vec<String>,
    pub not_hosts: Vec<String>,
    /// `ts >= since` (ISO-8601 text, compared as text, as the Python CLI does).
    pub since: Option<String>,
    /// `ts < until`.
    pub until: Option<String>,
    /// Only rows with `id > after_id` (tailing).
    pub after_id: Option<i64>,
    /// Only rows with `id < before_id` (paging back).
    pub before_id: Option<i64>,
    /// Only rows whose tool, params or result hold these characters in this
    /// order (ASCII letters in any case): what a fuzzy match needs at least,
    /// so SQLite can skip most rows before the TUI's fuzzy search scores them.
    pub in_order: Option<String>,
    /// Only rows whose tool, params or result contain this text (ASCII
    /// letters in any case): a substring search, which the sidecar's
    /// trigrams can answer without reading every row.
    pub contains: Option<String>,
}

/// `abc` as the LIKE pattern `%abc%`, `%`, `_` and `\` escaped with `\`.
fn contains_pattern(text: &str) -> String {
    like_pattern(text, false)
}

/// `text` as a LIKE pattern with `%` before and after it and, when
/// `between`, after each character; `%`, `_` and `\` escaped with `\`.
fn like_pattern(text: &str, between: bool) -> String {
    let mut p = String::with_capacity(text.len() * 2 + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
        if between {
            p.push('%');
        }
    }
    if !between {
        p.push('%');
    }
    p
}

/// Whether `hay` contains `needle`, ASCII case-insensitively (SQLite's LIKE
/// with [`contains_pattern`]).
fn holds(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

/// `abc` as the LIKE pattern `%a%b%c%`, `%`, `_` and `\` escaped with `\`.
fn in_order_pattern(text: &str) -> String {
    like_pattern(text, true)
}

/// Whether `hay` holds the characters of `needle` in order, ASCII case-insensitively
/// (what SQLite's LIKE does with [`in_order_pattern`]).
fn holds_in_order(hay: &str, needle: &str) -> bool {
    let mut want = needle.chars().peekable();
    for c in hay.chars() {
        match want.peek() {
            None => return true,
            Some(w) if w.eq_ignore_ascii_case(&c) => {
                want.next();
            }
            _ => {}
        }
    }
    want.peek().is_none()
}

/// Columns a filter may name; the only identifiers that ever reach SQL text.
const COLUMNS: [&str; 10] = [
    "skill",
    "tool",
    "status",
    "agent",
    "user",
    "risk_level",
    "surface",
    "workflow_id",
    "correlation_id",
    "host",
];

impl Filter {
    /// Whether the filter selects every row.
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    /// `WHERE ...` (or `""`) and the values to bind, in order. `present` lists
    /// the table's columns: a condition on a column an old database lacks
    /// compares its default (`''`), as the row would read.
    pub fn to_sql(&self, present: &[String]) -> (String, Vec<SqlValue>) {
        let mut clauses: Vec<String> = Vec::new();
        let mut values: Vec<SqlValue> = Vec::new();
        // Quoted: `user` is a keyword in PostgreSQL, which reads the same
        // clauses for the fleet.
        let col = |name: &'static str| -> String {
            debug_assert!(COLUMNS.contains(&name));
            if present.iter().any(|c| c == name) {
                format!("\"{name}\"")
            } else {
                "''".into()
            }
        };
        let mut any_of = |column: &'static str, list: &[String], negate: bool| {
            if list.is_empty() {
                return;
            }
            let marks = vec!["?"; list.len()].join(", ");
            let op = if negate { "NOT IN" } else { "IN" };
            clauses.push(format!("{} {op} ({marks})", col(column)));
            values.extend(list.iter().map(|v| SqlValue::Text(v.clone())));
        };
        let (tools, not_tools) = (
            self.tool_names(&self.tools),
            self.tool_names(&self.not_tools),
        );
        any_of("skill", &self.skills, false);
        any_of("tool", &tools, false);
        any_of("status", &self.statuses, false);
        any_of("agent", &self.agents, false);
        any_of("user", &self.users, false);
        any_of("risk_level", &self.risks, false);
        any_of("surface", &self.surfaces, false);
        any_of("workflow_id", &self.workflow_ids, false);
        any_of("correlation_id", &self.correlation_ids, false);
        any_of("skill", &self.not_skills, true);
        any_of("tool", &not_tools, true);
        any_of("status", &self.not_statuses, true);
        any_of("agent", &self.not_agents, true);
        any_of("user", &self.not_users, true);
        any_of("risk_level", &self.not_risks, true);
        any_of("host", &self.hosts, false);
        any_of("host", &self.not_hosts, true);
        if let Some(s) = &self.since {
            clauses.push("ts >= ?".into());
            values.push(SqlValue::Text(s.clone()));
        }
        if let Some(u) = &self.until {
            clauses.push("ts < ?".into());
            values.push(SqlValue::Text(u.clone()));
        }
        if let Some(a) = self.after_id {
            clauses.push("id > ?".into());
            values.push(SqlValue::Integer(a));
        }
        if let Some(b) = self.before_id {
            clauses.push("id < ?".into());
            values.push(SqlValue::Integer(b));
        }
        for pattern in [
            self.in_order.as_deref().map(in_order_pattern),
            self.contains.as_deref().map(contains_pattern),
        ]
        .into_iter()
        .flatten()
        {
            let any: Vec<&str> = ["tool", "params", "result"]
                .into_iter()
                .filter(|c| present.iter().any(|p| p == c))
                .collect();
            if any.is_empty() {
                clauses.push("0".into());
            } else {
                let likes: Vec<String> = any
                    .iter()
                    .map(|c| format!("{c} LIKE ? ESCAPE '\\'"))
                    .collect();
                clauses.push(format!("({})", likes.join(" OR ")));
                values.extend(any.iter().map(|_| SqlValue::Text(pattern.clone())));
            }
        }
        let sql = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };
        (sql, values)
    }

    /// The tool names a tool filter stands for: each name and what the 2.0
    /// renames made of it, so history is found under either name (Python's
    /// `all_names_for`: one skill filtered on narrows the renames to it).
    fn tool_names(&self, tools: &[String]) -> Vec<String> {
        let skill = match self.skills.as_slice() {
            [one] => Some(one.as_str()),
            _ => None,
        };
        let mut names: Vec<String> = tools
            .iter()
            .flat_map(|t| crate::renames::all_names_for(t, skill))
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Whether one row passes (for rows already in memory, e.g. a live tail).
    pub fn matches(&self, r: &super::AuditRow) -> bool {
        let any = |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x == v);
        let none = |list: &[String], v: &str| !list.iter().any(|x| x == v);
        let (tools, not_tools) = (
            self.tool_names(&self.tools),
            self.tool_names(&self.not_tools),
        );
        any(&self.skills, &r.skill)
            && any(&tools, &r.tool)
            && any(&self.statuses, &r.status)
            && any(&self.agents, &r.agent)
            && any(&self.users, &r.user)
            && any(&self.risks, &r.risk_level)
            && any(&self.surfaces, &r.surface)
            && any(&self.workflow_ids, &r.workflow_id)
            && any(&self.correlation_ids, &r.correlation_id)
            && none(&self.not_skills, &r.skill)
            && none(&not_tools, &r.tool)
            && none(&self.not_statuses, &r.status)
            && none(&self.not_agents, &r.agent)
            && none(&self.not_users, &r.user)
            && none(&self.not_risks, &r.risk_level)
            && any(&self.hosts, &r.host)
            && none(&self.not_hosts, &r.host)
            && self
                .since
                .as_ref()
                .is_none_or(|s| r.ts.as_str() >= s.as_str())
            && self
                .until
                .as_ref()
                .is_none_or(|u| r.ts.as_str() < u.as_str())
            && self.after_id.is_none_or(|a| r.id > a)
            && self.before_id.is_none_or(|b| r.id < b)
            && self.in_order.as_ref().is_none_or(|t| {
                [&r.tool, &r.params, &r.result]
                    .iter()
                    .any(|f| holds_in_order(f, t))
            })
            && self
                .contains
                .as_ref()
                .is_none_or(|t| [&r.tool, &r.params, &r.result].iter().any(|f| holds(f, t)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tool filter (a flag, a TUI picker, a live tail) finds rows under every
    /// name the 2.0 renames gave the tool, in SQL and in memory alike.
    #[test]
    fn a_tool_filter_reaches_both_names_of_a_renamed_tool() {
        let f = Filter {
            tools: vec!["delete_vm".into()],
            not_tools: vec!["pool_list".into()],
            skills: vec!["aiops".into()],
            ..Filter::default()
        };
        let (sql, values) = f.to_sql(&["skill".into(), "tool".into()]);
        assert!(sql.contains("\"tool\" IN (?, ?)"), "{sql}");
        assert!(values.contains(&SqlValue::Text("vm_delete".into())));
        let row = |tool: &str| crate::audit::AuditRow {
            skill: "aiops".into(),
            tool: tool.into(),
            ..Default::default()
        };
        assert!(f.matches(&row("vm_delete")) && f.matches(&row("delete_vm")));
        assert!(!f.matches(&row("list_vms")));
    }

    /// Every column a TUI picker offers can be excluded, in SQL and in memory.
    #[test]
    fn agents_users_and_risks_can_be_excluded() {
        let f = Filter {
            not_agents: vec!["codex".into()],
            not_users: vec!["token:ci".into()],
            not_risks: vec!["low".into(), "medium".into()],
            ..Filter::default()
        };
        let (sql, values) = f.to_sql(&["agent".into(), "user".into(), "risk_level".into()]);
        assert_eq!(
            sql,
            " WHERE \"agent\" NOT IN (?) AND \"user\" NOT IN (?) AND \"risk_level\" NOT IN (?, ?)"
        );
        assert_eq!(values.len(), 4);
        let row = |agent: &str, user: &str, risk: &str| crate::audit::AuditRow {
            agent: agent.into(),
            user: user.into(),
            risk_level: risk.into(),
            ..Default::default()
        };
        assert!(f.matches(&row("claude", "ops", "critical")));
        assert!(!f.matches(&row("codex", "ops", "critical")));
        assert!(!f.matches(&row("claude", "token:ci", "high")));
        assert!(!f.matches(&row("claude", "ops", "low")));
    }

    #[test]
    fn in_order_is_a_bound_like_pattern_with_wildcards_escaped() {
        let f = Filter {
            in_order: Some("d_l%".into()),
            ..Filter::default()
        };
        let (sql, values) = f.to_sql(&["tool".into(), "params".into(), "result".into()]);
        assert!(sql.contains("tool LIKE ? ESCAPE"));
        assert_eq!(values[0], SqlValue::Text("%d%\\_%l%\\%%".into()));
        assert!(holds_in_order("delete_pool", "DelPl"));
        assert!(!holds_in_order("delete_pool", "pd"));
    }

    /// SQLite's LIKE and `matches` agree on substrings too.
    #[test]
    fn contains_sql_and_memory_agree() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        for (hay, needle) in [
            ("delete_pool", "ETE_P"),
            ("delete_pool", "dlp"),
            ("100% done", "0% d"),
            ("100 done", "0% d"),
            ("a_b", "a_b"),
            ("axb", "a_b"),
            ("C:\\path", ":\\p"),
            ("", "x"),
            ("x", ""),
        ] {
            let sql: bool = conn
                .query_row(
                    "SELECT ?1 LIKE ?2 ESCAPE '\\'",
                    rusqlite::params![hay, contains_pattern(needle)],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(sql, holds(hay, needle), "{hay:?} {needle:?}");
        }
    }

    /// SQLite's LIKE and `matches` agree, wildcards in the text included.
    #[test]
    fn in_order_sql_and_memory_agree() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        for (hay, needle) in [
            ("delete_pool", "dlp"),
            ("delete_pool", "pld"),
            ("100% done", "0%d"),
            ("100 done", "0%d"),
            ("a_b", "a_b"),
            ("axb", "a_b"),
            ("C:\\path", ":\\p"),
            ("WEB-01", "web01"),
        ] {
            let sql: bool = conn
                .query_row(
                    "SELECT ?1 LIKE ?2 ESCAPE '\\'",
                    rusqlite::params![hay, in_order_pattern(needle)],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(sql, holds_in_order(hay, needle), "{hay:?} {needle:?}");
        }
    }

    #[test]
    fn values_are_bound_never_spliced() {
        let f = Filter {
            skills: vec!["avi".into(), "x' OR 1=1 --".into()],
            not_statuses: vec!["ok".into()],
            since: Some("2026-01-01".into()),
            ..Filter::default()
        };
        let (sql, values) = f.to_sql(&["skill".into(), "status".into()]);
        assert_eq!(
            sql,
            " WHERE \"skill\" IN (?, ?) AND \"status\" NOT IN (?) AND ts >= ?"
        );
        assert!(!sql.contains("OR 1=1"));
        assert_eq!(values.len(), 4);
        let (sql, _) = Filter {
            surfaces: vec!["cli".into()],
            ..Filter::default()
        }
        .to_sql(&[]);
        assert_eq!(sql, " WHERE '' IN (?)");
    }
}
