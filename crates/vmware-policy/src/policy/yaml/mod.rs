//! rules.yaml read the way PyYAML's `safe_load` reads it (YAML 1.1), with
//! positions, and with limits against hostile files.
//!
//! Why not serde_yaml: one rules file governs Python and Rust skills at once,
//! and PyYAML resolves plain scalars by YAML 1.1 (`22:00` is the integer 1320,
//! `on` is `true`, `010` is 8). Deciding as Python does needs each scalar's
//! style (plain or quoted) and its position for diagnostics; serde_yaml resolves
//! by YAML 1.2 and discards both. We take yaml-rust2's event stream and apply
//! PyYAML's resolvers and constructors ourselves.

use std::collections::HashMap;
use std::rc::Rc;
use yaml_rust2::parser::{Event, Parser, Tag};

pub(crate) mod pyrepr;
mod pyscan;
mod resolve;

use pyrepr::{py_float_repr, py_str_repr};
use resolve::{MERGE_KEY, scalar};

/// Largest rules file we read. A real one is a few kilobytes.
pub const MAX_BYTES: usize = 4 * 1024 * 1024;
/// Deepest nesting we accept; rules are three levels deep.
pub const MAX_DEPTH: usize = 64;
/// Most nodes a document may expand to through aliases ("billion laughs").
pub const MAX_EXPANDED_NODES: u64 = 200_000;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

/// The entries of a mapping, keys unique, in first-seen order.
pub type Entries = Vec<(Rc<Node>, Rc<Node>)>;

/// A loaded value, typed as PyYAML types it.
#[derive(Debug, Clone)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    /// A YAML 1.1 timestamp (PyYAML gives a `datetime`); kept as its text.
    Timestamp(String),
    Seq(Vec<Rc<Node>>),
    Map(Entries),
}

/// A value with where it was written.
#[derive(Debug, Clone)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
    /// For a plain scalar that YAML 1.1 did not read as text: the text as written
    /// (so the validator can say "`22:00` is read as the integer 1320").
    pub plain: Option<String>,
    /// Nodes this one expands to, aliases included (bounded by [`MAX_EXPANDED_NODES`]).
    weight: u64,
}

/// Why a document did not load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub message: String,
    pub pos: Pos,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.pos.line, self.pos.column, self.message
        )
    }
}

impl Node {
    fn new(value: Value, pos: Pos) -> Node {
        let weight = match &value {
            Value::Seq(items) => items.iter().fold(1u64, |w, n| w.saturating_add(n.weight)),
            Value::Map(entries) => entries.iter().fold(1u64, |w, (k, v)| {
                w.saturating_add(k.weight).saturating_add(v.weight)
            }),
            _ => 1,
        };
        Node {
            value,
            pos,
            plain: None,
            weight,
        }
    }

    /// The key node and the value under string key `key` of a mapping.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(&k.value, Value::Str(s) if s == key))
                .map(|(k, v)| (k.as_ref(), v.as_ref())),
            _ => None,
        }
    }

    /// The value under string key `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(&k.value, Value::Str(s) if s == key))
                .map(|(_, v)| v.as_ref()),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Python truthiness of the constructed value.
    pub fn truthy(&self) -> bool {
        match &self.value {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::Timestamp(_) => true,
            Value::Seq(v) => !v.is_empty(),
            Value::Map(m) => !m.is_empty(),
        }
    }

    /// A word for the type, as an operator would say it.
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::Str(_) => "string",
            Value::Timestamp(_) => "timestamp",
            Value::Seq(_) => "list",
            Value::Map(_) => "mapping",
        }
    }

    /// Python's `str()` of the constructed value (used in reasons Python prints).
    pub fn py_str(&self) -> String {
        match &self.value {
            Value::Str(s) | Value::Timestamp(s) => s.clone(),
            _ => self.py_repr(),
        }
    }

    /// Python's `repr()` of the constructed value.
    pub fn py_repr(&self) -> String {
        match &self.value {
            Value::Null => "None".into(),
            Value::Bool(true) => "True".into(),
            Value::Bool(false) => "False".into(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => py_float_repr(*f),
            Value::Str(s) => py_str_repr(s),
            Value::Timestamp(s) => format!("datetime({s})"),
            Value::Seq(items) => {
                let parts: Vec<String> = items.iter().map(|n| n.py_repr()).collect();
                format!("[{}]", parts.join(", "))
            }
            Value::Map(entries) => {
                let parts: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("{}: {}", k.py_repr(), v.py_repr()))
                    .collect();
                format!("{{{}}}", parts.join(", "))
            }
        }
    }
}

