//! PolicyEngine: the rule set in force, swapped atomically when the file changes.
//!
//! A check reads one `Arc<RuleSet>` (a lock-free load) and never touches the
//! file system: reloading happens on the watcher's thread, which compiles a
//! complete new rule set before swapping it in, so no check ever sees a
//! half-loaded one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::sync::atomic::{AtomicBool, Ordering};

use arc_swap::ArcSwap;

use super::decide::{self, CallContext, Decision, Explanation, NoTrace, Recorder};
use super::rules::{RuleSet, Source};
use super::watch::{self, Watcher};
use super::yaml;

/// The packaged baseline: in force when there is no user rules file. Denies nothing.
pub const BASELINE: &str = include_str!("../../rules_default.yaml");
/// How the baseline is named in messages.
pub const BASELINE_NAME: &str = "<packaged rules_default.yaml>";

/// Decides calls against `rules.yaml`, reloading it whenever it changes.
pub struct PolicyEngine {
    shared: Arc<Shared>,
    _watcher: Option<Watcher>,
}

pub(crate) struct Shared {
    pub(crate) path: PathBuf,
    current: ArcSwap<RuleSet>,
}

impl Shared {
    pub(crate) fn reload(&self) -> bool {
        self.install(load_rules(&self.path))
    }

    /// Reload only if the file is still the version the watcher waited on
    /// (`settled`) and did not change while it was read: a file written in
    /// place (truncated, then written) can be caught half-written or empty,
    /// and an empty rules file means "allow everything". `None` when it
    /// changed (nothing installed; the watcher settles and tries again).
    pub(crate) fn reload_if_stable(
        &self,
        settled: Option<&super::watch::Fingerprint>,
        quiet: std::time::Duration,
    ) -> Option<bool> {
        let before = super::watch::fingerprint(&self.path);
        if before.as_ref() != settled {
            // Rewritten since it went quiet: what went quiet is not what
            // would be read (a writer may have just truncated it).
            return None;
        }
        let next = load_rules(&self.path);
        let after = super::watch::fingerprint(&self.path);
        // However it was settled, an empty file must have been empty for
        // EMPTY_QUIET: a writer preempted between truncating and writing
        // leaves exactly that.
        let quiet = match &after {
            Some(f) if f.len == 0 => quiet.max(super::watch::EMPTY_QUIET),
            _ => quiet,
        };
        // Changed while read, or changed so recently that a writer may still
        // be at it (the watcher gives up waiting for quiet under endless churn).
        let young = after
            .as_ref()
            .and_then(|f| f.mtime)
            .and_then(|m| std::time::SystemTime::now().duration_since(m).ok())
            .is_some_and(|age| age < quiet);
        if after != before || young {
            return None;
        }
        Some(self.install(next))
    }

    fn install(&self, next: RuleSet) -> bool {
        let prev = self.current.load();
        let changed = prev.hash != next.hash || prev.source != next.source;
        if changed {
            notice(&next);
            self.current.store(Arc::new(next));
        }
        changed
    }
}

static LOAD_NOTICES: AtomicBool = AtomicBool::new(true);

/// Whether a load of rules that hold `change_limits:` says on stderr that
/// they are not enforced (on by default, for skills; the operator's binary
/// turns it off and shows it in its own output).
pub fn set_load_notices(on: bool) {
    LOAD_NOTICES.store(on, Ordering::Relaxed);
}

/// One line on stderr, as Python logs a warning: `change_limits` is parsed
/// and not enforced, so an operator does not believe it protects anything.
fn notice(set: &RuleSet) {
    if set.has_change_limits() && LOAD_NOTICES.load(Ordering::Relaxed) {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "vmware-policy: change_limits in {} is parsed but NOT enforced (as in the Python package): no limit is applied",
            set.path.display()
        );
    }
}

impl PolicyEngine {
    /// An engine over `path` that reloads it when it changes (a watcher thread,
    /// with polling where file watching is unavailable).
    pub fn new(path: impl Into<PathBuf>) -> PolicyEngine {
        let path = path.into();
        let loaded = watch::fingerprint(&path);
        let engine = PolicyEngine::without_watching(path);
        let watcher = watch::spawn(engine.shared.clone(), loaded);
        PolicyEngine {
            shared: engine.shared,
            _watcher: Some(watcher),
        }
    }

    /// The engine over `<home>/rules.yaml`.
    /// When the home cannot be resolved (`OPS_HOME=~nobody/x`), every call is
    /// denied with the reason: there is no knowing which rules were meant.
    pub fn from_home() -> PolicyEngine {
        match crate::home::try_ops_home() {
            Ok(home) => PolicyEngine::new(home.join("rules.yaml")),
            Err(why) => {
                let path = crate::home::rules_path();
                let set = RuleSet::unreadable(&path, &format!("{why}."), Source::UserUnreadable);
                PolicyEngine::fixed(path, set)
            }
        }
    }

    /// An engine that loads once and reloads only on [`PolicyEngine::reload`]
    /// (one-shot commands, what-if evaluation).
    pub fn without_watching(path: impl Into<PathBuf>) -> PolicyEngine {
        let path = path.into();
        let set = load_rules(&path);
        notice(&set);
        let current = ArcSwap::from_pointee(set);
        PolicyEngine {
            shared: Arc::new(Shared { path, current }),
            _watcher: None,
        }
    }

