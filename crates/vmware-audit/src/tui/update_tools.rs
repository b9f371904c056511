//! The investigation tools' part of `App::update`: marks, the clipboard, and
//! the prompts that end in Enter (search, jump, range, export). Split from
//! `update.rs` by responsibility; still the one place state changes.

use super::action::Effect;
use super::data::Request;
use super::keymap::Context;
use super::search::{Search, SearchSpec};
use super::state::{App, Overlay};

/// The most JSON `y` hands to the terminal: OSC 52 payloads past this are cut
/// or refused by common terminals (tmux, xterm); beyond it, export.
pub const CLIPBOARD_MAX: usize = 74 * 1024;

impl App {
    /// `m`: mark or unmark the selected row.
    pub(super) fn mark(&mut self) {
        if let Some(r) = self.stream.selected_row().cloned() {
            if self.marks.remove(&r.pos).is_none() {
                self.marks.insert(r.pos, r.row);
            }
            self.notice = Some(format!(
                "{} marked (] [ move between them, y copies them)",
                self.marks.len()
            ));
        }
    }

    /// `]` / `[`: the next or previous marked row among the rows loaded.
    pub(super) fn go_to_mark(&mut self, forward: bool) -> Vec<Effect> {
        let s = &self.stream;
        let found = if forward {
            (s.selected + 1..s.rows.len()).find(|&i| self.marks.contains_key(&s.rows[i].pos))
        } else {
            (0..s.selected)
                .rev()
                .find(|&i| self.marks.contains_key(&s.rows[i].pos))
        };
        if let Some(i) = found {
            let delta = i as isize - self.stream.selected as isize;
            return self.scroll(Context::Stream, delta);
        }
        // Beyond the rows loaded: the nearest mark the view shows.
        let Some(here) = self.stream.selected_row().map(|r| r.pos) else {
            return Vec::new();
        };
        let shown = |(p, r): (&super::data::Pos, &vmware_policy::audit::AuditRow)| {
            self.selects(r).then_some(*p)
        };
        let next = if forward {
            self.marks.range(here..).skip(1).find_map(shown)
        } else {
            self.marks.range(..here).rev().find_map(shown)
        };
        match next {
            Some(at) => self.go_to(at),
            None => {
                self.notice = Some(format!(
                    "no marked row {} in this view",
                    if forward { "below" } else { "above" }
                ));
                Vec::new()
            }
        }
    }

    /// `n` / `N`: the next or previous row the find matches (every row stays
    /// in the stream); past the rows loaded, the worker looks for it.
    pub(super) fn go_to_match(&mut self, forward: bool) -> Vec<Effect> {
        let Some(find) = &self.find else {
            self.notice = Some("no find: / then Ctrl-f to find without filtering".into());
            return Vec::new();
        };
        let s = &self.stream;
        let found = if forward {
            (s.selected + 1..s.rows.len()).find(|&i| find.matches(&s.rows[i]))
        } else {
            (0..s.selected).rev().find(|&i| find.matches(&s.rows[i]))
        };
        if let Some(i) = found {
            let delta = i as isize - self.stream.selected as isize;
            return self.scroll(Context::Stream, delta);
        }
        let edge = if forward {
            (!s.at_newest).then(|| s.rows.back().map(|r| r.pos))
        } else {
            (!s.at_oldest).then(|| s.rows.front().map(|r| r.pos))
        };
        match edge.flatten() {
            Some(from) => {
                self.notice = Some("finding…".into());
                vec![Effect::Request(Request::Find {
                    generation: self.generation,
                    filter: self.filters.to_filter(),
                    search: self.filters.search.clone(),
                    find: find.spec().clone(),
                    from,
                    forward,
                })]
            }
            None => {
                self.notice = Some(format!(
                    "no match {}",
                    if forward { "below" } else { "above" }
                ));
                Vec::new()
            }
        }
    }

    /// `y`: the marked rows, or the selected one, to the clipboard as JSON.
    pub(super) fn copy(&mut self) -> Vec<Effect> {
        let rows: Vec<vmware_policy::audit::AuditRow> = if self.marks.is_empty() {
            self.stream
                .selected_row()
                .map(|r| r.row.clone())
                .into_iter()
                .collect()
        } else {
            self.marks.values().cloned().collect()
        };
        if !rows.is_empty() {
            let mut out = Vec::new();
            let _ = crate::cli::output::json_array(&mut out, &rows);
            let text = String::from_utf8_lossy(&out).into_owned();
            if text.len() > CLIPBOARD_MAX {
                self.notice = Some(format!(
                    "{} rows are {} KB of JSON, too much for a terminal's clipboard: export them (x)",
                    rows.len(),
                    text.len() / 1024
                ));
            } else {
                self.notice = Some(format!(
                    "copied {} row{} as JSON (OSC 52)",
                    rows.len(),
                    if rows.len() == 1 { "" } else { "s" }
                ));
                return vec![Effect::Clipboard(text)];
            }
        }
        Vec::new()
    }

