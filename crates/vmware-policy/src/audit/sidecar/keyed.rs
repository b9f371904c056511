//! The ids of the rows of each workflow and each correlation id: rare values
//! a filter names one at a time. Built when a filter first names one.

use std::collections::BTreeSet;

use rusqlite::params;

use super::super::filter::Filter;
use super::super::query::Reader;
use super::ranges::Ranges;
use super::{Sidecar, build, column, plain_chunk, text};

const WORKFLOW: i64 = 1;
const CORRELATION: i64 = 2;

impl Sidecar {
    /// The ids of the rows `filter`'s workflow and correlation ids can
    /// select (within 64 ids of each other taken as one range), and the id up
    /// to which that is known. `None` when it names neither (or names the
    /// empty id).
    pub(super) fn keyed_ranges(
        &self,
        reader: &Reader,
        filter: &Filter,
        progress: &mut dyn FnMut(u64, u64),
    ) -> rusqlite::Result<Option<(Ranges, i64)>> {
        let (w, c) = (&filter.workflow_ids, &filter.correlation_ids);
        // Rows with no id are not listed: a filter for the empty id reads all.
        if (w.is_empty() && c.is_empty()) || w.iter().chain(c).any(|v| v.is_empty()) {
            return Ok(None);
        }
        let to = self.update_keyed(reader, progress)?;
        let mut st = self
            .conn()
            .prepare_cached("SELECT id FROM keyed WHERE kind = ?1 AND value = ?2")?;
        let mut of = |kind: i64, values: &[String]| -> rusqlite::Result<Option<BTreeSet<i64>>> {
            if values.is_empty() {
                return Ok(None);
            }
            let mut ids = BTreeSet::new();
            for v in values {
                for id in st.query_map(params![kind, v], |r| r.get::<_, i64>(0))? {
                    ids.insert(id?);
                }
            }
            Ok(Some(ids))
        };
        let ids: Vec<i64> = match (
            of(WORKFLOW, &filter.workflow_ids)?,
            of(CORRELATION, &filter.correlation_ids)?,
        ) {
            (Some(a), Some(b)) => a.intersection(&b).copied().collect(),
            (Some(a), None) | (None, Some(a)) => a.into_iter().collect(),
            (None, None) => Vec::new(),
        };
        Ok(Some((
            Ranges::merged(ids.into_iter().map(|i| (i, i)), 64),
            to,
        )))
    }

    fn update_keyed(
        &self,
        reader: &Reader,
        progress: &mut dyn FnMut(u64, u64),
    ) -> rusqlite::Result<i64> {
        let (wf, cid) = (
            column(reader, "workflow_id"),
            column(reader, "correlation_id"),
        );
        // Column names are constants (or '' for one an old database lacks).
        let sql = format!(
            "SELECT id, {wf}, {cid} FROM audit_log WHERE id > ?1 AND id <= ?2 \
             AND (COALESCE({wf}, '') != '' OR COALESCE({cid}, '') != '')"
        );
        let mut read = reader.conn().prepare(&sql)?;
        build(
            self.conn(),
            reader,
            "keyed_to",
            plain_chunk,
            progress,
            |c, from, to| {
                let mut add =
                    c.prepare_cached("INSERT OR IGNORE INTO keyed VALUES (?1, ?2, ?3)")?;
                let mut rows = read.query(params![from, to])?;
                while let Some(r) = rows.next()? {
                    let id: i64 = r.get(0)?;
                    for (kind, i) in [(WORKFLOW, 1), (CORRELATION, 2)] {
                        let v = text(r.get_ref(i)?);
                        if !v.is_empty() {
                            add.execute(params![kind, v.as_ref(), id])?;
                        }
                    }
                }
                Ok(())
            },
        )
    }
}
