//! The one place the TUI's state changes: `update(action) -> effects`. No I/O
//! here: what must be read is returned as requests for the data worker, so
//! every behaviour can be driven and checked without a terminal.

use super::action::{Action, Column, Effect};
use super::data::{Anchor, Pos, Request, Response};
use super::keymap::Context;
use super::state::stream::PAGE;
use super::state::{App, Detail, Filters, Overlay, Pane, Picker};
use super::view::layout;

impl App {
    /// What to ask for when the app starts.
    pub fn start(&mut self) -> Vec<Effect> {
        // The first page before the overview: rows are drawn at once, the
        // counts (a sidecar to build, on a large file's first look) follow.
        let mut fx = self.refilter_effects();
        fx.push(Effect::Request(Request::Overview));
        fx
    }

    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        let ctx = self.context();
        if !is_background(&action) {
            self.notice = None;
        }
        // On the "terminal too small" screen nothing else is visible: only
        // quitting (which it offers) may act, never a key whose effect is unseen.
        if layout::too_small(self.size.0, self.size.1) && is_user_command(&action) {
            let q = crossterm::event::KeyCode::Char('q');
            let unsaved = self.editor.as_ref().is_some_and(|e| e.dirty());
            if !unsaved
                && (matches!(action, Action::Quit | Action::Input('q'))
                    || matches!(&action, Action::EditKey(k) if k.code == q))
            {
                self.quit = true;
            }
            return Vec::new();
        }
        if self.is_editor_action(ctx, &action) {
            return self.update_editor(action);
        }
        let mut fx = Vec::new();
        match action {
            Action::Quit => self.quit = true,
            Action::Help => {
                self.overlay = match self.overlay {
                    Overlay::Help { .. } => Overlay::None,
                    _ => Overlay::Help { scroll: 0 },
                }
            }
            Action::Back => self.overlay = Overlay::None,
            Action::Confirm => fx.extend(self.confirm(ctx)),
            Action::NextPane => {
                self.overlay = Overlay::None;
                self.pane = match self.pane {
                    Pane::Stream => Pane::Stats,
                    Pane::Stats | Pane::Editor => Pane::Stream,
                };
                if self.pane == Pane::Stats && (self.stats.is_none() || self.stats_stale) {
                    fx.extend(self.stats_effects());
                }
            }
            Action::Up => fx.extend(self.scroll(ctx, -1)),
            Action::Down => fx.extend(self.scroll(ctx, 1)),
            Action::ScrollUp(n) => fx.extend(self.scroll(ctx, -(n as isize))),
            Action::ScrollDown(n) => fx.extend(self.scroll(ctx, n as isize)),
            Action::Click(y) => {
                let (w, h) = self.size;
                if ctx == Context::Stream
                    && let Some(i) = layout::stream_row_at(w, h, y)
                    && self.stream.top + i < self.stream.rows.len()
                {
                    let delta = (self.stream.top + i) as isize - self.stream.selected as isize;
                    fx.extend(self.scroll(ctx, delta));
                }
            }
            Action::PageUp => fx.extend(self.scroll(ctx, -(self.page_len() as isize))),
            Action::PageDown => fx.extend(self.scroll(ctx, self.page_len() as isize)),
            Action::Top => fx.extend(self.top(ctx)),
            Action::Follow => fx.extend(self.follow(ctx)),
            Action::OpenPicker(Column::Host) if !self.fleet => {
                self.notice =
                    Some("hosts are the fleet's: run the TUI with --source postgres://...".into());
            }
            Action::OpenPicker(c) => {
                // A column filtered by exclusion opens as it was: `!` and the
                // values excluded.
                let excluded = self.filters.excluded(c);
                let mut p = if excluded.is_empty() {
                    Picker::new(c, self.filters.values(c))
                } else {
                    let mut p = Picker::new(c, excluded);
                    p.query.push('!');
                    p
                };
                if let Some(v) = self.overview.as_ref().and_then(|o| values_of(o, c)) {
                    p.set_values(v);
                }
                self.overlay = Overlay::Picker(p);
                fx.push(Effect::Request(if c == Column::User {
                    Request::UserValues
                } else {
                    Request::Overview
                }));
            }
            Action::Toggle => {
                if let Overlay::Picker(p) = &mut self.overlay {
                    p.toggle();
                }
            }
            Action::Input(c) => match &mut self.overlay {
                Overlay::Picker(p) => p.type_char(c),
                Overlay::Search(s) if s.query.chars().count() < 200 => s.query.push(c),
                Overlay::Export(s) if s.chars().count() < 4096 => s.push(c),
                Overlay::Jump(s) | Overlay::Range(s) if s.chars().count() < 200 => s.push(c),
                _ => {}
            },
            Action::Erase => match &mut self.overlay {
                Overlay::Picker(p) => p.erase(),
                Overlay::Search(s) => {
                    s.query.pop();
                }
                Overlay::Export(s) | Overlay::Jump(s) | Overlay::Range(s) => {
                    s.pop();
                }
                _ => {}
            },
            Action::DeniedOnly => {
                let statuses = if self.filters.denied_only() {
                    Vec::new()
                } else {
                    vec!["denied".to_string()]
                };
                self.filters.statuses = statuses;
                fx.extend(self.refilter_effects());
            }
            Action::ToggleArchives => {
                fx.extend(self.set_archives(!self.archives));
                fx.extend(self.refilter_effects());
                self.notice = Some(if self.archives {
                    "reading the archives and the live file as one history".into()
                } else {
                    "reading the live file only".into()
                });
            }
            Action::Mark => self.mark(),
            Action::NextMark => fx.extend(self.go_to_mark(true)),
            Action::PrevMark => fx.extend(self.go_to_mark(false)),
            Action::Copy => fx.extend(self.copy()),
            Action::Export => {
                self.overlay = Overlay::Export(super::export::default_name(self.now));
            }
            Action::JumpPrompt => self.overlay = Overlay::Jump(String::new()),
            Action::RangePrompt => {
                let now: Vec<&str> = [&self.filters.since, &self.filters.until]
                    .into_iter()
                    .flatten()
                    .map(String::as_str)
                    .collect();
                self.overlay = Overlay::Range(now.join(" "));
            }
            Action::SavedFilters => {
                if self.saved.is_empty() {
                    self.notice = Some(format!(
                        "no saved filters: add [filters.NAME] to {}",
                        crate::config::path().display()
                    ));
                } else {
                    let mut p = super::state::Picker::default();
                    p.set_values(self.saved.keys().map(|k| (k.clone(), 0)).collect());
                    self.overlay = Overlay::Picker(p);
                }
            }
            Action::ClearFilters => {
                self.filters = Filters::default();
                self.search = None;
                fx.extend(self.refilter_effects());
            }
            Action::CycleRange => {
                let next = self.filters.range.next();
                self.filters.set_range(next, self.now);
                fx.extend(self.refilter_effects());
            }
            Action::Search => {
                let current = self.filters.search.clone().unwrap_or_default();
                self.overlay = Overlay::Search(current);
            }
            Action::SearchMode => {
                if let Overlay::Search(s) = &mut self.overlay {
                    s.mode = s.mode.next();
                }
            }
            Action::SearchFind => {
                if let Overlay::Search(s) = &mut self.overlay {
                    s.find = !s.find;
                }
            }
            Action::NextMatch => fx.extend(self.go_to_match(true)),
            Action::PrevMatch => fx.extend(self.go_to_match(false)),
            Action::Resize(w, h) => {
                self.size = (w, h);
                self.stream.height = layout::stream_rows(w, h);
                self.stream.settle();
                if let Some(e) = self.editor.as_mut() {
                    (e.height, e.width) = layout::editor_text_size(w, h);
                    e.follow_cursor();
                }
            }
            Action::DbChanged => fx.extend(self.tail_effects()),
            Action::Tick(now, rules) => {
                self.now = now;
                self.rules = *rules;
                if self.problem.is_some() && self.stream.loading.is_none() {
                    // Retry: the database may exist now, or be readable again.
                    fx.extend(self.refilter_effects());
                } else if self.pane == Pane::Stats && self.stats_stale && !self.stats_loading {
                    fx.extend(self.stats_effects());
                }
                fx.extend(self.tail_effects());
            }
            Action::Data(r) => fx.extend(self.on_data(*r)),
            // The editor's own actions, outside the editor (no editor open).
            _ => {}
        }
        fx
    }

    fn page_len(&self) -> usize {
        self.stream.height.max(2) - 1
    }

    fn confirm(&mut self, ctx: Context) -> Vec<Effect> {
        match ctx {
            Context::Stream => {
                if let Some(row) = self.stream.selected_row() {
                    self.overlay = Overlay::Detail(Box::new(Detail {
                        row: row.row.clone(),
                        scroll: 0,
                    }));
                }
                Vec::new()
            }
            Context::Picker => {
                let Overlay::Picker(p) = std::mem::take(&mut self.overlay) else {
                    return Vec::new();
                };
                let Some(column) = p.column else {
                    // No column: the list of config.toml's saved filters.
                    return self.apply_saved(p.result().first());
                };
                if p.inverse() {
                    self.filters.exclude(column, p.result());
                } else {
                    self.filters.set(column, p.result());
                }
                self.refilter_effects()
            }
            Context::Jump | Context::RangeInput | Context::Export | Context::Search => {
                self.confirm_prompt(ctx)
            }
            _ => Vec::new(),
        }
    }

    pub(super) fn scroll(&mut self, ctx: Context, delta: isize) -> Vec<Effect> {
        match (ctx, &mut self.overlay) {
            (Context::Detail, Overlay::Detail(d)) => {
                d.scroll = (d.scroll as isize + delta).max(0) as usize;
                Vec::new()
            }
            (Context::Help, Overlay::Help { scroll }) => {
                *scroll = (*scroll as isize + delta).max(0) as usize;
                Vec::new()
            }
            (Context::Picker, Overlay::Picker(p)) => {
                p.move_by(delta);
                Vec::new()
            }
            (Context::Stream, _) => {
                self.stream.move_by(delta);
                self.page_effects()
            }
            _ => Vec::new(),
        }
    }

    fn top(&mut self, ctx: Context) -> Vec<Effect> {
        match (ctx, &mut self.overlay) {
            (Context::Detail, Overlay::Detail(d)) => d.scroll = 0,
            (Context::Help, Overlay::Help { scroll }) => *scroll = 0,
            (Context::Stream, _) => {
                if self.stream.at_oldest {
                    self.stream.follow = false;
                    self.stream.selected = 0;
                    self.stream.settle();
                } else {
                    // Start the window at the oldest matching row.
                    self.stream.reset();
                    self.stream.initial = false;
                    self.stream.follow = false;
                    self.stream.at_newest = false;
                    self.stream.at_oldest = true;
                    return self.request_page(Anchor::After(Pos::default()));
                }
            }
            _ => {}
        }
        Vec::new()
    }

    fn follow(&mut self, ctx: Context) -> Vec<Effect> {
        match (ctx, &mut self.overlay) {
            (Context::Detail, Overlay::Detail(d)) => d.scroll = usize::MAX / 2,
            (Context::Stream, _) => {
                self.stream.pending = 0;
                if self.stream.at_newest {
                    self.stream.follow = true;
                    self.stream.settle();
                } else {
                    self.stream.reset();
                    return self.request_page(Anchor::Newest);
                }
            }
            _ => {}
        }
        Vec::new()
    }

    fn request_page(&mut self, anchor: Anchor) -> Vec<Effect> {
        self.stream.loading = Some(anchor);
        vec![Effect::Request(Request::Page {
            generation: self.generation,
            filter: self.filters.to_filter(),
            search: self.filters.search.clone(),
            anchor,
            limit: PAGE,
        })]
    }

    /// Fetch the next page if the cursor nears an edge of the window.
    fn page_effects(&mut self) -> Vec<Effect> {
        match self.stream.wants() {
            Some(anchor) => self.request_page(anchor),
            None => Vec::new(),
        }
    }

    /// Read the window again ending at `at`, which is selected (a jump, a
    /// match or a mark beyond the rows loaded); paused.
    pub(super) fn go_to(&mut self, at: super::data::Pos) -> Vec<Effect> {
        // Pages in flight are for the old window: drop them.
        self.generation += 1;
        self.stream.reset();
        self.stream.follow = false;
        self.stream.at_newest = false;
        self.request_page(Anchor::At(at))
    }

    /// The filters changed: start over from the newest matching rows.
    pub(super) fn refilter_effects(&mut self) -> Vec<Effect> {
        self.generation += 1;
        self.stream.reset();
        self.stats = None;
        let mut fx = self.request_page(Anchor::Newest);
        if self.pane == Pane::Stats {
            fx.extend(self.stats_effects());
        }
        fx
    }

    fn stats_effects(&mut self) -> Vec<Effect> {
        self.stats_loading = true;
        self.stats_stale = false;
        vec![Effect::Request(Request::Stats {
            generation: self.generation,
            filter: self.filters.to_filter(),
            bucket: self.filters.range.bucket(),
        })]
    }

    fn tail_effects(&mut self) -> Vec<Effect> {
        if self.tail_busy {
            self.tail_again = true;
            return Vec::new();
        }
        self.tail_busy = true;
        vec![Effect::Request(Request::Tail)]
    }

    fn on_data(&mut self, r: Response) -> Vec<Effect> {
        let mut fx = Vec::new();
        match r {
            Response::Page {
                generation,
                anchor,
                rows,
                edge,
                exhausted,
                took_ms,
            } => {
                if generation != self.generation {
                    return fx;
                }
                self.problem = None;
                match anchor {
                    Anchor::Newest => {
                        self.last_page_ms = Some(took_ms);
                        let newest = rows.last().map_or(edge, |r| r.pos);
                        self.stream.load_newest(rows, edge, exhausted, newest);
                    }
                    Anchor::Before(_) => self.stream.prepend(rows, edge, exhausted),
                    Anchor::At(_) => self.stream.load_at(rows, edge, exhausted),
                    Anchor::After(_) => self.stream.append_page(rows, edge, exhausted),
                }
                fx.extend(self.page_effects());
            }
            Response::Tail {
                rows,
                rotated,
                more,
            } => {
                self.tail_busy = false;
                if let Some(t) = self.total_rows.as_mut() {
                    *t += rows.len() as u64;
                }
                if !rows.is_empty() {
                    self.stats_stale = true;
                }
                if rotated {
                    // A new live file: its ids start again at 1, so the window
                    // (ids of the archived file) cannot be continued. Start
                    // over on the new file; the old rows are in the archive.
                    fx.push(Effect::Request(Request::Overview));
                    fx.extend(self.refilter_effects());
                } else {
                    let selected: Vec<_> = rows.into_iter().filter(|r| self.selects(r)).collect();
                    self.stream.push_live(selected);
                }
                if more || std::mem::take(&mut self.tail_again) {
                    fx.extend(self.tail_effects());
                }
            }
            Response::Stats { generation, stats } => {
                if generation == self.generation {
                    self.stats_loading = false;
                    match stats {
                        Ok(s) => self.stats = Some(s),
                        Err(e) => {
                            self.problem = Some(super::data::DbProblem::Unreadable(e));
                        }
                    }
                }
            }
            // Said until the part is built (the last report has done = total).
            Response::Indexing { done, total } => {
                self.indexing = (done < total).then_some((done, total));
            }
            Response::Overview(Ok(s)) => {
                self.indexing = None;
                self.total_rows = Some(s.total);
                if let Overlay::Picker(p) = &mut self.overlay
                    && let Some(v) = p.column.and_then(|c| values_of(&s, c))
                {
                    p.set_values(v);
                }
                self.overview = Some(s);
            }
            Response::UserValues(Ok(v)) => {
                if let Overlay::Picker(p) = &mut self.overlay
                    && p.column == Some(Column::User)
                {
                    p.set_values(v);
                }
            }
            Response::UserValues(Err(_)) => {}
            Response::Located { generation, ts, at } => {
                if generation != self.generation {
                    return fx;
                }
                match at {
                    Some(at) => {
                        fx.extend(self.go_to(at));
                        self.notice = Some(format!("at {ts} (End follows again)"));
                    }
                    None => self.notice = Some(format!("no row at or before {ts}")),
                }
            }
            Response::Found {
                generation,
                forward,
                at,
            } => {
                if generation != self.generation {
                    return fx;
                }
                match at {
                    Some(at) => {
                        fx.extend(self.go_to(at));
                        self.notice = Some("next match (End follows again)".into());
                    }
                    None => {
                        self.notice = Some(format!(
                            "no match {}",
                            if forward { "below" } else { "above" }
                        ))
                    }
                }
            }
            Response::Exported(r) => {
                self.notice = Some(match r {
                    Ok((path, n)) => format!("exported {n} rows to {}", path.display()),
                    Err(e) => format!("export failed: {e}"),
                });
            }
            Response::Overview(Err(_)) => self.indexing = None,
            Response::Problem(p) => {
                self.problem = Some(p);
                self.stream.loading = None;
                self.tail_busy = false;
            }
            Response::Replay { result } => {
                if let Some(e) = self.editor.as_mut()
                    && let crate::tui::editor::Mode::Replay(p) = &mut e.mode
                {
                    p.running = false;
                    p.scroll = 0;
                    p.result = Some(result);
                }
            }
            Response::BlastRadius { rev, diagnostics } => {
                // Only for the text it was computed on: a newer edit has its own.
                if let Some(e) = self.editor.as_mut().filter(|e| e.rev == rev) {
                    e.diagnostics = diagnostics;
                }
            }
            Response::Ready => {
                self.problem = None;
                fx.push(Effect::Request(Request::Overview));
                if self.stream.initial && self.stream.loading.is_none() {
                    fx.extend(self.refilter_effects());
                }
            }
        }
        fx
    }
}

/// A picker's values from the overview; `None` for users, which the overview
/// does not count (they are asked for on their own).
fn values_of(s: &vmware_policy::audit::Stats, c: Column) -> Option<Vec<(String, u64)>> {
    Some(match c {
        Column::Skill => s.by_skill.clone(),
        Column::Status => s.by_status.clone(),
        Column::Tool => s.by_tool.clone(),
        Column::Agent => s.by_agent.clone(),
        Column::Risk => s.by_risk.clone(),
        Column::Host => s.by_host.clone(),
        Column::User => return None,
    })
}

/// Data, time, resizes and debounced validation: they keep the state current
/// and leave the operator's notice in place.
fn is_background(action: &Action) -> bool {
    matches!(
        action,
        Action::Data(_)
            | Action::Tick(..)
            | Action::DbChanged
            | Action::Resize(..)
            | Action::Validate
    )
}

/// Actions that come from the operator's keys and mouse (not the background,
/// nor the results of effects), which the "too small" screen holds back.
fn is_user_command(action: &Action) -> bool {
    !is_background(action)
        && !matches!(
            action,
            Action::EditorLoaded(_)
                | Action::Saved(..)
                | Action::WhatIfResult(_)
                | Action::FreezeDone(_)
        )
}
