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
    Rules(Compiled),
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

/// `maintenance_window:`.
#[derive(Debug)]
pub enum Window {
    Absent,
    /// Minutes since midnight UTC; both inclusive; start after end wraps midnight.
    Valid {
        start: i64,
        end: i64,
        start_text: String,
        end_text: String,
    },
    Malformed {
        repr: String,
        why: String,
    },
}

impl RuleSet {
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

fn line_col_of_byte(bytes: &[u8], at: usize) -> (usize, usize) {
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

/// Python's `int()` of a string: surrounding whitespace, a sign, digits with
/// single underscores between them.
pub(crate) fn py_int(text: &str) -> Option<i64> {
    let t = text.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c));
    let (neg, digits) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let cleaned: String = digits.chars().filter(|&c| c != '_').collect();
    if !cleaned.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: i64 = cleaned.parse().ok()?;
    Some(if neg { -v } else { v })
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
    Ok(Body::Rules(Compiled {
        deny_invalid,
        deny,
        window,
        change_limits: doc.get("change_limits").is_some_and(Node::truthy),
        sets,
    }))
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

/// A truthy `operations:` or `environments:` value, iterated as Python iterates it.
fn pattern_cond(v: &Node, field: &str, patterns: &mut Vec<String>) -> PatternCond {
    let mut ids = Vec::new();
    let mut invalid = None;
    let mut item = |n: &Node, ids: &mut Vec<usize>| match n.as_str() {
        Some(s) => add_pattern(patterns, ids, s),
        None => {
            invalid.get_or_insert_with(|| {
                format!("`{field}` has a {} item at line {}", n.kind(), n.pos.line)
            });
        }
    };
    match &v.value {
        Value::Seq(items) => items.iter().for_each(|n| item(n, &mut ids)),
        Value::Map(entries) => entries.iter().for_each(|(k, _)| item(k, &mut ids)),
        Value::Str(s) => {
            // Python iterates a string letter by letter; we also take it whole,
            // which can only deny more.
            for c in s.chars() {
                add_pattern(patterns, &mut ids, c.encode_utf8(&mut [0; 4]));
            }
            add_pattern(patterns, &mut ids, s);
        }
        _ => {
            return PatternCond::Invalid(format!(
                "`{field}` at line {} is a {}, not a list",
                v.pos.line,
                v.kind()
            ));
        }
    }
    PatternCond::Patterns { ids, invalid }
}

fn caller_cond(v: Option<&Node>, field: &str, patterns: &mut Vec<String>) -> CallerCond {
    let Some(v) = v.filter(|v| v.truthy() || matches!(v.value, Value::Str(_))) else {
        return CallerCond::Absent;
    };
    let mut ids = Vec::new();
    let mut invalid = None;
    match &v.value {
        // A string is one name (`clients: ""` included: Python makes it `[""]`).
        Value::Str(s) => add_pattern(patterns, &mut ids, s),
        Value::Seq(items) => {
            for n in items {
                match n.as_str() {
                    Some(s) => add_pattern(patterns, &mut ids, s),
                    None => {
                        invalid.get_or_insert_with(|| {
                            format!("`{field}` has a {} item at line {}", n.kind(), n.pos.line)
                        });
                    }
                }
            }
        }
        _ => {
            return CallerCond::MatchAll(format!(
                "`{field}` at line {} is a {}, which Python reads as matching every call",
                v.pos.line,
                v.kind()
            ));
        }
    }
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

/// Parse one end of the window as Python does: `str(value).split(":")` into
/// exactly two `int()`s.
fn window_end(v: Option<&Node>, default: &str) -> Result<i64, String> {
    let text = match v {
        None => default.to_string(),
        Some(n) => match n.as_str() {
            Some(s) => s.to_string(),
            None => {
                return Err(match &n.plain {
                    Some(raw) => format!(
                        "`{raw}` is read as a {} by YAML 1.1 (quote it: \"{raw}\")",
                        n.kind()
                    ),
                    None => format!("{} is a {}, not an \"HH:MM\" string", n.py_repr(), n.kind()),
                });
            }
        },
    };
    let parts: Vec<&str> = text.split(':').collect();
    match parts.as_slice() {
        [h, m] => match (py_int(h), py_int(m)) {
            (Some(h), Some(m)) => Ok(h * 60 + m),
            _ => Err(format!("'{text}' is not HH:MM")),
        },
        _ => Err(format!("'{text}' is not HH:MM")),
    }
}

fn compile_window(w: &Node) -> Window {
    if !matches!(w.value, Value::Map(_)) {
        return Window::Malformed {
            repr: w.py_repr(),
            why: format!("it is a {}, not a mapping with start and end", w.kind()),
        };
    }
    let start = window_end(w.get("start"), "22:00");
    let end = window_end(w.get("end"), "06:00");
    match (start, end) {
        (Ok(start), Ok(end)) => Window::Valid {
            start,
            end,
            start_text: w.get("start").map_or_else(|| "?".into(), Node::py_str),
            end_text: w.get("end").map_or_else(|| "?".into(), Node::py_str),
        },
        (Err(why), _) | (_, Err(why)) => Window::Malformed {
            repr: w.py_repr(),
            why,
        },
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

impl Window {
    /// Whether `minute` (minutes since midnight UTC) is inside a valid window.
    pub fn contains(start: i64, end: i64, minute: i64) -> bool {
        if start <= end {
            start <= minute && minute <= end
        } else {
            minute >= start || minute <= end
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile_text(text: &str) -> RuleSet {
        RuleSet::from_bytes(text.as_bytes(), Path::new("/x/rules.yaml"), Source::User)
    }

    #[test]
    fn python_int_parsing() {
        assert_eq!(py_int(" 22"), Some(22));
        assert_eq!(py_int("+0_7"), Some(7));
        assert_eq!(py_int("-1"), Some(-1));
        assert_eq!(py_int("2__2"), None);
        assert_eq!(py_int(""), None);
        assert_eq!(py_int("1.5"), None);
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

    #[test]
    fn window_reads_like_python() {
        let rs = compile_text("maintenance_window: {start: 22:00, end: '06:00'}\n");
        let Body::Rules(c) = &rs.body else { panic!() };
        assert!(matches!(&c.window, Window::Malformed { why, .. } if why.contains("quote it")));
        let rs = compile_text("maintenance_window: {start: '22:00'}\n");
        let Body::Rules(c) = &rs.body else { panic!() };
        assert!(
            matches!(&c.window, Window::Valid { start: 1320, end: 360, end_text, .. } if end_text == "?")
        );
        assert!(Window::contains(1320, 360, 0) && Window::contains(1320, 360, 360));
        assert!(!Window::contains(1320, 360, 361) && Window::contains(60, 120, 120));
    }
}
