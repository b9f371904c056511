//! The stream's window: a bounded run of consecutive matching rows around
//! what is on screen, never the whole log. Paging fetches more at the edge
//! the cursor nears and drops rows far from it.

use std::collections::VecDeque;

use super::super::data::{Pos, Row};

/// Rows fetched per page.
pub const PAGE: usize = 200;
/// Rows held at most (the window); about four screens of a large terminal.
pub const CAP: usize = 3 * PAGE;
/// Fetch the next page when the cursor comes this close to an edge.
pub const MARGIN: usize = 40;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stream {
    /// Oldest first.
    pub rows: VecDeque<Row>,
    pub selected: usize,
    /// The first row on screen.
    pub top: usize,
    /// Rows that fit on screen.
    pub height: usize,
    /// Following new rows at the bottom (false once the operator scrolls up).
    pub follow: bool,
    /// New matching rows that arrived while paused.
    pub pending: u64,
    /// Fetch older rows before this position (exclusive).
    pub older_edge: Pos,
    /// Fetch newer rows after this position (exclusive).
    pub newer_edge: Pos,
    /// Nothing older matches.
    pub at_oldest: bool,
    /// The window reaches the live end (new rows can be appended).
    pub at_newest: bool,
    /// A page is on its way (its direction).
    pub loading: Option<super::super::data::Anchor>,
    /// The first page for the current filters has not come yet.
    pub initial: bool,
}

impl Stream {
    pub fn new() -> Stream {
        Stream {
            follow: true,
            at_newest: true,
            initial: true,
            height: 20,
            ..Stream::default()
        }
    }

    /// Start over (filters changed).
    pub fn reset(&mut self) {
        let height = self.height;
        *self = Stream::new();
        self.height = height;
    }

    pub fn selected_row(&self) -> Option<&Row> {
        self.rows.get(self.selected)
    }

    /// Keep the cursor on screen; when following, the newest row at the bottom.
    pub fn settle(&mut self) {
        let n = self.rows.len();
        if n == 0 {
            self.selected = 0;
            self.top = 0;
            return;
        }
        if self.follow {
            self.selected = n - 1;
        }
        self.selected = self.selected.min(n - 1);
        let h = self.height.max(1);
        if self.selected < self.top {
            self.top = self.selected;
        } else if self.selected >= self.top + h {
            self.top = self.selected + 1 - h;
        }
        // No blank space under the last row when there are rows to fill it.
        self.top = self.top.min(n.saturating_sub(h));
    }

    /// Move the cursor by `delta` rows; moving up pauses the follow.
    pub fn move_by(&mut self, delta: isize) {
        if self.rows.is_empty() {
            return;
        }
        let last = self.rows.len() - 1;
        let to = (self.selected as isize + delta).clamp(0, last as isize) as usize;
        if delta < 0 {
            self.follow = false;
        }
        self.selected = to;
        if self.selected == last && self.at_newest && delta > 0 {
            self.follow = true;
            self.pending = 0;
        }
        self.settle();
    }

    /// Whether a page of older (or newer) rows should be fetched now.
    pub fn wants(&self) -> Option<super::super::data::Anchor> {
        use super::super::data::Anchor;
        if self.loading.is_some() || self.initial {
            return None;
        }
        if !self.at_oldest && self.selected < MARGIN {
            return Some(Anchor::Before(self.older_edge));
        }
        if !self.at_newest && self.selected + MARGIN >= self.rows.len() {
            return Some(Anchor::After(self.newer_edge));
        }
        None
    }

    /// The first page: the newest matching rows.
    pub fn load_newest(&mut self, rows: Vec<Row>, edge: Pos, exhausted: bool, newest: Pos) {
        self.rows = rows.into();
        self.older_edge = edge;
        self.newer_edge = newest;
        self.at_oldest = exhausted;
        self.at_newest = true;
        self.initial = false;
        self.loading = None;
        self.selected = self.rows.len().saturating_sub(1);
        if !self.follow {
            // Paused and reloaded (End pressed): follow again.
            self.follow = true;
        }
        self.settle();
    }

    /// Older rows arrived: put them in front, drop the newest beyond the cap.
    pub fn prepend(&mut self, rows: Vec<Row>, edge: Pos, exhausted: bool) {
        let n = rows.len();
        for r in rows.into_iter().rev() {
            self.rows.push_front(r);
        }
        self.selected += n;
        self.top += n;
        self.older_edge = edge;
        self.at_oldest = exhausted;
        while self.rows.len() > CAP && self.rows.len() - 1 > self.selected + MARGIN {
            self.rows.pop_back();
            self.at_newest = false;
            self.follow = false;
        }
        if let Some(last) = self.rows.back()
            && !self.at_newest
        {
            self.newer_edge = last.pos;
        }
        self.loading = None;
        self.settle();
    }

    /// The page a jump asked for: rows up to the row jumped to, which is
    /// selected; paused, with newer rows fetched as the operator scrolls down.
    pub fn load_at(&mut self, rows: Vec<Row>, edge: Pos, exhausted: bool) {
        self.rows = rows.into();
        self.selected = self.rows.len().saturating_sub(1);
        self.top = self.selected.saturating_sub(self.height.saturating_sub(1));
        self.older_edge = edge;
        self.at_oldest = exhausted;
        self.follow = false;
        self.at_newest = false;
        self.initial = false;
        self.newer_edge = self.rows.back().map_or(edge, |r| r.pos);
        self.loading = None;
        self.settle();
    }

    /// Newer rows arrived by paging down: append, drop the oldest beyond the cap.
    pub fn append_page(&mut self, rows: Vec<Row>, edge: Pos, exhausted: bool) {
        self.rows.extend(rows);
        self.newer_edge = edge;
        if exhausted {
            self.at_newest = true;
        }
        self.trim_front();
        self.loading = None;
        self.settle();
    }

    /// Live rows (already filtered) from the tail.
    pub fn push_live(&mut self, rows: Vec<Row>) {
        if rows.is_empty() {
            return;
        }
        if !self.at_newest || self.initial {
            // Not at the live end: they will be read by paging down, or by
            // the first page; count them for the "new rows" badge.
            self.pending += rows.len() as u64;
            return;
        }
        if !self.follow {
            self.pending += rows.len() as u64;
            if self.rows.len() + rows.len() > CAP {
                // Keep the operator's place; these are fetched on the way down.
                self.at_newest = false;
                if let Some(last) = self.rows.back() {
                    self.newer_edge = last.pos;
                }
                return;
            }
        }
        if let Some(last) = rows.last() {
            self.newer_edge = last.pos;
        }
        self.rows.extend(rows);
        self.trim_front();
        self.settle();
    }

    fn trim_front(&mut self) {
        while self.rows.len() > CAP && self.selected > MARGIN {
            self.rows.pop_front();
            self.selected -= 1;
            self.top = self.top.saturating_sub(1);
            self.at_oldest = false;
        }
        if let Some(first) = self.rows.front()
            && !self.at_oldest
        {
            self.older_edge = first.pos;
        }
    }
}
