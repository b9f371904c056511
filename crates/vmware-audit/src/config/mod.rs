//! `$XDG_CONFIG_HOME/vmware-audit/config.toml` (default `~/.config/...`): the
//! operator's keys, colours and saved filters. Optional; a file that does not
//! parse, or an entry that makes no sense, is reported with its line and
//! column and the defaults are used for it: never a crash, never a refusal
//! to start.
//!
//! ```toml
//! [keys]            # action = key; `vmware-audit config` lists the actions
//! quit = "Q"
//! export = "ctrl-e"
//!
//! [theme]
//! color = true      # false: no colour, as NO_COLOR
//! accent = "blue"   # accent, good, warn, bad, highlight: a colour name or "#rrggbb"
//!
//! [filters.prod-denials]   # chosen in the TUI with `F`; log's flag names
//! status = ["denied"]
//! since = "24h"
//! not_agent = ["codex"]
//! ```

pub mod keys;
pub mod theme;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use vmware_policy::policy::line_col_of_byte;

pub use theme::Palette;

/// Where the file is: `$XDG_CONFIG_HOME`, else `~/.config`.
pub fn path() -> PathBuf {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            vmware_policy::home::expanduser(Path::new("~"))
                .unwrap_or_else(|_| PathBuf::from("."))
                .join(".config")
        });
    base.join("vmware-audit").join("config.toml")
}

/// A saved filter: the flags `log` takes, by the same names (`not_agent`,
/// `since`), read into the CLI's own `FilterArgs` and turned into a filter by
/// its `to_filter`, so a saved filter means what the flags mean.
pub type SavedFilter = crate::cli::args::FilterArgs;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    keys: BTreeMap<String, String>,
    #[serde(default)]
    theme: theme::ThemeFile,
    #[serde(default)]
    filters: BTreeMap<String, SavedFilter>,
}

/// The effective configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub exists: bool,
    /// Action name -> key, as written (checked: every one is usable).
    pub keys: BTreeMap<String, String>,
    pub color: Option<bool>,
    pub palette: Palette,
    pub filters: BTreeMap<String, SavedFilter>,
    /// What was wrong, each `path:line:column: message` with what is used instead.
    pub problems: Vec<String>,
}

/// Read the file at `path`: a missing file is the defaults, quietly.
pub fn load(path: &Path) -> Config {
    let mut cfg = Config::default();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return cfg,
        Err(e) => {
            cfg.exists = true;
            cfg.problems.push(format!(
                "{}: cannot be read ({e}); the defaults are in use",
                path.display()
            ));
            return cfg;
        }
    };
    cfg.exists = true;
    let file: File = match toml::from_str(&text) {
        Ok(f) => f,
        Err(e) => {
            let (line, col) = e
                .span()
                .map_or((1, 1), |s| line_col_of_byte(text.as_bytes(), s.start));
            cfg.problems.push(format!(
                "{}:{line}:{col}: {}; the defaults are in use",
                path.display(),
                e.message().trim()
            ));
            return cfg;
        }
    };
    let at = |needle: &str| -> String {
        let (line, col) = text
            .find(needle)
            .map_or((1, 1), |i| line_col_of_byte(text.as_bytes(), i));
        format!("{}:{line}:{col}", path.display())
    };
    for (action, key) in file.keys {
        match keys::check(&action, &key) {
            Ok(()) => {
                cfg.keys.insert(action, key);
            }
            Err(why) => cfg
                .problems
                .push(format!("{}: {why}; the default key is in use", at(&action))),
        }
    }
    if let Err((name, why)) = keys::conflicts(&cfg.keys) {
        cfg.problems
            .push(format!("{}: {why}; the default keys are in use", at(&name)));
        cfg.keys.clear();
    }
    cfg.color = file.theme.color;
    let (palette, bad) = theme::palette(&file.theme);
    cfg.palette = palette;
    for (role, value) in bad {
        cfg.problems.push(format!(
            "{}: {value:?} is not a colour (a name such as \"blue\", or \"#rrggbb\"); the default {role} is in use",
            at(&role)
        ));
    }
    cfg.filters = file.filters;
    cfg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Config {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        std::fs::write(&p, text).unwrap();
        load(&p)
    }

    #[test]
    fn a_good_file_is_read() {
        let c = load_text(
            "[keys]\nquit = \"Q\"\nexport = \"ctrl-e\"\n[theme]\ncolor = false\naccent = \"#0000ff\"\n[filters.prod]\nstatus = [\"denied\"]\nsince = \"24h\"\n",
        );
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert_eq!(c.keys["quit"], "Q");
        assert_eq!(c.color, Some(false));
        assert_eq!(c.palette.accent, ratatui::style::Color::Rgb(0, 0, 255));
        let f = c.filters["prod"].to_filter().unwrap();
        assert_eq!(f.statuses, ["denied"]);
        assert!(f.since.is_some());
    }

    #[test]
    fn every_problem_says_where_and_the_defaults_stay() {
        let c = load_text("[keys]\nquit = \"x\"\n[theme\n");
        assert_eq!(c.problems.len(), 1);
        assert!(c.problems[0].contains("config.toml:3:"), "{:?}", c.problems);
        assert!(c.keys.is_empty(), "nothing half-read");

        let c = load_text(
            "[keys]\nquit = \"Q\"\nfly = \"f\"\nhelp = \"ctrl-\"\n[theme]\nbad = \"blurple\"\n",
        );
        let all = c.problems.join("\n");
        assert!(all.contains(":3:1: no action is named \"fly\""), "{all}");
        assert!(all.contains(":4:1:") && all.contains("not a key"), "{all}");
        assert!(all.contains(":6:1: \"blurple\" is not a colour"), "{all}");
        assert_eq!(c.keys.len(), 1, "the good entry is kept");

        let c = load_text("[keys]\nquit = \"s\"\n");
        assert!(c.problems[0].contains("already"), "{:?}", c.problems);
        assert!(c.keys.is_empty());

        // A saved filter takes log's flag names, and no other.
        let c = load_text("[filters.all]\narchive = true\n");
        assert!(c.problems[0].contains(":2:1:"), "{:?}", c.problems);
        assert!(c.filters.is_empty());
        let c = load_text("[filters.all]\narchives = true\n");
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert!(c.filters["all"].archives);

        let c = load_text("[unknown]\nx = 1\n");
        assert!(c.problems[0].contains("config.toml:1:"), "{:?}", c.problems);
    }

    #[test]
    fn no_file_is_the_defaults_quietly() {
        let c = load(Path::new("/nonexistent/config.toml"));
        assert!(!c.exists && c.problems.is_empty() && c.keys.is_empty());
    }
}
