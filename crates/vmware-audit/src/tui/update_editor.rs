//! `update` for the rule editor: the same pure state machine, split out so
//! each file keeps to one job. Reading, saving, what-if, replay and freeze are
//! returned as effects.

use vmware_policy::policy::BASELINE;
use vmware_policy::policy::save::{SaveError, Stamp};

use super::action::{Action, Effect};
use super::data::Request;
use super::editor::{Editor, Mode, ReplayRange, WhatIf, diff};
use super::keymap::Context;
use super::state::{App, Pane};
use super::view::layout;

/// Rows a replay reads at most (newest first).
pub const REPLAY_LIMIT: usize = 100_000;

impl App {
    /// Whether `action` belongs to the editor in context `ctx`.
    pub fn is_editor_action(&self, ctx: Context, action: &Action) -> bool {
        use Action as A;
        matches!(
            action,
            A::OpenEditor
                | A::EditorLoaded(_)
                | A::EditKey(_)
                | A::Validate
                | A::Save
                | A::Saved(..)
                | A::Undo
                | A::Redo
                | A::Find
                | A::NextDiagnostic
                | A::WhatIf
                | A::WhatIfResult(_)
                | A::Replay
                | A::Freeze
                | A::FreezeDone(_)
                | A::NextField
                | A::Yes
                | A::No
                | A::Reload
                | A::Overwrite
        ) || (matches!(
            ctx,
            Context::Editor
                | Context::EditorSearch
                | Context::WhatIf
                | Context::Replay
                | Context::Confirm
                | Context::Conflict
        ) && matches!(
            action,
            A::Back | A::Confirm | A::Input(_) | A::Erase | A::Up | A::Down | A::Quit
        ) || (ctx == Context::Conflict
            && matches!(
                action,
                A::PageUp | A::PageDown | A::ScrollUp(_) | A::ScrollDown(_)
            )))
    }

