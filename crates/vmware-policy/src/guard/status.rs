//! What status and result a row records for a call's outcome, as the Python
//! family's decorator records them.

use serde_json::{Map, Value, json};

/// The status a row records: a completed dry run is `dry_run`, a bypass appends `_bypassed`.
pub(crate) fn final_status(
    status: &str,
    bypassed: bool,
    previewed: bool,
    params: &Value,
) -> String {
    let dry = previewed || params.get("dry_run") == Some(&Value::Bool(true));
    let recorded = if status == "ok" && dry {
        "dry_run"
    } else {
        status
    };
    if bypassed {
        format!("{recorded}_bypassed")
    } else {
        recorded.to_string()
    }
}

/// `{"error": <truthy>}` or `{"outcome": "failed"}` (or a one-element list of
/// such): the family's envelope for a tool that failed without raising.
pub(crate) fn returned_failure(v: &Value) -> bool {
    let says = |o: &Map<String, Value>| {
        o.get("error").is_some_and(truthy) || o.get("outcome") == Some(&json!("failed"))
    };
    match v {
        Value::Object(o) => says(o),
        Value::Array(items) if items.len() == 1 => items[0].as_object().is_some_and(says),
        _ => false,
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

const SURFACES: &[&str] = &[
    "mcp-stdio",
    "mcp-https",
    "mcp-http-loopback",
    "cli",
    "daemon",
];

/// A surface name outside the family's list is recorded as `invalid:<value>`.
/// No surface named is Python's default, `mcp-stdio`.
pub(crate) fn surface_for_row(surface: &str) -> String {
    if surface.is_empty() {
        "mcp-stdio".into()
    } else if SURFACES.contains(&surface) {
        surface.to_string()
    } else {
        format!("invalid:{surface}")
    }
}
