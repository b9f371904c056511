//! Diagnostics for a rules file, with line and column: what `rules validate`
//! prints and what the rule editor marks as you type.
//!
//! Errors are what the engine cannot read as the operator meant (and would
//! enforce more strictly than written, or not at all); warnings are legal but
//! probably not what was meant.

use std::collections::HashMap;

use serde::Serialize;

use super::rules::{RISK_LEVELS, line_col_of_byte};
use super::window::py_int;
use super::yaml::{self, Node, Pos, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One finding, at a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// The deny rule (0-based) this finding widens: a key the engine ignores
    /// (`operation:` for `operations:`) makes the rule match more calls. The
    /// CLI and the editor say how many recent calls it would now deny.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub widens_rule: Option<usize>,
}

const TOP_KEYS: &[&str] = &["deny", "maintenance_window", "change_limits"];
const RULE_KEYS: &[&str] = &[
    "name",
    "operations",
    "environments",
    "clients",
    "roles",
    "min_risk_level",
    "reason",
];
const WINDOW_KEYS: &[&str] = &["start", "end"];

/// Validate the bytes of a rules file (checks UTF-8 first).
pub fn validate_bytes(bytes: &[u8]) -> Vec<Diagnostic> {
    match std::str::from_utf8(bytes) {
        Ok(text) => validate(text),
        Err(e) => {
            let at = e.valid_up_to();
            let (line, column) = line_col_of_byte(bytes, at);
            vec![Diagnostic {
                severity: Severity::Error,
                line,
                column,
                message: format!("the file is not valid UTF-8 (byte {at}); re-save it as UTF-8"),
                widens_rule: None,
            }]
        }
    }
}

/// Validate rules text. Sorted by position; empty when the file is clean.
pub fn validate(text: &str) -> Vec<Diagnostic> {
    let mut v = Validator::default();
    match yaml::load(text) {
        Err(e) => v.error(e.pos, format!("YAML: {}", e.message)),
        Ok(doc) => {
            for (key, pos) in yaml::duplicate_keys(text) {
                v.error(
                    pos,
                    format!(
                        "key '{key}' appears more than once in this mapping: YAML keeps only the last one, silently dropping the others (and what a tool adds under the first, such as a freeze); merge them into one"
                    ),
                );
            }
            v.document(&doc);
        }
    }
    v.out.sort_by_key(|d| (d.line, d.column, d.severity));
    v.out
}

/// Whether any diagnostic is an error (errors block saving in the editor).
pub fn has_errors(diags: &[Diagnostic]) -> bool {
    diags.iter().any(|d| d.severity == Severity::Error)
}

#[derive(Default)]
struct Validator {
    out: Vec<Diagnostic>,
}

impl Validator {
    fn push(&mut self, severity: Severity, pos: Pos, message: String) {
        self.out.push(Diagnostic {
            severity,
            line: pos.line.max(1),
            column: pos.column.max(1),
            message,
            widens_rule: None,
        });
    }
    fn error(&mut self, pos: Pos, message: String) {
        self.push(Severity::Error, pos, message);
    }
    fn warn(&mut self, pos: Pos, message: String) {
        self.push(Severity::Warning, pos, message);
    }

    /// A value where text is expected: explain YAML 1.1's reading of a plain scalar.
    fn expect_str<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n str> {
        if let Some(s) = node.as_str() {
            return Some(s);
        }
        let msg = match &node.plain {
            Some(raw) => format!(
                "{what}: `{raw}` is read as {} {} by YAML 1.1 (PyYAML, which the Python skills use); quote it: \"{raw}\"",
                article(node.kind()),
                node.kind()
            ),
            None => format!(
                "{what} must be a string, not {} {}",
                article(node.kind()),
                node.kind()
            ),
        };
        self.error(node.pos, msg);
        None
    }

    /// Unknown keys: a warning in general, an error inside deny rule `rule`
    /// (an ignored condition widens the rule to calls it was meant to spare).
    fn keys(&mut self, node: &Node, known: &[&str], context: &str, rule: Option<usize>) {
        let Value::Map(entries) = &node.value else {
            return;
        };
        for (k, _) in entries {
            match k.as_str() {
                Some(key) if known.contains(&key) => {}
                Some(key) => {
                    let hint = did_you_mean(key, known)
                        .map(|s| format!("; did you mean '{s}'?"))
                        .unwrap_or_default();
                    match rule {
                        Some(index) => {
                            self.error(
                                k.pos,
                                format!("unknown key '{key}' in {context}: the engines ignore it, so the rule matches more calls than written{hint}"),
                            );
                            if let Some(d) = self.out.last_mut() {
                                d.widens_rule = Some(index);
                            }
                        }
                        None => self.warn(
                            k.pos,
                            format!("unknown key '{key}' in {context}, ignored{hint}"),
                        ),
                    }
                }
                None => {
                    let raw = k.plain.clone().unwrap_or_else(|| k.py_repr());
                    self.warn(
                        k.pos,
                        format!("key `{raw}` is read as {} {} by YAML 1.1, not as text; it is ignored (quote it)", article(k.kind()), k.kind()),
                    );
                }
            }
        }
    }

