//! Everything the TUI shows, as plain data. Drawing reads it and nothing
//! else; [`App::update`](crate::tui::update) is the only place it changes.

pub mod filters;
pub mod picker;
pub mod stream;

use chrono::{DateTime, Utc};
use vmware_policy::audit::{AuditRow, Stats};
use vmware_policy::policy::Window;
use vmware_policy::policy::rules::{Body, RuleSet};

use super::data::DbProblem;
use super::keymap::Context;
use super::search::Search;
pub use filters::Filters;
pub use picker::Picker;
pub use stream::Stream;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pane {
    #[default]
    Stream,
    Stats,
    /// The rule editor, with the stream beside it.
    Editor,
}

/// What covers the pane, if anything.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Overlay {
    #[default]
    None,
    Help {
        scroll: usize,
    },
    Picker(Picker),
    /// The search being typed, and its mode (`Ctrl-r` cycles it).
    Search(super::search::SearchSpec),
    /// The file the view is exported to, being typed (`x`).
    Export(String),
    /// The time to jump to, being typed (`J`).
    Jump(String),
    /// An absolute range, `SINCE [UNTIL]` as `log` takes them, being typed (`T`).
    Range(String),
    Detail(Box<Detail>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Detail {
    pub row: AuditRow,
    pub scroll: usize,
}

/// The maintenance window as the header shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowInfo {
    Absent,
    Valid { start: i64, end: i64, text: String },
    Malformed(String),
}

/// A snapshot of the rule set in force, taken from the TUI's own policy
/// engine (which reloads through the same watcher every skill uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesInfo {
    pub source: String,
    pub path: String,
    pub hash: String,
    pub loaded_at: DateTime<Utc>,
    pub deny_rules: usize,
    /// Why everything is denied, when the file does not load.
    pub unreadable: Option<String>,
    pub window: WindowInfo,
    /// The emergency freeze rule is in force: by whom, since when.
    pub frozen: Option<vmware_policy::policy::freeze::Frozen>,
    /// Permission problems of the rules file or its directory.
    pub warnings: Vec<String>,
    /// `change_limits:` is set, and (as in Python) not enforced.
    pub change_limits: bool,
    /// The pulled, signed revision in force (`rev 3 signed`), or that the
    /// file was edited since it was pulled; `None` when it was never pulled.
    pub revision: Option<String>,
    /// What the last `verify` of the audit log found; `None`: never sealed.
    pub seal: Option<crate::seal::status::SealState>,
}

impl RulesInfo {
    pub fn of(rules: &RuleSet) -> RulesInfo {
        let frozen = rules.frozen();
        let (unreadable, window) = match &rules.body {
            Body::Unreadable { reason } => (Some(reason.clone()), WindowInfo::Absent),
            Body::Empty => (None, WindowInfo::Absent),
            Body::Rules(c) => (
                None,
                match &c.window {
                    Window::Absent => WindowInfo::Absent,
                    Window::Valid {
                        start,
                        end,
                        start_text,
                        end_text,
                    } => WindowInfo::Valid {
                        start: *start,
                        end: *end,
                        text: format!("{start_text}–{end_text}"),
                    },
                    Window::Malformed { why, .. } => WindowInfo::Malformed(why.clone()),
                },
            ),
        };
        RulesInfo {
            source: rules.source.as_str().to_string(),
            path: rules.path.display().to_string(),
            hash: rules.hash.clone(),
            loaded_at: rules.loaded_at,
            deny_rules: rules.deny_count(),
            unreadable,
            window,
            frozen,
            warnings: Vec::new(),
            change_limits: rules.has_change_limits(),
            revision: None,
            seal: None,
        }
    }

    /// [`RulesInfo::of`], with the permission warnings of the user file at `path`.
    pub fn read(rules: &RuleSet, path: &std::path::Path) -> RulesInfo {
        let mut info = RulesInfo::of(rules);
        info.warnings = vmware_policy::home::permission_warnings(path);
        info.revision = crate::signed_rules::state::describe(path);
        info
    }

    /// With the audit log's seal state (beside `db`).
    pub fn with_seal(mut self, db: &std::path::Path) -> RulesInfo {
        self.seal = crate::seal::status::read(db);
        self
    }
}

