//! The terminal, taken and given back: raw mode, the alternate screen and the
//! mouse on entry; all restored on every exit, a panic included.

use std::io::{Stdout, stdout};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Give the terminal back (idempotent: safe to call twice).
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Take the terminal; it is given back by [`restore`], which the panic hook
/// installed here also calls before the panic message is printed.
pub fn setup() -> std::io::Result<Term> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
    enable_raw_mode()?;
    if let Err(e) = execute!(stdout(), EnterAlternateScreen, EnableMouseCapture) {
        restore();
        return Err(e);
    }
    Terminal::new(CrosstermBackend::new(stdout())).inspect_err(|_| restore())
}

/// Put `text` on the clipboard with OSC 52, the terminal's own mechanism
/// (xterm, tmux with `set-clipboard on`, kitty, iTerm2, Windows Terminal,
/// and over SSH): no clipboard daemon, no X or Wayland connection.
pub fn copy_to_clipboard(text: &str) {
    use base64::Engine as _;
    use std::io::Write;
    let payload = base64::engine::general_purpose::STANDARD.encode(text);
    let mut out = stdout();
    let _ = write!(out, "\x1b]52;c;{payload}\x07");
    let _ = out.flush();
}
