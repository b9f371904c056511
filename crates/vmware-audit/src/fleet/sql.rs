//! The local filter, read by PostgreSQL: the same clauses
//! (`Filter::to_sql`) over the fleet's view, whose columns are named as a
//! local `audit_log`'s (`id` is the ingest order, `host` the host), with the
//! placeholders numbered and LIKE as ILIKE (SQLite's LIKE ignores ASCII
//! case). Every value stays bound.

use postgres::types::ToSql;
use rusqlite::types::Value as SqlValue;
use vmware_policy::audit::{AuditRow, Filter};

/// The view's columns a filter may name (all of them, `host` too).
pub fn columns() -> Vec<String> {
    let mut c: Vec<String> = vmware_policy::audit::schema::COLUMNS
        .iter()
        .map(|s| s.to_string())
        .collect();
    c.push("host".into());
    c
}

/// What a row query selects, in [`row`]'s order.
pub const SELECT: &str = "SELECT id, row_id, ts, skill, tool, params, result, status, \
    duration_ms, agent, workflow_id, \"user\", risk_level, rationale, approved_by, risk_tier, \
    surface, correlation_id, role, host FROM vmware_audit_log";

pub type Params = Vec<Box<dyn ToSql + Sync>>;

/// ` WHERE ...` with `$first`.. placeholders, and its values.
pub fn where_clause(filter: &Filter, first: usize) -> (String, Params) {
    let (sql, values) = filter.to_sql(&columns());
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = first;
    for c in sql.chars() {
        if c == '?' {
            out.push_str(&format!("${n}"));
            n += 1;
        } else {
            out.push(c);
        }
    }
    let out = out.replace(" LIKE ", " ILIKE ");
    let params = values
        .into_iter()
        .map(|v| -> Box<dyn ToSql + Sync> {
            match v {
                SqlValue::Integer(i) => Box::new(i),
                SqlValue::Text(t) => Box::new(t),
                SqlValue::Real(f) => Box::new(f),
                SqlValue::Null => Box::new(Option::<String>::None),
                SqlValue::Blob(b) => Box::new(String::from_utf8_lossy(&b).into_owned()),
            }
        })
        .collect();
    (out, params)
}

/// Borrowed, as the client takes them.
pub fn refs(p: &Params) -> Vec<&(dyn ToSql + Sync)> {
    p.iter().map(|b| b.as_ref()).collect()
}

/// (ingest_seq, the row as the host wrote it, with its host).
pub fn row(r: &postgres::Row) -> (i64, AuditRow) {
    (
        r.get(0),
        AuditRow {
            id: r.get(1),
            ts: r.get(2),
            skill: r.get(3),
            tool: r.get(4),
            params: r.get(5),
            result: r.get(6),
            status: r.get(7),
            duration_ms: r.get(8),
            agent: r.get(9),
            workflow_id: r.get(10),
            user: r.get(11),
            risk_level: r.get(12),
            rationale: r.get(13),
            approved_by: r.get(14),
            risk_tier: r.get(15),
            surface: r.get(16),
            correlation_id: r.get(17),
            role: r.get(18),
            host: r.get(19),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_and_every_value_bound() {
        let f = Filter {
            statuses: vec!["denied".into(), "x'); DROP TABLE t; --".into()],
            users: vec!["alice".into()],
            hosts: vec!["web1".into()],
            after_id: Some(7),
            in_order: Some("del".into()),
            ..Filter::default()
        };
        let (sql, params) = where_clause(&f, 1);
        assert!(sql.contains("\"status\" IN ($1, $2)"), "{sql}");
        assert!(sql.contains("\"user\" IN ($3)"), "{sql}");
        assert!(sql.contains("\"host\" IN ($4)"), "{sql}");
        assert!(sql.contains("id > $5"), "{sql}");
        assert!(sql.contains("ILIKE $6"), "{sql}");
        assert!(!sql.contains('?') && !sql.contains("DROP"), "{sql}");
        assert_eq!(params.len(), 8);
    }
}
