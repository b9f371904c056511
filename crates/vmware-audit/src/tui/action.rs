//! Everything that can change the TUI's state, as data: keys become actions
//! through the keymap, the data worker's answers and the clock arrive as
//! actions too, and [`super::state::App::update`] is the one place that acts.

use super::data::Response;
use super::state::RulesInfo;
use vmware_policy::policy::Explanation;
use vmware_policy::policy::save::{SaveError, Saved, Stamp};

/// A column a picker filters on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Column {
    Skill,
    Status,
    Tool,
    Agent,
    User,
    Risk,
    /// The host a fleet row came from (`--source postgres://`).
    Host,
}

impl Column {
    /// Every column, in the filter bar's order.
    pub const ALL: [Column; 7] = [
        Column::Skill,
        Column::Status,
        Column::Tool,
        Column::Agent,
        Column::User,
        Column::Risk,
        Column::Host,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Column::Skill => "skill",
            Column::Status => "status",
            Column::Tool => "tool",
            Column::Agent => "agent",
            Column::User => "user",
            Column::Risk => "risk",
            Column::Host => "host",
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
    /// A click on this terminal row (the stream selects the row there).
    Click(u16),
    OpenPicker(Column),
    /// In a picker: select or unselect the value under the cursor.
    Toggle,
    DeniedOnly,
    ClearFilters,
    /// `F`: choose one of config.toml's saved filters.
    SavedFilters,
    /// `A`: read the archives with the live file as one history (or stop).
    ToggleArchives,
    /// `m`: mark or unmark the selected row.
    Mark,
    /// `]` / `[`: the next / previous marked row in the stream.
    NextMark,
    PrevMark,
    /// `y`: the marked rows (or the selected one) to the clipboard, as JSON.
    Copy,
    /// `x`: type a file name, and the view is written to it.
    Export,
    /// `J`: type a time, and the stream jumps to the last row at or before it.
    JumpPrompt,
    /// `T`: type `SINCE [UNTIL]`, and the stream and stats keep to it.
    RangePrompt,
    /// Cycle the time range: 15 minutes, 1 hour, 24 hours, 7 days, all.
    CycleRange,
    /// `Ctrl-r` in the search prompt: fuzzy, substring, regex.
    SearchMode,
    /// `Ctrl-f` in the search prompt: filter rows, or find among them.
    SearchFind,
    /// `n` / `N`: the next / previous row the find matches.
    NextMatch,
    PrevMatch,
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
    Tick(chrono::DateTime<chrono::Utc>, Box<RulesInfo>),
    /// An answer of the data worker.
    Data(Box<Response>),

    // The rule editor.
    /// `e`: open the rules file in force in the editor.
    OpenEditor,
    /// The file was read: its text (`None`: no file yet) and stamp.
    EditorLoaded(Result<(Option<String>, Stamp), String>),
    /// A key for the buffer itself.
    EditKey(crossterm::event::KeyEvent),
    /// The debounce after typing ran out: validate the buffer.
    Validate,
    Save,
    Saved(Result<Saved, SaveError>, chrono::DateTime<chrono::Utc>),
    Undo,
    Redo,
    Find,
    NextDiagnostic,
    WhatIf,
    WhatIfResult(Box<(Explanation, Explanation)>),
    Replay,
    /// Freeze (or unfreeze) the rules, after a confirmation.
    Freeze,
    FreezeDone(Result<String, String>),
    /// Tab inside a panel: the next field or choice.
    NextField,
    Yes,
    No,
    /// In a conflict: take the file on disk.
    Reload,
    /// In a conflict: write the buffer over it.
    Overwrite,
}

/// What `update` asks the outside world to do; the event loop does it.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Request(super::data::Request),
    /// Read the rules file for the editor.
    LoadRules,
    /// Save the buffer (refusing if the disk is not `expected`; `None`: overwrite).
    SaveRules {
        text: String,
        expected: Option<Stamp>,
    },
    /// Decide an operation with the rules in force and with `text`.
    WhatIf {
        operation: String,
        env: String,
        risk: String,
        text: String,
    },
    /// Replay the rows `filter` selects under the rules in force and `text`.
    Replay {
        filter: vmware_policy::audit::Filter,
        text: String,
    },
    /// Put in (true) or take out (false) the emergency freeze, on disk.
    Freeze(bool),
    /// Hand `text` to the terminal's clipboard (OSC 52).
    Clipboard(String),
}
