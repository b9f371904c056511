//! The typed rule set, compiled once per load.
//!
//! Every odd value is read the way the Python engine reads it, or more strictly:
//! where Python would raise in the middle of a check (a tool call that then
//! fails), the rule here simply matches, so our engine denies at least whatever
//! Python denies ("deny more, never less", compat.md).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use regex::RegexSet;

use super::fnmatch;
pub use super::window::Window;
use super::window::compile_window;
use super::yaml::{self, Node, Pos, Value};

/// Ordered risk levels.
pub const RISK_LEVELS: [&str; 4] = ["low", "medium", "high", "critical"];

/// Where the rules in force came from; the same names as the Python package's
/// `active_rules_source()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The operator's `rules.yaml`.
    User,
    /// No user file: the packaged baseline.
    PackagedDefault,
    /// The user file exists but does not load: everything is denied.
    UserUnreadable,
    /// No user file and the baseline does not load: everything is denied.
    BaselineUnreadable,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::User => "user",
            Source::PackagedDefault => "packaged-default",
            Source::UserUnreadable => "user-unreadable",
            Source::BaselineUnreadable => "baseline-unreadable",
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One complete version of the rules: what every check reads.
#[derive(Debug)]
pub struct RuleSet {
    pub source: Source,
    /// The file it was read from (the user path, or the packaged baseline's name).
    pub path: PathBuf,
    /// Short hash of the bytes read, to tell versions apart at a glance.
    pub hash: String,
    pub loaded_at: DateTime<Utc>,
    pub body: Body,
}

/// What the file said, compiled.
#[derive(Debug)]
pub enum Body {
    /// The file did not load: every operation is denied with this reason.
    Unreadable {
        reason: String,
    },
    /// Loaded to nothing (empty, or a falsy value): everything allowed, rule `no_rules`.
    Empty,
    Rules(Box<Compiled>),
}

/// A loaded, non-empty rule set.
#[derive(Debug)]
pub struct Compiled {
    /// Set when `deny:` itself cannot be iterated (Python raises on every check).
    pub deny_invalid: Option<String>,
    pub deny: Vec<DenyRule>,
    pub window: Window,
    /// `change_limits:` is present: parsed, and not enforced.
    pub change_limits: bool,
    pub(crate) sets: PatternSets,
}

/// Compiled glob patterns of every rule, one `RegexSet` per field, so a check
/// matches a name against all patterns in one pass.
#[derive(Debug, Default)]
pub(crate) struct PatternSets {
    pub ops: Option<RegexSet>,
    pub envs: Option<RegexSet>,
    pub clients: Option<RegexSet>,
    pub roles: Option<RegexSet>,
    pub op_patterns: Vec<String>,
    pub env_patterns: Vec<String>,
    pub client_patterns: Vec<String>,
    pub role_patterns: Vec<String>,
}

/// One `deny:` entry.
#[derive(Debug)]
pub struct DenyRule {
    /// Position in the `deny:` list (0-based).
    pub index: usize,
    /// Python's `rule.get("name", "deny")`, as text.
    pub name: String,
    /// Python's `rule.get("reason", f"Denied by rule: {name or 'unnamed'}")`, as text.
    pub reason: String,
    pub pos: Pos,
    pub kind: RuleKind,
}

#[derive(Debug)]
pub enum RuleKind {
    /// Not a mapping: Python raises when it reaches it; here it matches every call.
    Invalid(String),
    Conditions(Conditions),
}

#[derive(Debug)]
pub struct Conditions {
    pub operations: PatternCond,
    pub environments: PatternCond,
    pub clients: CallerCond,
    pub roles: CallerCond,
    /// Index into [`RISK_LEVELS`] a call must reach; `None` when absent or falsy.
    pub min_risk: Option<MinRisk>,
}

#[derive(Debug)]
pub struct MinRisk {
    pub index: usize,
    /// The level as written, when it is not a known level (the rule then applies to every level).
    pub unknown: Option<String>,
}

/// `operations:` / `environments:`.
#[derive(Debug)]
pub enum PatternCond {
    /// Key absent, or (environments) falsy: no condition.
    Absent,
    /// `operations` present but falsy (`[]`, `""`, null): matches nothing.
    Never,
    /// Pattern ids in the field's `RegexSet`; `invalid` describes items Python cannot match
    /// (it raises on them), which make the condition hold when nothing else matched.
    Patterns {
        ids: Vec<usize>,
        invalid: Option<String>,
    },
    /// Not iterable (a number, `true`): Python raises; the condition holds.
    Invalid(String),
}

/// `clients:` / `roles:`.
#[derive(Debug)]
pub enum CallerCond {
    Absent,
    /// A truthy value that is neither a list nor a string: Python matches the rule at once.
    MatchAll(String),
    Patterns {
        ids: Vec<usize>,
        invalid: Option<String>,
    },
}

