//! What a failed call's row says: the message and a short traceback, as
//! Python's `_capture_error` records `{"error", "traceback"}`.
//!
//! Rust has no traceback of an `Err`, so the summary is what the error itself
//! carries: its type and its cause chain (`{:#}`, which anyhow and eyre print
//! as `outer: cause: root`). A panic's summary is where it panicked and, when
//! `RUST_BACKTRACE` asks for one, the innermost frames of the skill's own code,
//! taken at the panic by the hook [`crate::redact::install_panic_hook`] installs.

use std::cell::RefCell;
use std::fmt::Display;

use serde_json::{Value, json};

use crate::redact;
use crate::sanitize::sanitize;

/// Python keeps `traceback.format_exc()[-500:]`; the same budget here.
const TRACE_CHARS: usize = 500;
/// How many frames of the skill's own code a panic's summary keeps.
const FRAMES: usize = 6;

/// A failure as recorded: the message, and a traceback summary (`""`: none
/// known, and the row carries only `error`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Failure {
    pub message: String,
    pub traceback: String,
}

impl Failure {
    /// A tool's error: its message, and as traceback its type and cause chain.
    pub fn of<E: Display + ?Sized>(error: &E) -> Failure {
        let message = error.to_string();
        let chain = format!("{error:#}");
        let kind = std::any::type_name::<E>();
        // A bare string says nothing about its type; an error type does.
        let traceback = if matches!(kind, "alloc::string::String" | "&str" | "str") {
            chain
        } else {
            format!("{kind}: {chain}")
        };
        Failure { message, traceback }
    }

    /// A panic's payload: its message, and where it panicked when this thread's
    /// last panic (seen by the hook) is this one.
    pub(crate) fn of_panic(payload: &(dyn std::any::Any + Send)) -> Failure {
        let message = super::pending::panic_message(payload);
        let traceback = LAST_PANIC
            .with(|last| last.borrow_mut().take())
            .filter(|seen| seen.message == message)
            // Innermost first: the head is what matters, so the head is kept.
            .map(|seen| seen.summary.chars().take(TRACE_CHARS).collect())
            .unwrap_or_default();
        Failure { message, traceback }
    }

    /// The row's `result`: `{"error"}` and, when known, `{"traceback"}`, both
    /// redacted and sanitized as Python's are.
    pub(crate) fn row(&self, prefix: &str) -> Value {
        let error = scrub(&format!("{prefix}{}", self.message));
        if self.traceback.is_empty() {
            return json!({ "error": error });
        }
        json!({ "error": error, "traceback": scrub(&self.tail()) })
    }

    /// The end of the summary, where the root cause is (Python keeps the end too).
    fn tail(&self) -> String {
        let n = self.traceback.chars().count();
        self.traceback
            .chars()
            .skip(n.saturating_sub(TRACE_CHARS))
            .collect()
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure {
            message,
            traceback: String::new(),
        }
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Failure {
        message.to_string().into()
    }
}

fn scrub(text: &str) -> String {
    sanitize(&redact::redact_text(text), 500)
}

struct SeenPanic {
    message: String,
    summary: String,
}

thread_local! {
    static LAST_PANIC: RefCell<Option<SeenPanic>> = const { RefCell::new(None) };
}

/// Called by the panic hook on the panicking thread, before it unwinds into
/// the guard's `catch_unwind` on that same thread.
pub(crate) fn note_panic(info: &std::panic::PanicHookInfo<'_>) {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with no message".into());
    let mut summary = match info.location() {
        Some(l) => format!("panicked at {}:{}:{}", l.file(), l.line(), l.column()),
        None => "panicked".to_string(),
    };
    let bt = std::backtrace::Backtrace::capture();
    if bt.status() == std::backtrace::BacktraceStatus::Captured {
        let frames = own_frames(&bt.to_string());
        if !frames.is_empty() {
            summary.push_str("\nframes, innermost first:\n");
            summary.push_str(&frames.join("\n"));
        }
    }
    let _ = LAST_PANIC.try_with(|last| {
        if let Ok(mut slot) = last.try_borrow_mut() {
            *slot = Some(SeenPanic { message, summary });
        }
    });
}

/// The innermost frames of a printed backtrace that are not the runtime's,
/// the panic machinery's or the guard's own: `symbol at file:line`.
fn own_frames(printed: &str) -> Vec<String> {
    const NOISE: &[&str] = &[
        "std::",
        "core::",
        "alloc::",
        "<std::",
        "<core::",
        "<alloc::",
        "rust_begin_unwind",
        "__rust",
        "vmware_policy::guard",
        "vmware_policy::redact",
        "<vmware_policy::guard",
        "tokio::",
        "<tokio::",
    ];
    let mut out: Vec<String> = Vec::new();
    let mut lines = printed.lines().peekable();
    while let Some(line) = lines.next() {
        let Some((index, symbol)) = line.trim_start().split_once(": ") else {
            continue;
        };
        if !index.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let at = match lines.peek() {
            Some(next) if next.trim_start().starts_with("at ") => {
                lines.next().map(|l| l.trim().to_string())
            }
            _ => None,
        };
        let symbol = symbol.trim();
        if NOISE.iter().any(|n| symbol.starts_with(n)) {
            continue;
        }
        out.push(match at {
            Some(at) => format!("  {symbol} {at}"),
            None => format!("  {symbol}"),
        });
        if out.len() == FRAMES {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Refused;
    impl Display for Refused {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            if f.alternate() {
                write!(f, "vCenter refused: token=abc123 expired")
            } else {
                write!(f, "vCenter refused")
            }
        }
    }

    #[test]
    fn an_error_names_its_type_and_chain_redacted() {
        let f = Failure::of(&Refused);
        assert_eq!(f.message, "vCenter refused");
        let row = f.row("");
        assert_eq!(row["error"], "vCenter refused");
        let tb = row["traceback"].as_str().unwrap();
        assert!(
            tb.ends_with("Refused: vCenter refused: token=*** expired"),
            "{tb}"
        );
        assert!(!tb.contains("abc123"));
    }

    #[test]
    fn a_string_error_has_no_type_to_name() {
        let f = Failure::of(&"the NSX API answered 503".to_string());
        assert_eq!(f.traceback, "the NSX API answered 503");
        assert_eq!(Failure::from("x").row("")["traceback"], Value::Null);
    }

    #[test]
    fn a_long_chain_keeps_its_end_where_the_root_cause_is() {
        let long = format!("{}root cause", "context: ".repeat(100));
        let f = Failure::of(&long);
        let tb = f.row("")["traceback"].as_str().unwrap().to_string();
        assert_eq!(tb.chars().count(), 500);
        assert!(tb.ends_with("root cause"));
    }

    #[test]
    fn the_runtime_frames_are_left_out_of_a_backtrace() {
        let printed = "   0: rust_begin_unwind\n             at /rustc/x/library/std/src/panicking.rs:665:5\n   1: core::panicking::panic_fmt\n   2: my_skill::tools::delete_vm\n             at ./src/tools.rs:12:5\n   3: vmware_policy::guard::Guard::run_detailed\n   4: my_skill::main\n             at ./src/main.rs:3:1\n   5: std::rt::lang_start\n";
        assert_eq!(
            own_frames(printed),
            [
                "  my_skill::tools::delete_vm at ./src/tools.rs:12:5",
                "  my_skill::main at ./src/main.rs:3:1"
            ]
        );
    }
}