    pub fn update_editor(&mut self, action: Action) -> Vec<Effect> {
        let mut fx = Vec::new();
        if let Action::OpenEditor = action {
            if self.editor.is_some() {
                self.pane = Pane::Editor;
            } else {
                fx.push(Effect::LoadRules);
            }
            return fx;
        }
        if let Action::EditorLoaded(r) = action {
            match r {
                // Already open (a reload after a freeze): keep the editor's state.
                Ok((Some(text), stamp)) if self.editor.is_some() => {
                    let e = self.editor.as_mut().expect("checked");
                    let message = e.message.take();
                    e.replace(&text, stamp);
                    e.message = message;
                }
                Ok((text, stamp)) => {
                    let mut e = Editor::open(self.rules_path.clone(), text, stamp, BASELINE);
                    (e.height, e.width) = layout::editor_text_size(self.size.0, self.size.1);
                    self.editor = Some(e);
                    self.pane = Pane::Editor;
                }
                Err(msg) => self.notice = Some(msg),
            }
            fx.extend(self.editor.as_ref().and_then(blast_radius));
            return fx;
        }
        if let Action::FreezeDone(r) = &action {
            // May arrive with the editor closed (nothing else to update then).
            match r {
                Ok(msg) => self.notice = Some(msg.clone()),
                Err(msg) => self.notice = Some(format!("freeze failed: {msg}")),
            }
        }
        let Some(e) = self.editor.as_mut() else {
            return fx;
        };
        let text = |e: &Editor| e.text();
        match (std::mem::take(&mut e.mode), action) {
            // Leaving, quitting.
            (Mode::Edit, Action::Back) | (Mode::Edit, Action::Quit) if e.dirty() => {
                e.mode = Mode::ConfirmLeave;
            }
            (Mode::Edit, Action::Back) => self.close_editor(),
            (Mode::Edit, Action::Quit) => self.quit = true,
            (Mode::ConfirmLeave, Action::Yes) => self.close_editor(),
            (Mode::ConfirmLeave, Action::Save) => {
                e.mode = Mode::ConfirmLeave;
                fx.extend(save(e));
            }
            (Mode::ConfirmLeave, Action::Quit) => self.quit = true,
            (Mode::ConfirmLeave, _) => {}
            // Editing.
            (Mode::Edit, Action::EditKey(k)) => e.edit(k),
            (m, Action::Validate) => {
                e.mode = m;
                e.validate();
                fx.extend(blast_radius(e));
            }
            (Mode::Edit, Action::Undo) => e.undo(),
            (Mode::Edit, Action::Redo) => e.redo(),
            (Mode::Edit, Action::NextDiagnostic) => {
                if e.validation_due() {
                    e.validate();
                }
                e.next_diagnostic();
            }
            (Mode::Edit, Action::Find) => e.mode = Mode::Search(e.search.clone()),
            (Mode::Search(mut q), Action::Input(c)) => {
                q.push(c);
                e.mode = Mode::Search(q);
            }
            (Mode::Search(mut q), Action::Erase) => {
                q.pop();
                e.mode = Mode::Search(q);
            }
            (Mode::Search(q), Action::Confirm) => {
                e.find(&q);
                e.mode = Mode::Search(q);
            }
            (Mode::Search(_), Action::Back) => {}
            // Saving.
            (Mode::Edit, Action::Save) => fx.extend(save(e)),
            (m, Action::Saved(r, at)) => match r {
                Ok(s) => {
                    let leaving = m == Mode::ConfirmLeave;
                    e.saved(s.stamp, at, s.backup.map(|b| b.display().to_string()));
                    if leaving {
                        self.close_editor();
                    }
                }
                Err(SaveError::Conflict { on_disk }) => {
                    let d = diff(on_disk.as_deref().unwrap_or(""), &text(e));
                    e.mode = Mode::Conflict {
                        on_disk,
                        diff: d,
                        scroll: 0,
                    };
                }
                Err(SaveError::Io(msg)) => {
                    e.mode = if m == Mode::ConfirmLeave {
                        Mode::Edit
                    } else {
                        m
                    };
                    e.message = Some((format!("Not saved: {msg}"), true));
                }
            },
            (Mode::Conflict { on_disk, .. }, Action::Reload) => {
                match on_disk {
                    Some(t) => {
                        let stamp =
                            Stamp::Hash(vmware_policy::policy::rules::short_hash(t.as_bytes()));
                        e.replace(&t, stamp);
                    }
                    None => {
                        e.stamp = Stamp::Absent;
                    }
                }
                e.message = Some(("Reloaded the file on disk.".into(), false));
            }
            (Mode::Conflict { .. }, Action::Overwrite) => {
                if e.errors() > 0 {
                    e.message = Some(("The buffer has errors: not saved.".into(), true));
                } else {
                    fx.push(Effect::SaveRules {
                        text: text(e),
                        expected: None,
                    });
                }
            }
            (Mode::Conflict { .. }, Action::Back) => {}
            (
                Mode::Conflict {
                    on_disk,
                    diff,
                    scroll,
                },
                a @ (Action::Up
                | Action::Down
                | Action::PageUp
                | Action::PageDown
                | Action::ScrollUp(_)
                | Action::ScrollDown(_)),
            ) => {
                let step: i32 = match a {
                    Action::Up => -1,
                    Action::Down => 1,
                    Action::PageUp => -5,
                    Action::PageDown => 5,
                    Action::ScrollUp(n) => -i32::try_from(n).unwrap_or(i32::MAX),
                    Action::ScrollDown(n) => i32::try_from(n).unwrap_or(i32::MAX),
                    _ => 0,
                };
                // The view clamps to what the panel can show; this bound keeps
                // a key pressed at the end from piling up invisible scroll.
                let max = i32::try_from(diff.len() + 2).unwrap_or(i32::MAX);
                let scroll = (i32::from(scroll) + step).clamp(0, max) as u16;
                e.mode = Mode::Conflict {
                    on_disk,
                    diff,
                    scroll,
                };
            }
            (m @ Mode::Conflict { .. }, _) => e.mode = m,
            // What-if.
            (Mode::Edit, Action::WhatIf) => {
                e.mode = Mode::WhatIf(Box::new(WhatIf::new()));
            }
            (Mode::WhatIf(mut w), a) => {
                match a {
                    Action::Input(c) => w.type_char(c),
                    Action::Erase => w.erase(),
                    Action::NextField => w.next_field(),
                    Action::Confirm => fx.push(Effect::WhatIf {
                        operation: w.fields[0].clone(),
                        env: w.fields[1].clone(),
                        risk: w.fields[2].clone(),
                        text: text(e),
                    }),
                    Action::WhatIfResult(r) => w.result = Some(*r),
                    Action::Back => {
                        e.mode = Mode::Edit;
                        return fx;
                    }
                    _ => {}
                }
                e.mode = Mode::WhatIf(w);
            }
            // Replay.
            (Mode::Edit, Action::Replay) => e.mode = Mode::Replay(Box::default()),
            (Mode::Replay(mut p), a) => {
                match a {
                    Action::NextField => p.range = p.range.next(),
                    Action::Up => p.scroll = p.scroll.saturating_sub(1),
                    Action::Down => p.scroll += 1,
                    Action::Confirm if !p.running => {
                        p.running = true;
                        p.result = None;
                        let filter = match p.range {
                            ReplayRange::LastHour => since(self.now, chrono::Duration::hours(1)),
                            ReplayRange::LastDay => since(self.now, chrono::Duration::days(1)),
                            ReplayRange::CurrentFilter => self.filters.to_filter(),
                        };
                        fx.push(Effect::Replay {
                            filter,
                            text: text(e),
                        });
                    }
                    Action::Back => {
                        e.mode = Mode::Edit;
                        return fx;
                    }
                    _ => {}
                }
                e.mode = Mode::Replay(p);
            }
            // Freeze.
            (Mode::Edit, Action::Freeze) => {
                e.mode = Mode::ConfirmFreeze {
                    freeze: self.rules.frozen.is_none(),
                };
            }
            (Mode::ConfirmFreeze { freeze }, Action::Yes) => fx.push(Effect::Freeze(freeze)),
            (Mode::ConfirmFreeze { .. }, Action::No) => {}
            (m @ Mode::ConfirmFreeze { .. }, _) => e.mode = m,
            (m, Action::FreezeDone(r)) => {
                e.mode = m;
                let reload = r.is_ok() && !e.dirty();
                e.message = Some(match r {
                    Ok(msg) if e.dirty() => (
                        format!("{msg} Your unsaved edits stay: saving will show the difference."),
                        false,
                    ),
                    Ok(msg) => (msg, false),
                    Err(msg) => (format!("Freeze failed: {msg}"), true),
                });
                if reload {
                    fx.push(Effect::LoadRules);
                }
            }
            (m, Action::EditorLoaded(_)) => e.mode = m,
            (m, _) => e.mode = m,
        }
        fx
    }