impl RuleSet {
    /// `change_limits:` is set: parsed, and not enforced (as in Python).
    pub fn has_change_limits(&self) -> bool {
        matches!(&self.body, Body::Rules(c) if c.change_limits)
    }

    /// Compile the bytes of a rules file. Never fails: a file that does not load
    /// becomes a rule set that denies everything, with a reason naming the file,
    /// the line and column, what is wrong, and the way out.
    pub fn from_bytes(bytes: &[u8], path: &Path, source: Source) -> RuleSet {
        let hash = short_hash(bytes);
        let loaded_at = Utc::now();
        let unreadable_source = match source {
            Source::PackagedDefault | Source::BaselineUnreadable => Source::BaselineUnreadable,
            _ => Source::UserUnreadable,
        };
        let fail = |detail: String| RuleSet {
            source: unreadable_source,
            path: path.to_path_buf(),
            hash: hash.clone(),
            loaded_at,
            body: Body::Unreadable {
                reason: unreadable_reason(path, &detail),
            },
        };
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let (line, column) = line_col_of_byte(bytes, e.valid_up_to());
                return fail(format!(
                    "it is not valid UTF-8 (invalid byte at line {line}, column {column}, byte {}). Re-save it as UTF-8.",
                    e.valid_up_to()
                ));
            }
        };
        let doc = match yaml::load(text) {
            Ok(doc) => doc,
            Err(e) => {
                return fail(format!(
                    "YAML error at line {}, column {}: {}.",
                    e.pos.line, e.pos.column, e.message
                ));
            }
        };
        match compile(&doc) {
            Ok(body) => RuleSet {
                source,
                path: path.to_path_buf(),
                hash,
                loaded_at,
                body,
            },
            Err(detail) => fail(detail),
        }
    }

    /// A rule set for a file that could not be read at all (permissions, a directory...).
    pub fn unreadable(path: &Path, detail: &str, source: Source) -> RuleSet {
        RuleSet {
            source,
            path: path.to_path_buf(),
            hash: String::from("-"),
            loaded_at: Utc::now(),
            body: Body::Unreadable {
                reason: unreadable_reason(path, detail),
            },
        }
    }

    /// Number of deny rules (0 for an empty or unreadable set).
    pub fn deny_count(&self) -> usize {
        match &self.body {
            Body::Rules(c) => c.deny.len(),
            _ => 0,
        }
    }

    /// Whether this set fails closed.
    pub fn is_unreadable(&self) -> bool {
        matches!(self.body, Body::Unreadable { .. })
    }
}

/// The teaching text an operator sees on every denied call (one line).
fn unreadable_reason(path: &Path, detail: &str) -> String {
    let detail = detail.split_whitespace().collect::<Vec<_>>().join(" ");
    format!(
        "Policy rules could not be loaded from {}: {detail} Every operation is denied until it loads \
         (the engine cannot know which operations that file was gating). Fix the file (it is re-read \
         automatically; `vmware-audit rules validate` shows every problem), or set \
         VMWARE_POLICY_DISABLED=1 to run with no policy at all.",
        path.display()
    )
}

