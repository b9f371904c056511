//! Carrying out what `update` asks for: requests to the data worker, and the
//! rule editor's file work (read, save, freeze) and evaluations (what-if,
//! replay), whose results come back as actions.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Utc;
use vmware_policy::PolicyEngine;
use vmware_policy::policy::save::{self, Stamp};
use vmware_policy::policy::{BASELINE, CallContext, RuleSet, Source, freeze};

use super::action::{Action, Effect};
use super::data::{ReplayJob, Request, Worker};
use super::update_editor::REPLAY_LIMIT;

pub struct Performer<'a> {
    pub worker: &'a Worker,
    pub engine: &'a PolicyEngine,
    pub rules_path: PathBuf,
    pub operator: String,
}

impl Performer<'_> {
    /// Do `effects`; what they produce at once comes back as actions.
    pub fn perform(&self, effects: Vec<Effect>) -> Vec<Action> {
        let mut out = Vec::new();
        for e in effects {
            match e {
                Effect::Request(r) => self.worker.send(r),
                Effect::Clipboard(text) => super::terminal::copy_to_clipboard(&text),
                Effect::LoadRules => {
                    out.push(Action::EditorLoaded(save::read_for_edit(&self.rules_path)))
                }
                Effect::SaveRules { text, expected } => {
                    let r = save::save(&self.rules_path, &text, expected.as_ref());
                    if r.is_ok() {
                        // The engine's watcher reloads; ask now too, so the
                        // pane shows the new rule set in force at once.
                        self.engine.reload();
                    }
                    out.push(Action::Saved(r, Utc::now()));
                }
                Effect::WhatIf {
                    operation,
                    env,
                    risk,
                    text,
                } => {
                    let edited = PolicyEngine::from_text(&text, &self.rules_path);
                    // No skill is given here: every skill's pre-2.0 names count.
                    let renamed = vmware_policy::renames::old_names_any_skill(&operation);
                    let aliases: Vec<&str> = renamed.iter().map(String::as_str).collect();
                    let ctx = CallContext {
                        env: &env,
                        risk_level: &risk,
                        aliases: &aliases,
                        ..CallContext::default()
                    };
                    let now = self.engine.explain(&operation, &ctx);
                    let then = edited.explain(&operation, &ctx);
                    out.push(Action::WhatIfResult(Box::new((now, then))));
                }
                Effect::Replay { filter, text } => {
                    let after =
                        RuleSet::from_bytes(text.as_bytes(), &self.rules_path, Source::User);
                    self.worker.send(Request::Replay(Box::new(ReplayJob {
                        filter,
                        before: self.engine.rules(),
                        after: Arc::new(after),
                        limit: REPLAY_LIMIT,
                    })));
                }
                Effect::Freeze(on) => {
                    let r = set_freeze(&self.rules_path, on, &self.operator);
                    if r.is_ok() {
                        self.engine.reload();
                    }
                    out.push(Action::FreezeDone(r));
                }
            }
        }
        out
    }
}

/// Put in or take out the freeze on the file on disk (the baseline when there
/// is no file), saved atomically; refused if the file changes meanwhile.
pub fn set_freeze(path: &Path, on: bool, who: &str) -> Result<String, String> {
    let (text, stamp) = save::read_for_edit(path)?;
    let current = text.unwrap_or_else(|| BASELINE.to_string());
    let new = if on {
        freeze::freeze(&current, who, Utc::now())?
    } else {
        match freeze::unfreeze(&current) {
            Some(t) => t,
            None => return Ok("The rules were not frozen.".into()),
        }
    };
    let expected = match &stamp {
        Stamp::Absent => Stamp::Absent,
        s => s.clone(),
    };
    save::save(path, &new, Some(&expected)).map_err(|e| e.to_string())?;
    Ok(if on {
        "FROZEN: every operation is denied from the next call (F9 unfreezes).".into()
    } else {
        "Unfrozen: the rules apply again.".into()
    })
}
