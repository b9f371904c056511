//! The data worker on the fleet's PostgreSQL (`tui --source postgres://`):
//! the same requests, answered from the central rows. The stream pages and
//! tails by ingest sequence (one "file" whose ids are that sequence), and the
//! ingest lock of the shippers means the tail never passes a row that
//! commits later. What reads this host's own log (the editor's replay and
//! blast radius) says so instead.

use std::time::Instant;

use vmware_policy::audit::Filter;
use vmware_policy::audit::stats::Bucket;

use super::data::{DbProblem, Pos, Request, Response, Row, ScanError, page};
use super::search::Search;
use crate::cli::source::Source;
use crate::fleet::connect::Target;
use crate::fleet::reader::FleetReader;
use vmware_policy::audit::tail::BATCH;

pub struct FleetDb {
    target: Target,
    /// The connection, once made (`Source::Fleet`).
    source: Option<Source>,
    /// The last ingest sequence the tail has handed over.
    tail: i64,
}

impl FleetDb {
    pub fn new(target: Target) -> FleetDb {
        FleetDb {
            target,
            source: None,
            tail: 0,
        }
    }

    /// Connect if need be; the tail starts after the rows there are now.
    fn ensure(&mut self) -> Result<&FleetReader, DbProblem> {
        if self.source.is_none() {
            let reader = FleetReader::open(&self.target).map_err(DbProblem::Unreadable)?;
            self.tail = reader.max_seq().map_err(DbProblem::Unreadable)?;
            self.source = Some(Source::Fleet(Box::new(reader)));
        }
        Ok(self.reader())
    }

    fn reader(&self) -> &FleetReader {
        match &self.source {
            Some(Source::Fleet(r)) => r,
            _ => unreachable!("ensure() made a fleet source"),
        }
    }
}

fn unreadable(e: ScanError) -> DbProblem {
    match e {
        ScanError::Fleet(e) => DbProblem::Unreadable(e),
        ScanError::Sqlite(e) => DbProblem::Unreadable(e.to_string()),
    }
}

pub fn handle(
    f: &mut FleetDb,
    req: Request,
    stale: &dyn Fn(u64) -> bool,
) -> Result<Option<Response>, DbProblem> {
    match req {
        Request::Page {
            generation,
            filter,
            search,
            anchor,
            limit,
        } => {
            if stale(generation) {
                return Ok(None);
            }
            let started = Instant::now();
            let newest = f.tail;
            let reader = f.ensure()?;
            let search = search.as_ref().and_then(|s| Search::compile(s).ok());
            let files = std::slice::from_ref(reader);
            match page(
                files,
                &filter,
                search.as_ref(),
                anchor,
                newest,
                limit,
                &|| stale(generation),
            ) {
                Ok(Some((rows, edge, exhausted))) => Ok(Some(Response::Page {
                    generation,
                    anchor,
                    rows,
                    edge,
                    exhausted,
                    took_ms: started.elapsed().as_millis() as u64,
                })),
                Ok(None) => Ok(None),
                Err(e) => Err(unreadable(e)),
            }
        }
        Request::Tail => {
            let after = f.tail;
            let reader = f.ensure()?;
            let rows = reader
                .after(after, &Filter::default(), BATCH)
                .map_err(DbProblem::Unreadable)?;
            if let Some((seq, _)) = rows.last() {
                f.tail = *seq;
            }
            let more = rows.len() >= BATCH;
            Ok(Some(Response::Tail {
                rows: rows
                    .into_iter()
                    .map(|(seq, row)| Row {
                        pos: Pos { file: 0, id: seq },
                        row,
                    })
                    .collect(),
                rotated: false,
                more,
            }))
        }
        Request::Stats {
            generation,
            filter,
            bucket,
        } => {
            if stale(generation) {
                return Ok(None);
            }
            let stats = f.ensure()?.stats(&filter, bucket);
            Ok(Some(Response::Stats { generation, stats }))
        }
        Request::Overview => Ok(Some(Response::Overview(
            f.ensure()?.stats(&Filter::default(), Bucket::Day),
        ))),
        Request::UserValues => Ok(Some(Response::UserValues(f.ensure()?.user_counts()))),
        Request::Locate { generation, ts } => {
            let at = f
                .ensure()?
                .last_seq_at_or_before(&ts)
                .map_err(DbProblem::Unreadable)?
                .map(|id| Pos { file: 0, id });
            Ok(Some(Response::Located { generation, ts, at }))
        }
        Request::Find {
            generation,
            filter,
            search,
            find,
            from,
            forward,
        } => {
            if stale(generation) {
                return Ok(None);
            }
            let newest = f.tail;
            let reader = f.ensure()?;
            let (Ok(find), search) = (
                Search::compile(&find),
                search.as_ref().and_then(|s| Search::compile(s).ok()),
            ) else {
                return Ok(None);
            };
            let found = super::paging::find(
                std::slice::from_ref(reader),
                &filter,
                &find,
                search.as_ref(),
                from,
                forward,
                newest,
                &|| stale(generation),
            );
            match found.map_err(unreadable)? {
                Some(at) => Ok(Some(Response::Found {
                    generation,
                    forward,
                    at,
                })),
                None => Ok(None),
            }
        }
        Request::Export {
            path,
            filter,
            search,
        } => {
            f.ensure()?;
            let source = f.source.as_ref().expect("ensured");
            Ok(Some(Response::Exported(
                super::export::to_file(source, &path, &filter, search.as_ref()).map(|n| (path, n)),
            )))
        }
        Request::Replay(_) => Ok(Some(Response::Replay {
            result: Err("replay reads this host's audit log: run the TUI without --source".into()),
        })),
        Request::BlastRadius { rev, text } => Ok(Some(Response::BlastRadius {
            rev,
            diagnostics: vmware_policy::policy::validate(&text),
        })),
        // The fleet holds every file of every host.
        Request::Archives(_) => Ok(None),
    }
}
