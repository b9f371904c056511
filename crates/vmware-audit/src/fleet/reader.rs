//! Reading the fleet (`--source postgres://`): rows in ingest order through
//! the local filter, aggregates through the same tally as a local file, and
//! the follow of new rows by ingest sequence.

use std::cell::RefCell;

use vmware_policy::audit::stats::{Bucket, Group, Stats, Tally};
use vmware_policy::audit::{AuditRow, Filter, Order};

use super::connect::{Target, explain};
use super::sql::{self, SELECT, refs, where_clause};

/// Rows fetched per round trip while streaming.
const FETCH: i32 = 1000;

pub struct FleetReader {
    /// `None` after the connection was lost: the next call connects again.
    client: RefCell<Option<postgres::Client>>,
    pub target: Target,
}

impl FleetReader {
    /// Connect, and check the schema is there.
    pub fn open(target: &Target) -> Result<FleetReader, String> {
        let mut client = target.connect()?;
        let found: bool = client
            .query_one("SELECT to_regclass('vmware_audit_log') IS NOT NULL", &[])
            .map_err(|e| explain(&e))?
            .get(0);
        if !found {
            return Err(format!(
                "{}: no fleet schema there (create it with `vmware-audit ship --init-schema --to ...`)",
                target.shown
            ));
        }
        Ok(FleetReader {
            client: RefCell::new(Some(client)),
            target: target.clone(),
        })
    }

    fn fail(&self, e: &postgres::Error) -> String {
        format!("{}: {}", self.target.shown, explain(e))
    }

    /// Run `f` on the connection, connecting again if it was lost (a server
    /// restart): a follow or a TUI rides out the outage.
    fn with<T>(
        &self,
        f: impl FnOnce(&mut postgres::Client) -> Result<T, postgres::Error>,
    ) -> Result<T, String> {
        let mut slot = self.client.borrow_mut();
        if slot.as_ref().is_none_or(|c| c.is_closed()) {
            *slot = Some(self.target.connect()?);
        }
        let client = slot.as_mut().expect("connected above");
        let result = f(client).map_err(|e| self.fail(&e));
        if result.is_err() && client.is_closed() {
            *slot = None;
        }
        result
    }

    /// Stream the rows `filter` selects in ingest `order`, at most `limit`, to
    /// `each(ingest_seq, row)` (false stops). Constant memory: a cursor is
    /// read a thousand rows at a time.
    pub fn for_each(
        &self,
        filter: &Filter,
        order: Order,
        limit: Option<usize>,
        mut each: impl FnMut(i64, AuditRow) -> bool,
    ) -> Result<(), String> {
        let (clause, mut params) = where_clause(filter, 1);
        let dir = match order {
            Order::NewestFirst => "DESC",
            Order::OldestFirst => "ASC",
        };
        // The limit is bound too (LIMIT NULL is no limit).
        let n = params.len() + 1;
        params.push(Box::new(limit.map(|l| l.min(i64::MAX as usize) as i64)));
        let q = format!("{SELECT}{clause} ORDER BY id {dir} LIMIT ${n}");
        self.with(|client| {
            let mut tx = client.transaction()?;
            let portal = tx.bind(q.as_str(), &refs(&params))?;
            loop {
                let rows = tx.query_portal(&portal, FETCH)?;
                if rows.is_empty() {
                    break;
                }
                for r in &rows {
                    let (seq, row) = sql::row(r);
                    if !each(seq, row) {
                        return Ok(());
                    }
                }
            }
            Ok(())
        })
    }

    /// The newest `limit` rows, newest first.
    pub fn latest(&self, filter: &Filter, limit: usize) -> Result<Vec<AuditRow>, String> {
        let mut out = Vec::new();
        self.for_each(filter, Order::NewestFirst, Some(limit), |_, r| {
            out.push(r);
            true
        })?;
        Ok(out)
    }

    /// The highest ingest sequence committed (0: none).
    pub fn max_seq(&self) -> Result<i64, String> {
        self.with(|c| {
            c.query_one("SELECT COALESCE(MAX(id), 0) FROM vmware_audit_log", &[])
                .map(|r| r.get(0))
        })
    }

    /// Rows committed after `seq`, oldest first, at most `limit` (the follow:
    /// ingest is serialized, so nothing commits later below the newest seen).
    pub fn after(
        &self,
        seq: i64,
        filter: &Filter,
        limit: usize,
    ) -> Result<Vec<(i64, AuditRow)>, String> {
        let f = Filter {
            after_id: Some(seq),
            ..filter.clone()
        };
        let mut out = Vec::new();
        self.for_each(&f, Order::OldestFirst, Some(limit), |s, r| {
            out.push((s, r));
            true
        })?;
        Ok(out)
    }

    /// Totals by status, skill, tool, agent, risk, host and time bucket,
    /// grouped by PostgreSQL and counted by the local tally.
    pub fn stats(&self, filter: &Filter, bucket: Bucket) -> Result<Stats, String> {
        let (clause, mut params) = where_clause(filter, 2);
        params.insert(0, Box::new(bucket.prefix_len() as i32));
        let q = format!(
            "SELECT status, skill, tool, agent, risk_level, substr(ts, 1, $1), host, COUNT(*) \
             FROM vmware_audit_log{clause} GROUP BY 1, 2, 3, 4, 5, 6, 7"
        );
        let rows = self.with(|c| c.query(q.as_str(), &refs(&params)))?;
        let mut tally = Tally::default();
        for r in &rows {
            let text = |i: usize| r.get::<_, Option<String>>(i).unwrap_or_default();
            let (status, skill, tool, agent, risk, b, host) = (
                text(0),
                text(1),
                text(2),
                text(3),
                text(4),
                text(5),
                text(6),
            );
            tally.add(Group {
                status: &status,
                skill: &skill,
                tool: &tool,
                agent: &agent,
                risk: &risk,
                bucket: &b,
                host: &host,
                n: r.get::<_, i64>(7).max(0) as u64,
            });
        }
        Ok(tally.finish())
    }

    /// Each user and how many rows it has, most first (at most 1,000).
    pub fn user_counts(&self) -> Result<Vec<(String, u64)>, String> {
        let rows = self.with(|c| {
            c.query(
                "SELECT \"user\", COUNT(*) FROM vmware_audit_log GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1000",
                &[],
            )
        })?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1).max(0) as u64))
            .collect())
    }

    /// The ingest sequence of the newest row at or before `ts` (a jump),
    /// found on the (ts, ingest_seq) index.
    pub fn last_seq_at_or_before(&self, ts: &str) -> Result<Option<i64>, String> {
        self.with(|c| {
            c.query_opt(
                "SELECT id FROM vmware_audit_log WHERE ts <= $1 ORDER BY ts DESC, id DESC LIMIT 1",
                &[&ts],
            )
            .map(|r| r.map(|r| r.get(0)))
        })
    }
}
