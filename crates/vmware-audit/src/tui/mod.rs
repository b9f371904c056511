//! `vmware-audit tui`: the live audit stream, filters, stats and detail.
//!
//! State ([`state`]), the one place it changes ([`update`]), and drawing
//! ([`view`], a pure function of state) are kept apart; keys reach `update`
//! only as actions looked up in the [`keymap`] table. The loop here blocks
//! until something happens (a key, a change to the database files, an answer
//! of the data worker, or a slow timer), so an idle TUI costs no CPU.

pub mod action;
pub mod data;
pub mod data_fleet;
pub mod data_local;
pub mod editor;
pub mod effects;
pub mod export;
pub mod keymap;
pub mod paging;
pub mod search;
pub mod state;
pub mod terminal;
pub mod update;
pub mod update_editor;
pub mod update_tools;
pub mod view;

#[cfg(test)]
mod editor_tests;
#[cfg(test)]
mod filters_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tools_tests;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use crossterm::event::Event as TermEvent;
use vmware_policy::PolicyEngine;

use action::Action;
use data::{Response, Worker};
use state::{App, RulesInfo};

pub struct Options {
    pub db: PathBuf,
    pub rules: PathBuf,
    pub color: bool,
    /// Open the rule editor at once (`tui --edit`).
    pub edit: bool,
    /// The start-up filters (`tui --status denied --since 2h ...`).
    pub filter: vmware_policy::audit::Filter,
    /// Read the archives with the live file (`tui --archives`).
    pub archives: bool,
    /// Read the fleet's PostgreSQL instead (`--source postgres://`).
    pub source: Option<crate::fleet::connect::Target>,
}

enum Event {
    Input(TermEvent),
    Data(Response),
    Files,
}

/// Run the TUI until the operator quits. Returns the process exit code.
pub fn run(opts: Options) -> i32 {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        eprintln!(
            "vmware-audit tui: needs an interactive terminal. For scripts and pipes use \
             `vmware-audit log --follow`, `log --json` or `stats`."
        );
        return 2;
    }
    let engine = PolicyEngine::new(&opts.rules);
    let (tx, rx) = mpsc::channel::<Event>();
    let (worker, watching) = match &opts.source {
        // The fleet has no files to watch: the tail polls (250 ms).
        Some(t) => (
            Worker::spawn_fleet(t.clone(), tx.clone(), Event::Data),
            false,
        ),
        None => (
            Worker::spawn(opts.db.clone(), opts.archives, tx.clone(), Event::Data),
            watch_files(&opts.db, tx.clone()),
        ),
    };
    let mut trace = Trace::from_env();
    let mut term = match terminal::setup() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("vmware-audit tui: cannot set up the terminal: {e}");
            return 2;
        }
    };
    spawn_input(tx);
    let mut app = App::new(
        match &opts.source {
            Some(t) => format!("fleet {}", t.shown),
            None => opts.db.display().to_string(),
        },
        RulesInfo::read(&engine.rules(), &opts.rules).with_seal(&opts.db),
        chrono::Utc::now(),
        opts.color,
    );
    app.rules_path = opts.rules.clone();
    app.set_filters(state::Filters::from_filter(opts.filter.clone()));
    app.archives = opts.archives;
    app.fleet = opts.source.is_some();
    // config.toml: keys, colours, saved filters; what is wrong is said, and
    // the defaults stand in for it.
    let config = crate::config::load(&crate::config::path());
    keymap::set_overrides(config.keys.clone());
    app.palette = config.palette;
    app.saved = config.filters.clone();
    if config.color == Some(false) {
        app.color = false;
    }
    if let Some(problem) = config.problems.first() {
        app.notice = Some(problem.clone());
    }
    let performer = effects::Performer {
        worker: &worker,
        engine: &engine,
        rules_path: opts.rules.clone(),
        operator: vmware_policy::identity::os_user(),
    };
    let (w, h) = crossterm::terminal::size().unwrap_or((120, 40));
    let mut first = vec![Action::Resize(w, h)];
    if opts.edit {
        first.push(Action::OpenEditor);
    }
    let mut queue: std::collections::VecDeque<Action> = first.into();
    let start = app.start();
    queue.extend(performer.perform(start));
    while let Some(a) = queue.pop_front() {
        let fx = app.update(a);
        queue.extend(performer.perform(fx));
    }
    // Validation waits until typing pauses.
    let mut validate_at: Option<Instant> = None;
    // The slow timer: the header's clock and window countdown, rules reloads,
    // and (when the files cannot be watched) the tail.
    let tick = if watching {
        Duration::from_secs(1)
    } else {
        Duration::from_millis(250)
    };
    let mut next_tick = Instant::now() + tick;
    let mut dirty = true;
    let code = loop {
        if dirty {
            if let Err(e) = term.draw(|f| view::draw(f, &app)) {
                terminal::restore();
                eprintln!("vmware-audit tui: cannot draw: {e}");
                break 2;
            }
            trace.frame(&app);
            dirty = false;
            // Test hook: proves in a real terminal that a panic gives it back.
            if std::env::var_os("VMWARE_AUDIT_TUI_PANIC_AFTER_FIRST_FRAME").is_some() {
                panic!("panic requested by VMWARE_AUDIT_TUI_PANIC_AFTER_FIRST_FRAME");
            }
        }
        let due = validate_at.map_or(next_tick, |v| v.min(next_tick));
        let wait = due.saturating_duration_since(Instant::now());
        let mut events = Vec::new();
        match rx.recv_timeout(wait) {
            Ok(e) => events.push(e),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break 0,
        }
        // Take everything that is waiting: a burst of file events is one tail.
        while events.len() < 4096
            && let Ok(e) = rx.try_recv()
        {
            events.push(e);
        }
        let mut actions = Vec::new();
        let mut files = false;
        for e in events {
            match e {
                Event::Input(TermEvent::Key(k))
                    if k.kind != crossterm::event::KeyEventKind::Release =>
                {
                    let map = keymap::bindings();
                    actions.extend(keymap::action_for_key(&map, app.context(), k));
                }
                Event::Input(TermEvent::Mouse(m)) => actions.extend(keymap::action_for_mouse(
                    &keymap::bindings(),
                    app.context(),
                    m,
                )),
                Event::Input(TermEvent::Resize(w, h)) => actions.push(Action::Resize(w, h)),
                Event::Input(_) => {}
                Event::Data(r) => actions.push(Action::Data(Box::new(r))),
                Event::Files => {
                    files = true;
                    // The rules may have changed too: look again soon (the
                    // engine reloads a few ms after the file event).
                    next_tick = next_tick.min(Instant::now() + Duration::from_millis(60));
                }
            }
        }
        if files {
            actions.push(Action::DbChanged);
        }
        if validate_at.is_some_and(|v| Instant::now() >= v) {
            validate_at = None;
            actions.push(Action::Validate);
        }
        if Instant::now() >= next_tick {
            actions.push(Action::Tick(
                chrono::Utc::now(),
                Box::new(RulesInfo::read(&engine.rules(), &opts.rules).with_seal(&opts.db)),
            ));
            next_tick = Instant::now() + tick;
        }
        let mut queue: std::collections::VecDeque<Action> = actions.into();
        while let Some(a) = queue.pop_front() {
            let generation = app.generation;
            if matches!(a, Action::Saved(Ok(_), _) | Action::FreezeDone(Ok(_))) {
                trace.line("saved");
            }
            if let Action::Data(r) = &a
                && let Response::Replay {
                    result: Ok((report, ms)),
                } = r.as_ref()
            {
                trace.line(&format!("replay {} {ms}", report.rows));
            }
            let fx = app.update(a);
            if app.generation != generation {
                trace.filter_started();
            }
            queue.extend(performer.perform(fx));
            dirty = true;
        }
        if validate_at.is_none() && app.editor.as_ref().is_some_and(|e| e.validation_due()) {
            validate_at = Some(Instant::now() + Duration::from_millis(150));
        }
        if app.quit {
            break 0;
        }
    };
    terminal::restore();
    code
}

