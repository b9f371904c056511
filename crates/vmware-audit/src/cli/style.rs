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
        use vmware_policy::audit::status::{Kind, kind};
        match kind(status) {
            Kind::Bypassed => Paint::Magenta,
            Kind::Denied | Kind::Error => Paint::Red,
            Kind::Interrupted => Paint::Yellow,
            Kind::DryRun => Paint::Dim,
            Kind::Ok => Paint::Green,
            Kind::Other => Paint::Plain,
        }
    }
}