/// The 1-based line and column (in characters) of byte `at`.
pub fn line_col_of_byte(bytes: &[u8], at: usize) -> (usize, usize) {
    let before = &bytes[..at.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

/// FNV-1a, 64 bits, as 8 hex digits: enough to tell two versions of a file apart.
pub fn short_hash(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:08x}", (h >> 32) ^ (h & 0xffff_ffff))
}

fn compile(doc: &Node) -> Result<Body, String> {
    if !doc.truthy() {
        return Ok(Body::Empty);
    }
    if !matches!(doc.value, Value::Map(_)) {
        return Err(format!(
            "the top level is a {} (line {}), but a rules file is a mapping with keys such as `deny:` and `maintenance_window:`.",
            doc.kind(),
            doc.pos.line
        ));
    }
    let mut sets = PatternSets::default();
    let mut deny = Vec::new();
    let mut deny_invalid = None;
    match doc.get("deny") {
        None => {}
        Some(d) => match &d.value {
            Value::Seq(items) => {
                for (index, item) in items.iter().enumerate() {
                    deny.push(compile_rule(index, item, &mut sets));
                }
            }
            // Python iterates a mapping's keys and a string's letters; each is a
            // non-mapping rule, which raises. Empty ones iterate nothing.
            Value::Map(_) | Value::Str(_) if !d.truthy() => {}
            _ => {
                deny_invalid = Some(format!(
                    "`deny:` at line {} is a {}, not a list of rules",
                    d.pos.line,
                    d.kind()
                ));
            }
        },
    }
    let window = match doc.get("maintenance_window") {
        Some(w) if w.truthy() => compile_window(w),
        _ => Window::Absent,
    };
    sets.build()
        .map_err(|e| format!("a pattern could not be compiled: {e}."))?;
    Ok(Body::Rules(Box::new(Compiled {
        deny_invalid,
        deny,
        window,
        change_limits: doc.get("change_limits").is_some_and(Node::truthy),
        sets,
    })))
}

fn compile_rule(index: usize, node: &Node, sets: &mut PatternSets) -> DenyRule {
    let name_node = node.get("name");
    let name = name_node.map_or_else(|| "deny".to_string(), Node::py_str);
    let display = name_node.map_or_else(|| "unnamed".to_string(), Node::py_str);
    let reason = node
        .get("reason")
        .map_or_else(|| format!("Denied by rule: {display}"), Node::py_str);
    let kind = match &node.value {
        Value::Map(_) => RuleKind::Conditions(Conditions {
            operations: match node.get("operations") {
                None => PatternCond::Absent,
                Some(v) if !v.truthy() => PatternCond::Never,
                Some(v) => pattern_cond(v, "operations", &mut sets.op_patterns),
            },
            environments: match node.get("environments") {
                Some(v) if v.truthy() => pattern_cond(v, "environments", &mut sets.env_patterns),
                _ => PatternCond::Absent,
            },
            clients: caller_cond(node.get("clients"), "clients", &mut sets.client_patterns),
            roles: caller_cond(node.get("roles"), "roles", &mut sets.role_patterns),
            min_risk: node
                .get("min_risk_level")
                .filter(|v| v.truthy())
                .map(min_risk),
        }),
        _ => RuleKind::Invalid(format!(
            "deny rule #{} at line {} is a {}, not a mapping",
            index + 1,
            node.pos.line,
            node.kind()
        )),
    };
    DenyRule {
        index,
        name,
        reason,
        pos: node.pos,
        kind,
    }
}

fn add_pattern(patterns: &mut Vec<String>, ids: &mut Vec<usize>, p: &str) {
    ids.push(patterns.len());
    patterns.push(p.to_string());
}

/// Add the string items as patterns, up to the first item that is not a
/// string, and describe that item. Python's `any()` tries the items in order
/// and raises on a non-string one (the call fails: for us, denied), so only the
/// items before it can ever match; the items after it are never reached.
fn add_items<'a>(
    items: impl Iterator<Item = &'a Node>,
    field: &str,
    patterns: &mut Vec<String>,
    ids: &mut Vec<usize>,
) -> Option<String> {
    for n in items {
        match n.as_str() {
            Some(s) => add_pattern(patterns, ids, s),
            None => {
                return Some(format!(
                    "`{field}` has a {} item at line {} ({}), which Python cannot match: every call that reaches it fails",
                    n.kind(),
                    n.pos.line,
                    n.py_repr()
                ));
            }
        }
    }
    None
}

/// A truthy `operations:` or `environments:` value, iterated as Python iterates it.
fn pattern_cond(v: &Node, field: &str, patterns: &mut Vec<String>) -> PatternCond {
    let mut ids = Vec::new();
    let invalid = match &v.value {
        Value::Seq(items) => add_items(items.iter().map(|n| n.as_ref()), field, patterns, &mut ids),
        Value::Map(entries) => add_items(
            entries.iter().map(|(k, _)| k.as_ref()),
            field,
            patterns,
            &mut ids,
        ),
        Value::Str(s) => {
            // Python iterates a string letter by letter; we also take it whole,
            // which can only deny more.
            for c in s.chars() {
                add_pattern(patterns, &mut ids, c.encode_utf8(&mut [0; 4]));
            }
            add_pattern(patterns, &mut ids, s);
            None
        }
        _ => {
            return PatternCond::Invalid(format!(
                "`{field}` at line {} is a {}, not a list",
                v.pos.line,
                v.kind()
            ));
        }
    };
    PatternCond::Patterns { ids, invalid }
}

fn caller_cond(v: Option<&Node>, field: &str, patterns: &mut Vec<String>) -> CallerCond {
    let Some(v) = v.filter(|v| v.truthy() || matches!(v.value, Value::Str(_))) else {
        return CallerCond::Absent;
    };
    let mut ids = Vec::new();
    let invalid = match &v.value {
        // A string is one name (`clients: ""` included: Python makes it `[""]`).
        Value::Str(s) => {
            add_pattern(patterns, &mut ids, s);
            None
        }
        Value::Seq(items) => add_items(items.iter().map(|n| n.as_ref()), field, patterns, &mut ids),
        _ => {
            return CallerCond::MatchAll(format!(
                "`{field}` at line {} is a {}, which Python reads as matching every call",
                v.pos.line,
                v.kind()
            ));
        }
    };
    CallerCond::Patterns { ids, invalid }
}

