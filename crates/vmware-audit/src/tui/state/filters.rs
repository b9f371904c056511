//! The filters an operator picks in the TUI, and the library [`Filter`] they
//! become: the same filter the CLI builds from flags.

use chrono::{DateTime, Duration, Utc};
use vmware_policy::audit::{Bucket, Filter, python_ts};

use crate::tui::action::Column;

/// The time range of the stream and the stats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Range {
    Minutes15,
    Hour,
    Day,
    Week,
    #[default]
    All,
    /// Given at start-up (`tui --since/--until`).
    Custom,
}

impl Range {
    pub fn next(self) -> Range {
        match self {
            Range::Minutes15 => Range::Hour,
            Range::Hour => Range::Day,
            Range::Day => Range::Week,
            Range::Week => Range::All,
            Range::All | Range::Custom => Range::Minutes15,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Range::Minutes15 => "15m",
            Range::Hour => "1h",
            Range::Day => "24h",
            Range::Week => "7d",
            Range::All => "all",
            Range::Custom => "custom",
        }
    }

    fn span(self) -> Option<Duration> {
        match self {
            Range::Minutes15 => Some(Duration::minutes(15)),
            Range::Hour => Some(Duration::hours(1)),
            Range::Day => Some(Duration::hours(24)),
            Range::Week => Some(Duration::days(7)),
            Range::All | Range::Custom => None,
        }
    }

