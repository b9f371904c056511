//! Colours by meaning, or none at all (NO_COLOR, `--color never`): every
//! style the views use comes from here.

use ratatui::style::{Color, Modifier, Style};
use vmware_policy::audit::status::{Kind, kind};

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
    /// The colours of the roles, from config.toml's `[theme]`.
    pub palette: crate::config::Palette,
}

impl Theme {
    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }

    pub fn status(self, status: &str) -> Style {
        match kind(status) {
            Kind::Ok => self.fg(Color::Green),
            Kind::Denied => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            Kind::Error => self.fg(Color::LightRed),
            Kind::DryRun => self.fg(Color::Cyan),
            Kind::Interrupted => self.fg(Color::Yellow),
            Kind::Bypassed => self.fg(Color::Magenta),
            Kind::Other => Style::default(),
        }
    }

    /// The bar colour of a status (charts).
    pub fn status_bar(self, status: &str) -> Style {
        self.status(status).remove_modifier(Modifier::BOLD)
    }

    pub fn dim(self) -> Style {
        if self.color {
            Style::default().fg(Color::DarkGray)
        } else {
            Style::default()
        }
    }

    pub fn accent(self) -> Style {
        self.fg(self.palette.accent)
    }

    pub fn title(self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }

    pub fn good(self) -> Style {
        self.fg(self.palette.good).add_modifier(Modifier::BOLD)
    }

    pub fn warn(self) -> Style {
        self.fg(self.palette.warn).add_modifier(Modifier::BOLD)
    }

    pub fn bad(self) -> Style {
        self.fg(self.palette.bad).add_modifier(Modifier::BOLD)
    }

    /// The selected row: reversed, so it shows without colour too.
    pub fn selected(self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }

    /// A row marked with `m`: bold and underlined, so it shows without colour.
    pub fn marked(self) -> Style {
        self.fg(Color::Magenta)
            .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }

    /// What a search matched: bold, underlined (and yellow with colour).
    pub fn highlight(self) -> Style {
        self.fg(self.palette.highlight)
            .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }

    pub fn key(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }
}