    /// An engine over rules given as text (the rule editor's buffer), never reloaded.
    pub fn from_text(text: &str, path: impl Into<PathBuf>) -> PolicyEngine {
        let path = path.into();
        let set = RuleSet::from_bytes(text.as_bytes(), &path, Source::User);
        PolicyEngine::fixed(path, set)
    }

    /// An engine holding `set` for good: no watcher, no reload from a file.
    fn fixed(path: PathBuf, set: RuleSet) -> PolicyEngine {
        PolicyEngine {
            shared: Arc::new(Shared {
                path,
                current: ArcSwap::from_pointee(set),
            }),
            _watcher: None,
        }
    }

    /// Decide whether `operation` may run.
    pub fn check(&self, operation: &str, call: &CallContext) -> Decision {
        decide::evaluate(&self.shared.current.load(), operation, call, &mut NoTrace)
    }

    /// The same decision, with why each rule did or did not match.
    pub fn explain(&self, operation: &str, call: &CallContext) -> Explanation {
        let mut rec = Recorder(Vec::new());
        let decision = decide::evaluate(&self.shared.current.load(), operation, call, &mut rec);
        Explanation {
            decision,
            steps: rec.0,
        }
    }

    /// The rule set in force now.
    pub fn rules(&self) -> Arc<RuleSet> {
        self.shared.current.load_full()
    }

    /// Re-read the file now; true when the rule set in force changed.
    pub fn reload(&self) -> bool {
        self.shared.reload()
    }

    /// The user rules path this engine reads.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Whether any deny rule is scoped by environment (a skill warns about
    /// unlabelled targets only then). A rule set that fails closed answers true.
    pub fn has_environment_scoped_rules(&self) -> bool {
        use super::rules::{Body, PatternCond, RuleKind};
        match &self.rules().body {
            Body::Unreadable { .. } => true,
            Body::Empty => false,
            Body::Rules(c) => c.deny.iter().any(|r| {
                matches!(&r.kind, RuleKind::Conditions(cond) if !matches!(cond.environments, PatternCond::Absent))
            }),
        }
    }
}

impl RuleSet {
    /// Decide with this rule set (the engine's check, for a set held apart:
    /// the rules in force against an edited buffer, in a replay).
    pub fn check(&self, operation: &str, call: &CallContext) -> Decision {
        decide::evaluate(self, operation, call, &mut NoTrace)
    }
}

/// Load the rule set for `path` as compat.md says: the user file if there is
/// one (failing closed if it does not load), else the packaged baseline.
pub fn load_rules(path: &Path) -> RuleSet {
    match std::fs::symlink_metadata(path) {
        // ENOTDIR: a parent is a file, so no rules file can be there (Python: `exists()` is false).
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            RuleSet::from_bytes(
                BASELINE.as_bytes(),
                Path::new(BASELINE_NAME),
                Source::PackagedDefault,
            )
        }
        // Something is there (a dangling link or a loop included): fail closed if it cannot be read.
        _ => match read_bounded(path) {
            Ok(bytes) => RuleSet::from_bytes(&bytes, path, Source::User),
            Err(e) => RuleSet::unreadable(path, &e, Source::UserUnreadable),
        },
    }
}

/// Read the rules file (regular files only, never blocking), bounded in size.
fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    let bytes = super::file::read_rules(path).map_err(|e| format!("it cannot be read ({e})."))?;
    if bytes.len() > yaml::MAX_BYTES {
        return Err(format!(
            "it is larger than {} bytes, the limit for a rules file.",
            yaml::MAX_BYTES
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    use crate::policy::watch::{QUIET, fingerprint};

    const ONE_RULE: &str = "deny:\n  - name: no-probe\n    operations: [probe]\n";

    fn aged(path: &Path, by: Duration) {
        let f = std::fs::File::options().write(true).open(path).unwrap();
        f.set_modified(SystemTime::now() - by).unwrap();
    }

    /// The churn test's rare failure, made deterministic: the watcher settled
    /// on one version, a writer then truncated the file and was preempted.
    #[test]
    fn a_file_truncated_after_it_settled_is_not_installed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rules.yaml");
        std::fs::write(&path, ONE_RULE).unwrap();
        aged(&path, Duration::from_secs(5));
        let engine = PolicyEngine::without_watching(&path);
        let settled = fingerprint(&path);
        // Truncated in place, and old enough for QUIET by the time it is read.
        std::fs::File::options()
            .write(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        aged(&path, Duration::from_millis(100));
        assert_eq!(
            engine.shared.reload_if_stable(settled.as_ref(), QUIET),
            None
        );
        assert_eq!(engine.rules().deny_count(), 1, "the rules in force stay");
    }

    #[test]
    fn an_empty_file_is_installed_only_once_it_has_been_empty_for_long() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rules.yaml");
        std::fs::write(&path, ONE_RULE).unwrap();
        let engine = PolicyEngine::without_watching(&path);
        std::fs::write(&path, "").unwrap();
        aged(&path, Duration::from_millis(100));
        let settled = fingerprint(&path);
        assert_eq!(
            engine.shared.reload_if_stable(settled.as_ref(), QUIET),
            None,
            "100 ms empty is a writer between truncating and writing"
        );
        assert_eq!(engine.rules().deny_count(), 1);
        aged(&path, Duration::from_secs(2));
        let settled = fingerprint(&path);
        assert_eq!(
            engine.shared.reload_if_stable(settled.as_ref(), QUIET),
            Some(true)
        );
        assert_eq!(
            engine.rules().deny_count(),
            0,
            "empty for long: it is meant"
        );
    }
}