    /// Read the archives with the live file (or not). Positions of one
    /// history mean nothing in the other: marks go; the caller starts the
    /// stream over.
    pub(super) fn set_archives(&mut self, on: bool) -> Vec<Effect> {
        if self.archives == on {
            return Vec::new();
        }
        self.archives = on;
        self.marks.clear();
        vec![
            Effect::Request(Request::Archives(on)),
            Effect::Request(Request::Overview),
        ]
    }

    /// A saved filter chosen (`F`): it replaces the filters in force.
    pub(super) fn apply_saved(&mut self, name: Option<&String>) -> Vec<Effect> {
        let Some(saved) = name.and_then(|n| self.saved.get(n)).cloned() else {
            return Vec::new();
        };
        match saved.to_filter() {
            Ok(f) => {
                self.set_filters(super::state::Filters::from_filter(f));
                self.notice = Some(format!("filters {}", name.map_or("", String::as_str)));
                // `archives = true` widens to the whole history; a saved
                // filter without it leaves the history as it is.
                let mut fx = if saved.archives {
                    self.set_archives(true)
                } else {
                    Vec::new()
                };
                fx.extend(self.refilter_effects());
                fx
            }
            Err(why) => {
                self.notice = Some(format!(
                    "saved filter {}: {why}",
                    name.map_or("", String::as_str)
                ));
                Vec::new()
            }
        }
    }

    /// Enter in a prompt.
    pub(super) fn confirm_prompt(&mut self, ctx: Context) -> Vec<Effect> {
        match ctx {
            Context::Jump => {
                let Overlay::Jump(text) = std::mem::take(&mut self.overlay) else {
                    return Vec::new();
                };
                match crate::cli::common::parse_when(text.trim(), "the jump") {
                    Ok(ts) => {
                        self.notice = Some(format!("jumping to {ts}…"));
                        vec![Effect::Request(Request::Locate {
                            generation: self.generation,
                            ts,
                        })]
                    }
                    Err(why) => {
                        self.notice = Some(why);
                        self.overlay = Overlay::Jump(text);
                        Vec::new()
                    }
                }
            }
            Context::RangeInput => {
                let Overlay::Range(text) = std::mem::take(&mut self.overlay) else {
                    return Vec::new();
                };
                let parts: Vec<&str> = text.split_whitespace().collect();
                let parsed = match parts.as_slice() {
                [] => Ok((None, None)),
                [since] => crate::cli::common::parse_when(since, "since").map(|s| (Some(s), None)),
                [since, until] => crate::cli::common::parse_when(since, "since").and_then(|s| {
                    crate::cli::common::parse_when(until, "until").map(|u| (Some(s), Some(u)))
                }),
                _ => Err("type SINCE, or SINCE UNTIL (e.g. 2h, or 2026-11-22T09:00 2026-11-22T10:00)".into()),
            };
                match parsed {
                    Ok((since, until)) => {
                        self.filters.range = if since.is_none() && until.is_none() {
                            super::state::filters::Range::All
                        } else {
                            super::state::filters::Range::Custom
                        };
                        self.filters.since = since;
                        self.filters.until = until;
                        self.refilter_effects()
                    }
                    Err(why) => {
                        self.notice = Some(why);
                        self.overlay = Overlay::Range(text);
                        Vec::new()
                    }
                }
            }
            Context::Export => {
                let Overlay::Export(name) = std::mem::take(&mut self.overlay) else {
                    return Vec::new();
                };
                let path = std::path::PathBuf::from(name.trim());
                if let Err(why) = super::export::format_of(&path) {
                    self.notice = Some(why);
                    self.overlay = Overlay::Export(name);
                    return Vec::new();
                }
                self.notice = Some(format!("exporting the view to {}…", path.display()));
                vec![Effect::Request(Request::Export {
                    path,
                    filter: self.filters.to_filter(),
                    search: self.filters.search.clone(),
                })]
            }
            Context::Search => {
                let Overlay::Search(spec) = std::mem::take(&mut self.overlay) else {
                    return Vec::new();
                };
                let spec = SearchSpec {
                    query: spec.query.trim().to_string(),
                    ..spec
                };
                if spec.query.is_empty() {
                    self.search = None;
                    self.find = None;
                    self.filters.search = None;
                    return self.refilter_effects();
                }
                match Search::compile(&spec) {
                    // Find: every row stays; the next match is selected.
                    Ok(s) if spec.find => {
                        let refilter = self.filters.search.take().is_some();
                        self.search = None;
                        self.find = Some(s);
                        if refilter {
                            return self.refilter_effects();
                        }
                        // The newest rows are at the bottom: the nearest match above.
                        self.go_to_match(false)
                    }
                    Ok(s) => {
                        self.find = None;
                        self.search = Some(s);
                        self.filters.search = Some(spec);
                        self.refilter_effects()
                    }
                    Err(why) => {
                        // A regex that does not compile: said, the prompt kept.
                        self.notice = Some(why);
                        self.overlay = Overlay::Search(spec);
                        Vec::new()
                    }
                }
            }
            _ => Vec::new(),
        }
    }
}