    fn close_editor(&mut self) {
        self.editor = None;
        self.pane = Pane::Stream;
    }
}

/// Save when the buffer has no error; say why not otherwise.
/// When a diagnostic says a rule is wider than written (an unknown key in
/// it), ask the data worker how many recent calls that rule would deny; the
/// answer comes back as the same diagnostics with the count added.
fn blast_radius(e: &Editor) -> Option<Effect> {
    e.diagnostics
        .iter()
        .any(|d| d.widens_rule.is_some())
        .then(|| {
            Effect::Request(Request::BlastRadius {
                rev: e.rev,
                text: e.text(),
            })
        })
}

fn save(e: &mut Editor) -> Vec<Effect> {
    if e.validation_due() {
        e.validate();
    }
    let errors = e.errors();
    if errors > 0 {
        e.message = Some((
            format!(
                "Not saved: {errors} error{} (F8 goes to the next one). Skills keep the rules in force.",
                if errors == 1 { "" } else { "s" }
            ),
            true,
        ));
        return Vec::new();
    }
    vec![Effect::SaveRules {
        text: e.text(),
        expected: Some(e.stamp.clone()),
    }]
}

fn since(now: chrono::DateTime<chrono::Utc>, d: chrono::Duration) -> vmware_policy::audit::Filter {
    vmware_policy::audit::Filter {
        since: Some(vmware_policy::audit::python_ts(now - d)),
        ..Default::default()
    }
}
