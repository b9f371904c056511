//! Colour, only where it helps and only where wanted: a terminal, no NO_COLOR.

/// How a cell is painted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Paint {
    Plain,
    Bold,
    Dim,
    Red,
    Yellow,
    Green,
    Cyan,
    Magenta,
}

impl Paint {
    pub fn apply(self, text: &str, color: bool) -> String {
        let code = match self {
            _ if !color => return text.to_string(),
            Paint::Plain => return text.to_string(),
            Paint::Bold => "1",
            Paint::Dim => "2",
            Paint::Red => "31",
            Paint::Yellow => "33",
            Paint::Green => "32",
            Paint::Cyan => "36",
            Paint::Magenta => "35",
        };
        format!("\u{1b}[{code}m{text}\u{1b}[0m")
    }

    /// A status coloured by kind: denied and error red, interrupted yellow, dry
    /// runs dim, bypasses magenta, ok green. An unknown status is shown plain.
    pub fn for_status(status: &str) -> Paint {
        if status.ends_with("_bypassed") {
            Paint::Magenta
        } else if status.contains("denied")
            || status.contains("error")
            || status == "rejected"
            || status == "budget_exceeded"
        {
            Paint::Red
        } else if status.starts_with("interrupted") {
            Paint::Yellow
        } else if status.starts_with("dry_run") {
            Paint::Dim
        } else if status == "ok" {
            Paint::Green
        } else {
            Paint::Plain
        }
    }
}