    fn document(&mut self, doc: &Node) {
        if !doc.truthy() {
            self.warn(
                doc.pos,
                "the file defines no rules: every operation is allowed (rule no_rules)".into(),
            );
            return;
        }
        if !matches!(doc.value, Value::Map(_)) {
            self.error(
                doc.pos,
                format!("the top level is {} {}; a rules file is a mapping (deny:, maintenance_window:); every operation would be denied", article(doc.kind()), doc.kind()),
            );
            return;
        }
        self.keys(doc, TOP_KEYS, "the rules file", None);
        if let Some((key, deny)) = doc.entry("deny") {
            self.deny(key, deny);
        }
        if let Some(w) = doc.get("maintenance_window") {
            self.window(w);
        }
        if let Some((key, _)) = doc.entry("change_limits").filter(|(_, c)| c.truthy()) {
            self.warn(
                key.pos,
                "change_limits is parsed but not enforced (neither here nor by the Python package)"
                    .into(),
            );
        }
    }

    fn deny(&mut self, key: &Node, deny: &Node) {
        let items = match &deny.value {
            Value::Seq(items) => items,
            Value::Null => {
                self.error(key.pos, "`deny:` is empty (null): the Python engine fails every call on it; write `deny: []` or list rules".into());
                return;
            }
            _ if !deny.truthy() => return,
            _ => {
                self.error(deny.pos, format!("`deny:` must be a list of rules, not {} {}; every operation would be denied", article(deny.kind()), deny.kind()));
                return;
            }
        };
        let mut names: HashMap<String, usize> = HashMap::new();
        for (i, rule) in items.iter().enumerate() {
            if !matches!(rule.value, Value::Map(_)) {
                self.error(rule.pos, format!("deny rule #{} is {} {}, not a mapping; it would deny every call that reaches it", i + 1, article(rule.kind()), rule.kind()));
                continue;
            }
            self.keys(rule, RULE_KEYS, &format!("deny rule #{}", i + 1), Some(i));
            match rule.get("name") {
                None => self.warn(
                    rule.pos,
                    format!(
                        "deny rule #{} has no name; its denials are reported as rule 'deny'",
                        i + 1
                    ),
                ),
                Some(n) => {
                    if let Some(name) = self.expect_str(n, "name")
                        && let Some(first) = names.insert(name.to_string(), n.pos.line)
                    {
                        self.warn(n.pos, format!("rule name '{name}' is already used at line {first}; denials cannot be told apart"));
                    }
                }
            }
            if let Some(ops) = rule.get("operations") {
                self.patterns(ops, "operations", true);
                if let Value::Seq(items) = &ops.value {
                    let patterns: Vec<&str> = items.iter().filter_map(|n| n.as_str()).collect();
                    self.rename_widening(ops.pos, &patterns);
                }
            }
            if let Some(envs) = rule.get("environments") {
                self.patterns(envs, "environments", false);
            }
            for field in ["clients", "roles"] {
                if let Some(v) = rule.get(field) {
                    self.callers(v, field);
                }
            }
            if let Some(r) = rule.get("min_risk_level").filter(|r| r.truthy())
                && let Some(level) = self.expect_str(r, "min_risk_level")
                && !RISK_LEVELS.contains(&level)
            {
                {
                    let normalised = level.trim().to_lowercase();
                    let msg = if RISK_LEVELS.contains(&normalised.as_str()) {
                        format!("min_risk_level '{level}' should be written '{normalised}'")
                    } else {
                        let hint = did_you_mean(&normalised, &RISK_LEVELS)
                            .map(|s| format!(" (did you mean '{s}'?)"))
                            .unwrap_or_default();
                        format!(
                            "unknown min_risk_level '{level}'{hint}: expected one of low, medium, high, critical; the engine applies the rule to every level"
                        )
                    };
                    self.error(r.pos, msg);
                }
            }
            if let Some(r) = rule.get("reason")
                && r.as_str().is_none()
            {
                {
                    self.warn(
                        r.pos,
                        format!(
                            "reason is {} {}; it is shown as '{}'",
                            article(r.kind()),
                            r.kind(),
                            r.py_str()
                        ),
                    );
                }
            }
        }
    }

