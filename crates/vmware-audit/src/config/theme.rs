//! `[theme]`: colour on or off, and the colour of each role the views use.

use ratatui::style::Color;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeFile {
    pub color: Option<bool>,
    pub accent: Option<String>,
    pub good: Option<String>,
    pub warn: Option<String>,
    pub bad: Option<String>,
    pub highlight: Option<String>,
}

/// The colours of the roles (`Theme` applies them, or none without colour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    pub accent: Color,
    pub good: Color,
    pub warn: Color,
    pub bad: Color,
    pub highlight: Color,
}

impl Default for Palette {
    fn default() -> Palette {
        Palette {
            accent: Color::Cyan,
            good: Color::Green,
            warn: Color::Yellow,
            bad: Color::Red,
            highlight: Color::Yellow,
        }
    }
}

/// The palette the file asks for, and the entries that are not colours.
pub fn palette(f: &ThemeFile) -> (Palette, Vec<(String, String)>) {
    let mut p = Palette::default();
    let mut bad = Vec::new();
    for (role, value, slot) in [
        ("accent", &f.accent, &mut p.accent),
        ("good", &f.good, &mut p.good),
        ("warn", &f.warn, &mut p.warn),
        ("bad", &f.bad, &mut p.bad),
        ("highlight", &f.highlight, &mut p.highlight),
    ] {
        if let Some(v) = value {
            match v.parse::<Color>() {
                Ok(c) => *slot = c,
                Err(_) => bad.push((role.to_string(), v.clone())),
            }
        }
    }
    (p, bad)
}