    /// The chart's time step for this range.
    pub fn bucket(self) -> Bucket {
        match self {
            Range::Minutes15 | Range::Hour => Bucket::Minute,
            Range::Day | Range::Week | Range::All | Range::Custom => Bucket::Hour,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filters {
    pub skills: Vec<String>,
    pub statuses: Vec<String>,
    pub tools: Vec<String>,
    pub agents: Vec<String>,
    pub users: Vec<String>,
    pub risks: Vec<String>,
    pub hosts: Vec<String>,
    /// Values excluded per column (`!` in a picker): rows with any of them
    /// are hidden. A column has values kept or values excluded, not both.
    pub excluded: std::collections::BTreeMap<Column, Vec<String>>,
    pub range: Range,
    /// Fixed when the range is chosen, so pages fetched later agree.
    pub since: Option<String>,
    /// Only with a start-up `--until` (the range keys drop it).
    pub until: Option<String>,
    /// What the start-up flags filter that no picker offers (surface,
    /// workflow and correlation ids): kept as given, cleared by `c`.
    pub extra: Filter,
    pub search: Option<crate::tui::search::SearchSpec>,
}

/// Statuses that count as denied (`denied`, and the Python family's variants).
pub const DENIED: &[&str] = &["denied"];

impl Filters {
    pub fn values(&self, c: Column) -> &Vec<String> {
        match c {
            Column::Skill => &self.skills,
            Column::Status => &self.statuses,
            Column::Tool => &self.tools,
            Column::Agent => &self.agents,
            Column::User => &self.users,
            Column::Risk => &self.risks,
            Column::Host => &self.hosts,
        }
    }

    /// Keep only rows with one of `v` in column `c` (none: no filter on it).
    pub fn set(&mut self, c: Column, v: Vec<String>) {
        self.excluded.remove(&c);
        match c {
            Column::Skill => self.skills = v,
            Column::Status => self.statuses = v,
            Column::Tool => self.tools = v,
            Column::Agent => self.agents = v,
            Column::User => self.users = v,
            Column::Risk => self.risks = v,
            Column::Host => self.hosts = v,
        }
    }

    /// Hide rows with one of `v` in column `c`.
    pub fn exclude(&mut self, c: Column, v: Vec<String>) {
        self.set(c, Vec::new());
        if !v.is_empty() {
            self.excluded.insert(c, v);
        }
    }

    pub fn excluded(&self, c: Column) -> &[String] {
        self.excluded.get(&c).map_or(&[], Vec::as_slice)
    }

    pub fn denied_only(&self) -> bool {
        !self.statuses.is_empty() && self.statuses.iter().all(|s| DENIED.contains(&s.as_str()))
    }

    pub fn set_range(&mut self, range: Range, now: DateTime<Utc>) {
        self.range = range;
        self.since = range.span().map(|d| python_ts(now - d));
        self.until = None;
    }

    /// The filters of `tui`'s start-up flags (the CLI's own `Filter`).
    pub fn from_filter(f: Filter) -> Filters {
        let mut out = Filters {
            skills: f.skills,
            statuses: f.statuses,
            tools: f.tools,
            agents: f.agents,
            users: f.users,
            risks: f.risks,
            hosts: f.hosts,
            since: f.since,
            until: f.until,
            // `--search` (or a saved filter's `search`) is the TUI's own
            // substring search, shown and edited in its prompt.
            search: f.contains.map(|query| crate::tui::search::SearchSpec {
                query,
                mode: crate::tui::search::Mode::Substring,
                find: false,
            }),
            ..Filters::default()
        };
        for (c, v) in [
            (Column::Skill, f.not_skills),
            (Column::Status, f.not_statuses),
            (Column::Tool, f.not_tools),
            (Column::Agent, f.not_agents),
            (Column::User, f.not_users),
            (Column::Risk, f.not_risks),
            (Column::Host, f.not_hosts),
        ] {
            if !v.is_empty() && out.values(c).is_empty() {
                out.excluded.insert(c, v);
            }
        }
        if out.since.is_some() || out.until.is_some() {
            out.range = Range::Custom;
        }
        out.extra = Filter {
            surfaces: f.surfaces,
            workflow_ids: f.workflow_ids,
            correlation_ids: f.correlation_ids,
            ..Filter::default()
        };
        out
    }

    pub fn is_empty(&self) -> bool {
        Column::ALL.iter().all(|c| self.values(*c).is_empty())
            && self.excluded.is_empty()
            && self.extra == Filter::default()
            && self.range == Range::All
            && self.search.is_none()
    }

    /// The library filter (everything but the search, which is not SQL).
    pub fn to_filter(&self) -> Filter {
        let not = |c| self.excluded(c).to_vec();
        Filter {
            skills: self.skills.clone(),
            statuses: self.statuses.clone(),
            tools: self.tools.clone(),
            agents: self.agents.clone(),
            users: self.users.clone(),
            risks: self.risks.clone(),
            hosts: self.hosts.clone(),
            not_skills: not(Column::Skill),
            not_statuses: not(Column::Status),
            not_tools: not(Column::Tool),
            not_agents: not(Column::Agent),
            not_users: not(Column::User),
            not_risks: not(Column::Risk),
            not_hosts: not(Column::Host),
            since: self.since.clone(),
            until: self.until.clone(),
            ..self.extra.clone()
        }
    }

    /// One line saying what is filtered (for the filter bar).
    pub fn describe(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for c in Column::ALL {
            let v = self.values(c);
            if !v.is_empty() {
                out.push((c.label().to_string(), v.join(",")));
            }
            let x = self.excluded(c);
            if !x.is_empty() {
                // Excluded values, each marked, as k9s shows an inverse filter.
                let shown: Vec<String> = x.iter().map(|v| format!("!{v}")).collect();
                out.push((c.label().to_string(), shown.join(",")));
            }
        }
        if self.range == Range::Custom {
            if let Some(s) = &self.since {
                out.push(("since".into(), s.clone()));
            }
            if let Some(u) = &self.until {
                out.push(("until".into(), u.clone()));
            }
        } else if self.range != Range::All {
            out.push(("range".into(), self.range.label().into()));
        }
        for (label, v) in [
            ("surface", &self.extra.surfaces),
            ("workflow", &self.extra.workflow_ids),
            ("correlation", &self.extra.correlation_ids),
        ] {
            if !v.is_empty() {
                out.push((label.into(), v.join(",")));
            }
        }
        if let Some(s) = &self.search {
            let label = match s.mode {
                crate::tui::search::Mode::Fuzzy => "search".to_string(),
                m => format!("search({})", m.label()),
            };
            out.push((label, s.query.clone()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_sets_since_in_the_log_format() {
        let now = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut f = Filters::default();
        f.set_range(Range::Hour, now);
        assert_eq!(
            f.to_filter().since.as_deref(),
            Some("2026-11-22T09:00:00+00:00")
        );
        f.set_range(Range::All, now);
        assert_eq!(f.to_filter().since, None);
        assert!(f.is_empty());
    }

    /// `tui --since ... --not-agent ... --workflow-id ...` starts with exactly
    /// the filter `log` builds from the same flags.
    #[test]
    fn start_up_flags_become_the_same_filter() {
        let given = Filter {
            skills: vec!["avi".into()],
            statuses: vec!["denied".into()],
            not_agents: vec!["codex".into()],
            workflow_ids: vec!["wf-7".into()],
            since: Some("2026-11-22T09:00:00+00:00".into()),
            until: Some("2026-11-22T10:00:00+00:00".into()),
            ..Filter::default()
        };
        let f = Filters::from_filter(given.clone());
        assert_eq!(f.to_filter(), given);
        assert_eq!(f.range, Range::Custom);
        let bar = f.describe();
        assert!(bar.contains(&("agent".into(), "!codex".into())), "{bar:?}");
        assert!(bar.contains(&("since".into(), "2026-11-22T09:00:00+00:00".into())));
        assert!(bar.contains(&("workflow".into(), "wf-7".into())));
        assert!(!f.is_empty());
    }
}