/// Keys, mouse and resizes, read on their own thread (reading blocks).
fn spawn_input(tx: Sender<Event>) {
    std::thread::Builder::new()
        .name("tui-input".into())
        .spawn(move || {
            while let Ok(e) = crossterm::event::read() {
                if tx.send(Event::Input(e)).is_err() {
                    break;
                }
            }
        })
        .expect("spawn the input thread");
}

/// Wake the loop when the database, its WAL or the rules change. Returns
/// false when the directory cannot be watched (the loop then polls).
fn watch_files(db: &Path, tx: Sender<Event>) -> bool {
    use notify::Watcher;
    if std::env::var_os("VMWARE_POLICY_POLL").is_some() {
        return false;
    }
    let Some(dir) = db.parent().filter(|d| d.is_dir()) else {
        return false;
    };
    let watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res
            && !matches!(ev.kind, notify::EventKind::Access(_))
        {
            let _ = tx.send(Event::Files);
        }
    });
    match watcher {
        Ok(mut w) => {
            if w.watch(dir, notify::RecursiveMode::NonRecursive).is_err() {
                return false;
            }
            // The watcher lives as long as the process.
            std::mem::forget(w);
            true
        }
        Err(_) => false,
    }
}

/// Timings for the benchmark script, written only when
/// `VMWARE_AUDIT_TUI_TRACE` names a file: unix microseconds and an event.
struct Trace {
    out: Option<std::fs::File>,
    first_rows: bool,
    newest: i64,
    filter_at: Option<Instant>,
    stats_at: Option<Instant>,
}

impl Trace {
    fn from_env() -> Trace {
        let out = std::env::var_os("VMWARE_AUDIT_TUI_TRACE").and_then(|p| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .ok()
        });
        let mut t = Trace {
            out,
            first_rows: false,
            newest: 0,
            filter_at: None,
            stats_at: None,
        };
        t.line("start");
        t
    }

    fn line(&mut self, what: &str) {
        if let Some(f) = self.out.as_mut() {
            let us = chrono::Utc::now().timestamp_micros();
            let _ = writeln!(f, "{us} {what}");
        }
    }

    fn filter_started(&mut self) {
        if self.out.is_some() {
            self.filter_at = Some(Instant::now());
        }
    }

    fn frame(&mut self, app: &App) {
        if self.out.is_none() {
            return;
        }
        let rows = app.stream.rows.len();
        if !self.first_rows && rows > 0 {
            self.first_rows = true;
            self.line(&format!("first_rows {rows}"));
        }
        if let Some(at) = self.filter_at
            && !app.stream.initial
        {
            self.filter_at = None;
            let ms = at.elapsed().as_secs_f64() * 1000.0;
            self.line(&format!("filter_frame {ms:.1}"));
        }
        match (app.stats_loading, self.stats_at) {
            (true, None) => self.stats_at = Some(Instant::now()),
            (false, Some(at)) => {
                self.stats_at = None;
                let ms = at.elapsed().as_secs_f64() * 1000.0;
                self.line(&format!("stats_frame {ms:.1}"));
            }
            _ => {}
        }
        if let Some(last) = app.stream.rows.back()
            && last.id != self.newest
        {
            self.newest = last.id;
            self.line(&format!("newest {}", last.id));
        }
    }
}