/// Load one YAML document as PyYAML's `safe_load` would. An empty document is `Null`.
pub fn load(text: &str) -> Result<Node, LoadError> {
    if text.len() > MAX_BYTES {
        return Err(LoadError {
            message: format!(
                "the file is {} bytes; rules files are limited to {} bytes",
                text.len(),
                MAX_BYTES
            ),
            pos: Pos { line: 1, column: 1 },
        });
    }
    pyscan::check(text)?;
    Builder::default().run(without_bom(text))
}

/// PyYAML skips one U+FEFF at the very start (Notepad and PowerShell write it).
fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

enum Frame {
    Seq {
        anchor: usize,
        pos: Pos,
        items: Vec<Rc<Node>>,
    },
    Map {
        anchor: usize,
        pos: Pos,
        entries: Entries,
        key: Option<Rc<Node>>,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Rc<Node>>,
    root: Option<Rc<Node>>,
    documents: usize,
}

fn pos_of(m: &yaml_rust2::scanner::Marker) -> Pos {
    Pos {
        line: m.line(),
        column: m.col() + 1,
    }
}

pub(super) fn err(message: impl Into<String>, pos: Pos) -> LoadError {
    LoadError {
        message: message.into(),
        pos,
    }
}

impl Builder {
    fn run(mut self, text: &str) -> Result<Node, LoadError> {
        let mut parser = Parser::new_from_str(text);
        loop {
            let (event, mark) = parser.next_token().map_err(|e| {
                let m = e.marker();
                err(
                    e.info().to_string(),
                    Pos {
                        line: m.line(),
                        column: m.col() + 1,
                    },
                )
            })?;
            let pos = pos_of(&mark);
            match event {
                Event::StreamEnd => break,
                Event::StreamStart | Event::Nothing | Event::DocumentEnd => {}
                Event::DocumentStart => {
                    self.documents += 1;
                    if self.documents > 1 {
                        return Err(err(
                            "expected a single document in the stream, but found another document",
                            pos,
                        ));
                    }
                }
                Event::Alias(id) => {
                    let node = self.anchors.get(&id).cloned().ok_or_else(|| {
                        err(
                            "found an alias to an anchor that is not complete (recursive alias)",
                            pos,
                        )
                    })?;
                    self.push(node, pos)?;
                }
                Event::Scalar(text, style, anchor, tag) => {
                    let node = Rc::new(scalar(text, style, tag.as_ref(), pos)?);
                    if anchor > 0 {
                        self.anchors.insert(anchor, node.clone());
                    }
                    self.push(node, pos)?;
                }
                Event::SequenceStart(anchor, tag) => {
                    check_collection_tag(tag.as_ref(), "seq", pos)?;
                    self.open(
                        Frame::Seq {
                            anchor,
                            pos,
                            items: Vec::new(),
                        },
                        pos,
                    )?;
                }
                Event::MappingStart(anchor, tag) => {
                    check_collection_tag(tag.as_ref(), "map", pos)?;
                    self.open(
                        Frame::Map {
                            anchor,
                            pos,
                            entries: Vec::new(),
                            key: None,
                        },
                        pos,
                    )?;
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let (node, anchor) = match self.stack.pop() {
                        Some(Frame::Seq { anchor, pos, items }) => {
                            (Node::new(Value::Seq(items), pos), anchor)
                        }
                        Some(Frame::Map {
                            anchor,
                            pos,
                            entries,
                            ..
                        }) => (
                            Node::new(Value::Map(flatten_mapping(entries)?), pos),
                            anchor,
                        ),
                        None => return Err(err("unbalanced collection end", pos)),
                    };
                    let node = Rc::new(node);
                    if anchor > 0 {
                        self.anchors.insert(anchor, node.clone());
                    }
                    self.push(node, pos)?;
                }
            }
        }
        let root = self
            .root
            .unwrap_or_else(|| Rc::new(Node::new(Value::Null, Pos { line: 1, column: 1 })));
        Ok(Rc::try_unwrap(root).unwrap_or_else(|rc| (*rc).clone()))
    }

    fn open(&mut self, frame: Frame, pos: Pos) -> Result<(), LoadError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(err(format!("nesting deeper than {MAX_DEPTH} levels"), pos));
        }
        self.stack.push(frame);
        Ok(())
    }

    fn push(&mut self, node: Rc<Node>, pos: Pos) -> Result<(), LoadError> {
        if node.weight > MAX_EXPANDED_NODES {
            return Err(alias_bomb(pos));
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => {
                let total = items
                    .iter()
                    .fold(node.weight, |w, n| w.saturating_add(n.weight));
                if total > MAX_EXPANDED_NODES {
                    return Err(alias_bomb(pos));
                }
                items.push(node);
            }
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => {
                    let total = entries
                        .iter()
                        .fold(node.weight.saturating_add(k.weight), |w, (a, b)| {
                            w.saturating_add(a.weight).saturating_add(b.weight)
                        });
                    if total > MAX_EXPANDED_NODES {
                        return Err(alias_bomb(pos));
                    }
                    entries.push((k, node));
                }
            },
        }
        Ok(())
    }
}

