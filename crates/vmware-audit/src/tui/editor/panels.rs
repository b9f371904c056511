//! The editor's "what would this change do?" panels, as plain state.

use vmware_policy::policy::Explanation;
use vmware_policy::replay::Report;

/// What-if: an operation, environment and risk level, decided by the rules in
/// force and by the buffer, side by side.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WhatIf {
    /// operation, environment, risk level.
    pub fields: [String; 3],
    pub focus: usize,
    /// (rules in force, buffer).
    pub result: Option<(Explanation, Explanation)>,
}

pub const FIELD_NAMES: [&str; 3] = ["operation", "environment", "risk level"];

impl WhatIf {
    pub fn new() -> WhatIf {
        WhatIf {
            fields: [String::new(), "production".into(), "high".into()],
            ..WhatIf::default()
        }
    }
    pub fn type_char(&mut self, c: char) {
        if self.fields[self.focus].chars().count() < 100 {
            self.fields[self.focus].push(c);
        }
    }
    pub fn erase(&mut self) {
        self.fields[self.focus].pop();
    }
    pub fn next_field(&mut self) {
        self.focus = (self.focus + 1) % 3;
    }
}

/// Which rows a replay evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplayRange {
    #[default]
    LastHour,
    LastDay,
    /// The stream's current filters.
    CurrentFilter,
}

impl ReplayRange {
    pub fn next(self) -> ReplayRange {
        match self {
            ReplayRange::LastHour => ReplayRange::LastDay,
            ReplayRange::LastDay => ReplayRange::CurrentFilter,
            ReplayRange::CurrentFilter => ReplayRange::LastHour,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            ReplayRange::LastHour => "the last hour",
            ReplayRange::LastDay => "the last day",
            ReplayRange::CurrentFilter => "the stream's current filters",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReplayPanel {
    pub range: ReplayRange,
    pub running: bool,
    pub result: Option<Result<(Report, u64), String>>,
    pub scroll: usize,
}
