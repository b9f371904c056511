//! Everything that can change the TUI's state, as data: keys become actions
//! through the keymap, the data worker's answers and the clock arrive as
//! actions too, and [`super::state::App::update`] is the one place that acts.

use super::data::Response;
use super::state::RulesInfo;

/// A column a picker filters on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Skill,
    Status,
    Tool,
}

impl Column {
    pub fn label(self) -> &'static str {
        match self {
            Column::Skill => "skill",
            Column::Status => "status",
            Column::Tool => "tool",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Quit,
    /// `?`: show or hide the keys.
    Help,
    /// `Esc`: close the topmost thing (overlay, detail, input).
    Back,
    /// `Enter`: open the selected row, or apply a picker or the search.
    Confirm,
    NextPane,
    Up,
    Down,
    PageUp,
    PageDown,
    /// The oldest row (`Home`/`g`).
    Top,
    /// Back to the newest row and live following (`End`/`G`).
    Follow,
    ScrollUp(usize),
    ScrollDown(usize),
    OpenPicker(Column),
    /// In a picker: select or unselect the value under the cursor.
    Toggle,
    DeniedOnly,
    ClearFilters,
    /// Cycle the time range: 15 minutes, 1 hour, 24 hours, 7 days, all.
    CycleRange,
    /// `/`: type a fuzzy search over tool, params and result.
    Search,
    /// A character typed into the open input (picker query or search).
    Input(char),
    /// Backspace in the open input.
    Erase,
    Resize(u16, u16),
    /// The database files changed on disk: read what is new.
    DbChanged,
    /// The slow timer: the clock moved, the rules may have been reloaded.
    Tick(chrono::DateTime<chrono::Utc>, RulesInfo),
    /// An answer of the data worker.
    Data(Box<Response>),
}

/// What `update` asks the outside world to do; the event loop does it.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Request(super::data::Request),
}
