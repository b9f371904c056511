//! Where the headless commands read rows: this host's files, or the fleet's
//! PostgreSQL (`--source postgres://`). The filter, the output code and the
//! aggregates are the same for both.

use vmware_policy::audit::stats::{self, Bucket, Stats};
use vmware_policy::audit::{AuditRow, Filter, History, Order};

use super::common::{Ctx, sqlite_error};
use crate::fleet::connect::Target;
use crate::fleet::reader::FleetReader;

pub enum Source {
    Local(History, std::path::PathBuf),
    Fleet(Box<FleetReader>),
}

impl Ctx {
    /// The fleet's target, if `--source` names one.
    pub fn fleet_target(&self) -> Result<Option<Target>, String> {
        self.source.as_deref().map(Target::parse).transpose()
    }

    /// Open what `--source` names (else the local files), with one clear line
    /// for each failure.
    pub fn open_source(&self, archives: bool, filter: &Filter) -> Result<Source, String> {
        match self.fleet_target()? {
            Some(t) => Ok(Source::Fleet(Box::new(FleetReader::open(&t)?))),
            None => {
                self.local_filter(filter)?;
                Ok(Source::Local(self.open_history(archives)?, self.db.clone()))
            }
        }
    }

    /// A host filter on this host's own files would select nothing: say so.
    pub fn local_filter(&self, filter: &Filter) -> Result<(), String> {
        if self.source.is_none() && !(filter.hosts.is_empty() && filter.not_hosts.is_empty()) {
            return Err(
                "--host and --not-host filter the fleet's rows: add --source postgres://... \
                 (this host's own files have no host column)"
                    .into(),
            );
        }
        Ok(())
    }
}

impl Source {
    pub fn is_fleet(&self) -> bool {
        matches!(self, Source::Fleet(_))
    }

    /// Stream rows in `order` (ingest order for the fleet), at most `limit`,
    /// each lent (no allocation per local row).
    pub fn for_each(
        &self,
        filter: &Filter,
        order: Order,
        limit: Option<usize>,
        mut each: impl FnMut(&AuditRow) -> bool,
    ) -> Result<(), String> {
        match self {
            Source::Local(h, db) => h
                .for_each_ref(filter, order, limit, each)
                .map_err(|e| sqlite_error(&e, db)),
            Source::Fleet(f) => f.for_each(filter, order, limit, |_, r| each(&r)),
        }
    }

    pub fn stats(&self, filter: &Filter, bucket: Bucket) -> Result<Stats, String> {
        match self {
            Source::Local(h, db) => {
                // The first run on a large file builds its sidecar index.
                let mut line = super::progress::ProgressLine::new(db);
                stats::compute_with_progress(h, filter, bucket, &mut |d, t| line.tell(d, t))
                    .map_err(|e| sqlite_error(&e, db))
            }
            Source::Fleet(f) => f.stats(filter, bucket),
        }
    }

    /// Warn of filter values no row has (local files only: the check reads
    /// each file's distinct values).
    pub fn warn_unknown_values(&self, filter: &Filter) {
        if let Source::Local(h, _) = self {
            super::common::warn_unknown_values(filter, h);
        }
    }
}
