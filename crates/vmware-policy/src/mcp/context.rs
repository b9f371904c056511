//! What an MCP request tells the guard about its call, and what the guard
//! records of an MCP result.

use rmcp::model::{CallToolResult, ContentBlock, RequestMetaObject};
use serde_json::Value;

use crate::guard::Completion;

/// The W3C trace-id of `_meta.traceparent`, as Python's `current_correlation_id`
/// reads a `traceparent` header: the second field, 32 lowercase hex digits,
/// not all zeros. Anything else is no id.
pub fn trace_id(meta: &RequestMetaObject) -> String {
    let Some(parent) = meta.get_traceparent() else {
        return String::new();
    };
    let parts: Vec<&str> = parent.trim().split('-').collect();
    let valid = |id: &str| {
        id.len() == 32
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            && id.bytes().any(|b| b != b'0')
    };
    match parts.get(1) {
        Some(id) if parts.len() >= 4 && valid(id) => id.to_string(),
        _ => String::new(),
    }
}

/// The text of a result's content blocks, joined (images and the like named
/// by kind, never inlined into the audit row).
fn content_text(content: &[ContentBlock]) -> String {
    content
        .iter()
        .map(|c| match c.as_text() {
            Some(t) => t.text.clone(),
            None => "<non-text content>".to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// How a tool's MCP result is recorded: `isError` is a failure with its text;
/// otherwise the structured content, or the text read as JSON when it is JSON
/// (what a Python tool's dict becomes on the wire), or the text itself.
pub fn completion_of(result: &CallToolResult) -> Completion {
    if result.is_error == Some(true) {
        let text = match &result.structured_content {
            Some(Value::Object(o)) if o.get("error").is_some_and(Value::is_string) => {
                o["error"].as_str().unwrap_or_default().to_string()
            }
            _ => content_text(&result.content),
        };
        return Completion::Failed(text.into());
    }
    if let Some(v) = &result.structured_content {
        return Completion::Returned(v.clone());
    }
    let text = content_text(&result.content);
    Completion::Returned(serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::MetaObject;

    fn meta(traceparent: &str) -> RequestMetaObject {
        let mut m = MetaObject::new();
        m.set_traceparent(traceparent);
        RequestMetaObject(m)
    }

    #[test]
    fn the_trace_id_is_read_as_python_reads_a_traceparent() {
        let id = "0af7651916cd43dd8448eb211c80319c";
        assert_eq!(trace_id(&meta(&format!("00-{id}-00f067aa0ba902b7-01"))), id);
        assert_eq!(
            trace_id(&meta(&format!("00-{}-00f067aa0ba902b7-01", "0".repeat(32)))),
            ""
        );
        assert_eq!(
            trace_id(&meta(&format!("00-{}-00f0-01", id.to_uppercase()))),
            ""
        );
        assert_eq!(trace_id(&meta(&format!("00-{id}-01"))), "");
        assert_eq!(trace_id(&meta("00-'; DROP TABLE audit_log;--")), "");
        assert_eq!(trace_id(&RequestMetaObject::new()), "");
    }

    #[test]
    fn an_error_result_is_a_failure_and_json_text_is_recorded_as_json() {
        match completion_of(&CallToolResult::error(vec![ContentBlock::text("HTTP 503")])) {
            Completion::Failed(t) => assert_eq!(t.message, "HTTP 503"),
            other => panic!("{other:?}"),
        }
        match completion_of(&CallToolResult::success(vec![ContentBlock::text(
            r#"{"a": 1}"#,
        )])) {
            Completion::Returned(v) => assert_eq!(v, serde_json::json!({"a": 1})),
            other => panic!("{other:?}"),
        }
        match completion_of(&CallToolResult::success(vec![ContentBlock::text("plain")])) {
            Completion::Returned(v) => assert_eq!(v, Value::String("plain".into())),
            other => panic!("{other:?}"),
        }
    }
}
