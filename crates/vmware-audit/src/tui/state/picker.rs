//! A filter picker: the values present in a column, narrowed by a fuzzy
//! query as it is typed, several chosen at once.

use std::collections::BTreeSet;

use crate::tui::action::Column;
use crate::tui::search::rank;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Picker {
    pub column: Option<Column>,
    /// Values present and how many rows have each, most first.
    pub values: Vec<(String, u64)>,
    pub chosen: BTreeSet<String>,
    pub query: String,
    /// Indexes into `values` that match the query, best first.
    pub shown: Vec<usize>,
    pub cursor: usize,
    /// The values are still being counted.
    pub loading: bool,
    /// Space was used: an empty choice then means "no filter on this column".
    pub touched: bool,
}

impl Picker {
    pub fn new(column: Column, chosen: &[String]) -> Picker {
        Picker {
            column: Some(column),
            chosen: chosen.iter().cloned().collect(),
            loading: true,
            ..Picker::default()
        }
    }

    /// The values arrived (or changed); values chosen before but absent now
    /// are kept, so a filter can be removed.
    pub fn set_values(&mut self, mut values: Vec<(String, u64)>) {
        for c in &self.chosen {
            if !values.iter().any(|(v, _)| v == c) {
                values.push((c.clone(), 0));
            }
        }
        self.values = values;
        self.loading = false;
        self.rerank();
    }

    /// `!` first in the query: the values chosen are excluded, not kept (as
    /// k9s's inverse filter).
    pub fn inverse(&self) -> bool {
        self.query.starts_with('!')
    }

    fn rerank(&mut self) {
        let names: Vec<String> = self.values.iter().map(|(v, _)| v.clone()).collect();
        let query = self.query.trim_start_matches('!');
        self.shown = rank(&names, query);
        self.cursor = self.cursor.min(self.shown.len().saturating_sub(1));
    }

    pub fn type_char(&mut self, c: char) {
        self.query.push(c);
        self.cursor = 0;
        self.rerank();
    }

    pub fn erase(&mut self) {
        self.query.pop();
        self.cursor = 0;
        self.rerank();
    }

    pub fn move_by(&mut self, d: isize) {
        if self.shown.is_empty() {
            return;
        }
        self.cursor = (self.cursor as isize + d).clamp(0, self.shown.len() as isize - 1) as usize;
    }

    pub fn toggle(&mut self) {
        if let Some(&i) = self.shown.get(self.cursor) {
            self.touched = true;
            let v = self.values[i].0.clone();
            if !self.chosen.remove(&v) {
                self.chosen.insert(v);
            }
        }
    }

    /// What applying gives: the chosen values; when none is chosen, the one
    /// under the cursor (Enter on a value picks it), unless the operator
    /// unselected everything (then: no filter on this column).
    pub fn result(&self) -> Vec<String> {
        if self.chosen.is_empty() {
            if self.touched {
                return Vec::new();
            }
            return self
                .shown
                .get(self.cursor)
                .map(|&i| vec![self.values[i].0.clone()])
                .unwrap_or_default();
        }
        self.chosen.iter().cloned().collect()
    }
}