    /// Python's rename widening report, per rule: a tool renamed in 2.0 whose
    /// new name some pattern of the rule matches while its old name matched
    /// none is denied now and was not before (more, never less, but not what
    /// the operator wrote). A 2.0 name written exactly was meant, unless it is
    /// also some skill's old name.
    fn rename_widening(&mut self, pos: Pos, patterns: &[&str]) {
        let meant = |p: &str| {
            !p.contains(['*', '?', '['])
                && crate::renames::new_names().contains(p)
                && !crate::renames::old_names_all().contains(p)
        };
        let hits = |name: &str, skip_meant: bool| {
            patterns.iter().any(|p| {
                !(skip_meant && meant(p)) && (*p == "*" || super::fnmatch::fnmatchcase(name, p))
            })
        };
        let mut widened = Vec::new();
        for (server, pairs) in crate::renames::table() {
            for (old, new) in pairs {
                if hits(new, true) && !hits(old, false) {
                    widened.push(format!("{server} {new} [{old}]"));
                }
            }
        }
        if widened.is_empty() {
            return;
        }
        let shown = widened
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        let more = widened.len().saturating_sub(5);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        self.out.push(Diagnostic {
            severity: Severity::Warning,
            line: pos.line.max(1),
            column: pos.column.max(1),
            message: format!(
                "this rule now also denies {} tool(s) it did not match before the 2.0 tool renames \
                 (old name in brackets; it denies more, never less): {shown}{more}",
                widened.len()
            ),
            // Not a blast radius: the rule's own count of denials would
            // mix what it denied before with what the renames added.
            widens_rule: None,
        });
    }

    fn patterns(&mut self, v: &Node, field: &str, is_ops: bool) {
        match &v.value {
            Value::Seq(items) if items.is_empty() => {
                if is_ops {
                    self.warn(v.pos, "`operations: []` matches no operation: this rule can never match".into());
                } else {
                    self.warn(v.pos, "`environments: []` is no condition: the rule applies in every environment".into());
                }
            }
            Value::Seq(items) => {
                for item in items {
                    if let Some(p) = self.expect_str(item, &format!("an item of {field}")) {
                        self.glob(item.pos, p);
                    }
                }
            }
            Value::Str(s) => self.error(
                v.pos,
                format!("{field} must be a list: write [{s}]. A string is read letter by letter by the Python engine (matching nothing, or everything if it holds '*')"),
            ),
            Value::Null if is_ops => self.warn(v.pos, "`operations:` is empty: this rule can never match".into()),
            _ if !v.truthy() => {}
            _ => self.error(v.pos, format!("{field} must be a list of patterns, not {} {}", article(v.kind()), v.kind())),
        }
    }

    fn glob(&mut self, pos: Pos, p: &str) {
        if p.is_empty() {
            self.warn(pos, "an empty pattern matches nothing".into());
            return;
        }
        let chars: Vec<char> = p.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] == '[' {
                let mut j = i + 1;
                if j < chars.len() && chars[j] == '!' {
                    j += 1;
                }
                if j < chars.len() && chars[j] == ']' {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    self.error(
                        pos,
                        format!(
                            "pattern '{p}': '[' is never closed, so it is read as a literal '['"
                        ),
                    );
                    return;
                }
                let body: Vec<char> = chars[i + 1..j]
                    .iter()
                    .copied()
                    .filter(|&c| c != '!')
                    .collect();
                if body.len() == 3 && body[1] == '-' && body[0] > body[2] {
                    self.error(
                        pos,
                        format!(
                            "pattern '{p}': the range {}-{} is empty, so the pattern never matches",
                            body[0], body[2]
                        ),
                    );
                    return;
                }
                i = j;
            }
            i += 1;
        }
        if p.contains('{') && p.contains('}') {
            self.warn(pos, format!("pattern '{p}': braces are literal in these globs (no {{a,b}} alternation); list each pattern"));
        }
    }

    fn callers(&mut self, v: &Node, field: &str) {
        match &v.value {
            Value::Str(_) => {}
            Value::Seq(items) => {
                for item in items {
                    self.expect_str(item, &format!("an item of {field}"));
                }
            }
            _ if !v.truthy() => {}
            _ => self.error(
                v.pos,
                format!("{field} must be a list of names, not {} {}; the Python engine then matches every call", article(v.kind()), v.kind()),
            ),
        }
    }

    fn window(&mut self, w: &Node) {
        if !w.truthy() {
            return;
        }
        if !matches!(w.value, Value::Map(_)) {
            self.error(w.pos, "maintenance_window must be a mapping: {start: \"22:00\", end: \"06:00\"}; as written, high and critical operations are always denied".into());
            return;
        }
        self.keys(w, WINDOW_KEYS, "maintenance_window", None);
        for (key, default) in [("start", "22:00"), ("end", "06:00")] {
            let Some(v) = w.get(key) else {
                self.warn(w.pos, format!("maintenance_window has no {key}; it defaults to \"{default}\" (as in the Python engine)"));
                continue;
            };
            let Some(text) = self.expect_str(v, &format!("maintenance_window {key}")) else {
                continue;
            };
            let ok = match text.split(':').collect::<Vec<_>>().as_slice() {
                [h, m] => {
                    matches!((py_int(h), py_int(m)), (Some(h), Some(m)) if (0..24).contains(&h) && (0..60).contains(&m))
                }
                _ => false,
            };
            if !ok {
                self.error(v.pos, format!("maintenance_window {key} '{text}' is not a time as \"HH:MM\" (00:00 to 23:59)"));
            }
        }
    }
}

fn article(kind: &str) -> &'static str {
    if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// The closest known word within two edits, if any.
pub fn did_you_mean<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(word, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