fn alias_bomb(pos: Pos) -> LoadError {
    err(
        format!(
            "the document expands to more than {MAX_EXPANDED_NODES} values through aliases (an alias bomb?)"
        ),
        pos,
    )
}

pub(super) const YAML_TAG: &str = "tag:yaml.org,2002:";

fn check_collection_tag(tag: Option<&Tag>, expected: &str, pos: Pos) -> Result<(), LoadError> {
    match tag {
        None => Ok(()),
        Some(t) if t.handle == YAML_TAG && t.suffix == expected => Ok(()),
        Some(t) if t.handle == "!" && t.suffix.is_empty() => Ok(()),
        Some(t) => Err(err(
            format!(
                "could not determine a constructor for the tag '{}{}'",
                t.handle, t.suffix
            ),
            pos,
        )),
    }
}

/// Apply `<<` merges and make keys unique (last value wins, first position kept),
/// as PyYAML's `flatten_mapping` and dict construction do.
fn flatten_mapping(entries: Entries) -> Result<Entries, LoadError> {
    let mut merged: Entries = Vec::new();
    let mut own: Entries = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        if matches!(&k.value, Value::Str(s) if s == MERGE_KEY) {
            match &v.value {
                Value::Map(sub) => merged.extend(sub.iter().cloned()),
                Value::Seq(items) => {
                    let mut subs = Vec::new();
                    for item in items {
                        match &item.value {
                            Value::Map(sub) => subs.push(sub.clone()),
                            _ => {
                                return Err(err(
                                    format!(
                                        "expected a mapping for merging, but found a {}",
                                        item.kind()
                                    ),
                                    item.pos,
                                ));
                            }
                        }
                    }
                    for sub in subs.into_iter().rev() {
                        merged.extend(sub);
                    }
                }
                _ => {
                    return Err(err(
                        format!(
                            "expected a mapping or list of mappings for merging, but found a {}",
                            v.kind()
                        ),
                        v.pos,
                    ));
                }
            }
        } else {
            own.push((k, v));
        }
    }
    merged.extend(own);
    let mut out: Entries = Vec::with_capacity(merged.len());
    for (k, v) in merged {
        if matches!(k.value, Value::Seq(_) | Value::Map(_)) {
            return Err(err(
                "found an unhashable key (a list or mapping used as a key)",
                k.pos,
            ));
        }
        match out
            .iter_mut()
            .find(|(existing, _)| keys_equal(existing, &k))
        {
            Some(slot) => slot.1 = v,
            None => out.push((k, v)),
        }
    }
    Ok(out)
}

/// Python dict key equality for scalars (`1 == True == 1.0`).
fn keys_equal(a: &Node, b: &Node) -> bool {
    fn num(v: &Value) -> Option<f64> {
        match v {
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }
    match (&a.value, &b.value) {
        (Value::Str(x), Value::Str(y)) | (Value::Timestamp(x), Value::Timestamp(y)) => x == y,
        (Value::Null, Value::Null) => true,
        (x, y) => matches!((num(x), num(y)), (Some(p), Some(q)) if p == q),
    }
}

/// Every key of a mapping as written, with its position, before duplicates were
/// folded: the validator reports duplicates, which [`load`] (like PyYAML) hides.
pub fn duplicate_keys(text: &str) -> Vec<(String, Pos)> {
    let mut parser = Parser::new_from_str(without_bom(text));
    // Per open collection: None for a sequence, Some((seen keys, expecting key)) for a mapping.
    let mut stack: Vec<Option<(Vec<String>, bool)>> = Vec::new();
    let mut dups = Vec::new();
    let mut events = 0usize;
    while let Ok((event, mark)) = parser.next_token() {
        events += 1;
        if events > 1_000_000 {
            break;
        }
        // A completed node of the enclosing collection: a scalar, an alias, or a
        // collection when it closes (collections are never string keys).
        let completed: Option<String> = match event {
            Event::StreamEnd => break,
            Event::Scalar(text, ..) => Some(text),
            Event::Alias(_) => None,
            Event::SequenceStart(..) => {
                stack.push(None);
                continue;
            }
            Event::MappingStart(..) => {
                stack.push(Some((Vec::new(), true)));
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                stack.pop();
                None
            }
            _ => continue,
        };
        if let Some(Some((seen, expecting_key))) = stack.last_mut() {
            if *expecting_key && let Some(key) = completed {
                if seen.contains(&key) {
                    dups.push((key, pos_of(&mark)));
                } else {
                    seen.push(key);
                }
            }
            *expecting_key = !*expecting_key;
        }
    }
    dups
}

#[cfg(test)]
mod tests;