fn min_risk(v: &Node) -> MinRisk {
    if let Some(s) = v.as_str() {
        let normalised = s.trim().to_lowercase();
        if let Some(index) = RISK_LEVELS.iter().position(|l| *l == normalised) {
            return MinRisk {
                index,
                unknown: None,
            };
        }
    }
    MinRisk {
        index: 0,
        unknown: Some(v.py_str()),
    }
}

/// A deny rule as it is enforced, in words: what `rules show` prints.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RuleView {
    pub name: String,
    pub reason: String,
    pub line: usize,
    /// `None`: every operation. `Some([])`: none.
    pub operations: Option<Vec<String>>,
    pub environments: Option<Vec<String>>,
    pub clients: Option<Vec<String>>,
    pub roles: Option<Vec<String>>,
    pub min_risk_level: Option<String>,
    /// Why the rule cannot be read as written (it is applied, failing closed).
    pub problems: Vec<String>,
}

impl Compiled {
    /// The deny rules in force, in order, in words.
    pub fn describe(&self) -> Vec<RuleView> {
        let pats =
            |ids: &[usize], all: &[String]| ids.iter().map(|&i| all[i].clone()).collect::<Vec<_>>();
        self.deny
            .iter()
            .map(|r| {
                let mut v = RuleView {
                    name: r.name.clone(),
                    reason: r.reason.clone(),
                    line: r.pos.line,
                    operations: None,
                    environments: None,
                    clients: None,
                    roles: None,
                    min_risk_level: None,
                    problems: Vec::new(),
                };
                match &r.kind {
                    RuleKind::Invalid(why) => v.problems.push(why.clone()),
                    RuleKind::Conditions(c) => {
                        let pattern =
                            |cond: &PatternCond, all: &[String], problems: &mut Vec<String>| {
                                match cond {
                                    PatternCond::Absent => None,
                                    PatternCond::Never => Some(Vec::new()),
                                    PatternCond::Invalid(why) => {
                                        problems.push(why.clone());
                                        None
                                    }
                                    PatternCond::Patterns { ids, invalid } => {
                                        problems.extend(invalid.clone());
                                        Some(pats(ids, all))
                                    }
                                }
                            };
                        v.operations =
                            pattern(&c.operations, &self.sets.op_patterns, &mut v.problems);
                        v.environments =
                            pattern(&c.environments, &self.sets.env_patterns, &mut v.problems);
                        let caller =
                            |cond: &CallerCond, all: &[String], problems: &mut Vec<String>| {
                                match cond {
                                    CallerCond::Absent => None,
                                    CallerCond::MatchAll(why) => {
                                        problems.push(why.clone());
                                        None
                                    }
                                    CallerCond::Patterns { ids, invalid } => {
                                        problems.extend(invalid.clone());
                                        Some(pats(ids, all))
                                    }
                                }
                            };
                        v.clients = caller(&c.clients, &self.sets.client_patterns, &mut v.problems);
                        v.roles = caller(&c.roles, &self.sets.role_patterns, &mut v.problems);
                        v.min_risk_level = c.min_risk.as_ref().map(|m| match &m.unknown {
                            Some(raw) => format!("{raw} (unknown: every level)"),
                            None => RISK_LEVELS[m.index].to_string(),
                        });
                    }
                }
                v
            })
            .collect()
    }
}

impl PatternSets {
    fn build(&mut self) -> Result<(), regex::Error> {
        fn set(patterns: &[String]) -> Result<Option<RegexSet>, regex::Error> {
            if patterns.is_empty() {
                return Ok(None);
            }
            RegexSet::new(patterns.iter().map(|p| fnmatch::translate(p))).map(Some)
        }
        self.ops = set(&self.op_patterns)?;
        self.envs = set(&self.env_patterns)?;
        self.clients = set(&self.client_patterns)?;
        self.roles = set(&self.role_patterns)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile_text(text: &str) -> RuleSet {
        RuleSet::from_bytes(text.as_bytes(), Path::new("/x/rules.yaml"), Source::User)
    }

    #[test]
    fn unreadable_files_name_the_place() {
        let rs = compile_text("deny:\n  - name: x\n    operations: [a\n");
        let Body::Unreadable { reason } = &rs.body else {
            panic!("{:?}", rs.body)
        };
        assert!(reason.contains("/x/rules.yaml"), "{reason}");
        assert!(reason.contains("line 4"), "{reason}");
        assert_eq!(rs.source, Source::UserUnreadable);
        let rs = RuleSet::from_bytes(b"deny: [\xff]", Path::new("/x/r.yaml"), Source::User);
        let Body::Unreadable { reason } = &rs.body else {
            panic!()
        };
        assert!(
            reason.contains("UTF-8") && reason.contains("line 1, column 8"),
            "{reason}"
        );
    }
}
