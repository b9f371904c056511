//! One batch to the central database: one transaction that takes the ingest
//! lock, inserts the rows (a row already there is left alone), and commits.

use postgres::types::ToSql;
use vmware_policy::audit::AuditRow;

use crate::fleet::INGEST_LOCK;

const COLUMNS: &str = "host_id, db_uuid, row_id, ts, skill, tool, params, result, status, \
    duration_ms, agent, workflow_id, \"user\", risk_level, rationale, approved_by, risk_tier, \
    surface, correlation_id, role";
const PER_ROW: usize = 20;

/// Insert `rows` of the file `db_uuid` of `host`; returns the rows that were
/// new. Nothing is committed unless all are.
pub fn insert(
    client: &mut postgres::Client,
    host: &str,
    db_uuid: &str,
    rows: &[AuditRow],
) -> Result<u64, postgres::Error> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&INGEST_LOCK])?;
    let mut sql = format!("INSERT INTO vmware_audit_fleet ({COLUMNS}) VALUES ");
    let mut params: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(rows.len() * PER_ROW);
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            sql.push(',');
        }
        sql.push('(');
        for j in 0..PER_ROW {
            if j > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("${}", i * PER_ROW + j + 1));
        }
        sql.push(')');
        params.extend([
            &host as &(dyn ToSql + Sync),
            &db_uuid,
            &r.id,
            &r.ts,
            &r.skill,
            &r.tool,
            &r.params,
            &r.result,
            &r.status,
            &r.duration_ms,
            &r.agent,
            &r.workflow_id,
            &r.user,
            &r.risk_level,
            &r.rationale,
            &r.approved_by,
            &r.risk_tier,
            &r.surface,
            &r.correlation_id,
            &r.role,
        ]);
    }
    // No conflict target: a target would need SELECT on its columns, which
    // the ingest role does not have. The only unique key rows can clash on
    // is (host_id, db_uuid, row_id).
    sql.push_str(" ON CONFLICT DO NOTHING");
    let n = tx.execute(sql.as_str(), &params)?;
    tx.commit()?;
    Ok(n)
}

/// The last row of `db_uuid` committed centrally (0: none).
pub fn cursor(
    client: &mut postgres::Client,
    host: &str,
    db_uuid: &str,
) -> Result<i64, postgres::Error> {
    let row = client.query_one("SELECT vmware_audit_cursor($1, $2)", &[&host, &db_uuid])?;
    Ok(row.get(0))
}

/// Record rows lost before they were shipped.
pub fn gap(
    client: &mut postgres::Client,
    host: &str,
    db_uuid: &str,
    from: i64,
    to: Option<i64>,
    reason: &str,
) -> Result<(), postgres::Error> {
    client.execute(
        "INSERT INTO vmware_audit_gaps (host_id, db_uuid, from_id, to_id, reason) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        &[&host, &db_uuid, &from, &to, &reason],
    )?;
    Ok(())
}