pub struct App {
    pub db_path: String,
    pub pane: Pane,
    pub overlay: Overlay,
    pub filters: Filters,
    /// The compiled search of `filters.search`, for live rows.
    pub search: Option<Search>,
    /// A search that finds without filtering (`Ctrl-f` in the prompt):
    /// highlighted, and `n`/`N` move between the rows it matches.
    pub find: Option<Search>,
    /// Bumped whenever the filters change; answers for older ones are dropped.
    pub generation: u64,
    pub stream: Stream,
    pub stats: Option<Stats>,
    pub stats_loading: bool,
    /// New rows arrived since the stats were computed.
    pub stats_stale: bool,
    /// Totals and values present (for the header and the pickers).
    pub overview: Option<Stats>,
    pub total_rows: Option<u64>,
    pub problem: Option<DbProblem>,
    pub rules: RulesInfo,
    pub now: DateTime<Utc>,
    pub size: (u16, u16),
    pub color: bool,
    pub quit: bool,
    /// A tail request is on its way; another is asked when it returns.
    pub tail_busy: bool,
    pub tail_again: bool,
    /// How long the last first page took (shown after a filter change).
    pub last_page_ms: Option<u64>,
    /// The rule editor, while open.
    pub editor: Option<crate::tui::editor::Editor>,
    /// The user rules file (what the editor opens and saves).
    pub rules_path: std::path::PathBuf,
    /// A one-line notice for the operator (shown in the footer).
    pub notice: Option<String>,
    /// The colours of config.toml's `[theme]`.
    pub palette: crate::config::Palette,
    /// config.toml's saved filters, by name (`F`).
    pub saved: std::collections::BTreeMap<String, crate::config::SavedFilter>,
    /// Rows marked with `m`, by position (kept whatever the filters; `y`
    /// copies them, oldest first).
    pub marks: std::collections::BTreeMap<super::data::Pos, vmware_policy::audit::AuditRow>,
    /// The archives are read with the live file as one history (`--archives`, `A`).
    pub archives: bool,
    /// The fleet's rows (`--source postgres://`): a host column and picker.
    pub fleet: bool,
    /// A sidecar index being built (rows done, rows in all): the header says so.
    pub indexing: Option<(u64, u64)>,
}

impl App {
    /// Filters as a whole (start-up flags, a saved filter), with their search
    /// compiled.
    pub fn set_filters(&mut self, filters: Filters) {
        self.search = filters
            .search
            .as_ref()
            .and_then(|s| Search::compile(s).ok());
        self.filters = filters;
    }

    pub fn new(db_path: String, rules: RulesInfo, now: DateTime<Utc>, color: bool) -> App {
        App {
            db_path,
            pane: Pane::Stream,
            overlay: Overlay::None,
            filters: Filters::default(),
            search: None,
            find: None,
            generation: 1,
            stream: Stream::new(),
            stats: None,
            stats_loading: false,
            stats_stale: false,
            overview: None,
            total_rows: None,
            problem: None,
            rules,
            now,
            size: (120, 40),
            color,
            quit: false,
            tail_busy: false,
            tail_again: false,
            last_page_ms: None,
            editor: None,
            rules_path: std::path::PathBuf::from("rules.yaml"),
            notice: None,
            marks: std::collections::BTreeMap::new(),
            archives: false,
            fleet: false,
            indexing: None,
            palette: crate::config::Palette::default(),
            saved: std::collections::BTreeMap::new(),
        }
    }

    /// Where the keys go now.
    pub fn context(&self) -> Context {
        match &self.overlay {
            Overlay::Help { .. } => Context::Help,
            Overlay::Picker(_) => Context::Picker,
            Overlay::Search(_) => Context::Search,
            Overlay::Export(_) => Context::Export,
            Overlay::Jump(_) => Context::Jump,
            Overlay::Range(_) => Context::RangeInput,
            Overlay::Detail(_) => Context::Detail,
            Overlay::None => match self.pane {
                Pane::Stream => Context::Stream,
                Pane::Stats => Context::Stats,
                Pane::Editor => {
                    use crate::tui::editor::Mode;
                    match self.editor.as_ref().map(|e| &e.mode) {
                        None | Some(Mode::Edit) => Context::Editor,
                        Some(Mode::Search(_)) => Context::EditorSearch,
                        Some(Mode::WhatIf(_)) => Context::WhatIf,
                        Some(Mode::Replay(_)) => Context::Replay,
                        Some(Mode::ConfirmLeave | Mode::ConfirmFreeze { .. }) => Context::Confirm,
                        Some(Mode::Conflict { .. }) => Context::Conflict,
                    }
                }
            },
        }
    }

    /// Whether a live row passes the filters and the search.
    pub fn selects(&self, r: &AuditRow) -> bool {
        self.filters.to_filter().matches(r) && self.search.as_ref().is_none_or(|s| s.matches(r))
    }
}
