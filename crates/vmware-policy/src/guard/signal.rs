//! What a tool can tell the guard about the call it is running, from inside
//! it, as Python's `report_tool_failure` (a context variable) does: the call
//! failed although it returned, or the operator declined it.
//!
//! The call's slot is this thread's while the guard runs the tool: for the
//! whole closure of [`super::Guard::run`], and for each poll of the future of
//! [`super::Guard::run_async`] and of an MCP tool, so it follows a task from
//! worker thread to worker thread and never leaks into the next call.

use std::cell::RefCell;
use std::sync::{Arc, Mutex};

/// What the tool reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Signal {
    Failed(String),
    Rejected,
}

/// One call's slot. Cloned into the scope of each poll.
#[derive(Debug, Clone, Default)]
pub(crate) struct Slot(Arc<Mutex<Option<Signal>>>);

impl Slot {
    /// What was reported (a rejection outranks a failure reported earlier).
    pub(crate) fn take(&self) -> Option<Signal> {
        self.0.lock().map(|mut s| s.take()).unwrap_or(None)
    }

    fn set(&self, signal: Signal) {
        if let Ok(mut s) = self.0.lock()
            && *s != Some(Signal::Rejected)
        {
            *s = Some(signal);
        }
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Slot>> = const { RefCell::new(None) };
}

/// Run `f` with `slot` as this thread's current call (the previous one, a
/// guarded call around this one, comes back after, even on a panic).
pub(crate) fn within<R>(slot: &Slot, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Slot>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            let _ = CURRENT.try_with(|c| *c.borrow_mut() = previous);
        }
    }
    let previous = CURRENT.with(|c| c.borrow_mut().replace(slot.clone()));
    let _restore = Restore(previous);
    f()
}

fn report(signal: Signal) -> bool {
    CURRENT
        .try_with(|c| match &*c.borrow() {
            Some(slot) => {
                slot.set(signal);
                true
            }
            None => false,
        })
        .unwrap_or(false)
}

/// The running guarded call failed although the tool returns normally (it
/// printed its failure and returned, as Python's `report_tool_failure`): its
/// row is `error`. The message is for the reader of the row; a tool that
/// returns a value keeps it in the row, as Python's `@vmware_tool` does.
/// `false` when no guarded call is running on this thread or task.
pub fn report_tool_failure(message: impl std::fmt::Display) -> bool {
    report(Signal::Failed(message.to_string()))
}

/// The operator declined the running guarded call (a confirmation answered
/// no, an MCP elicitation declined): its row is `rejected`, with `{}` as
/// result, as Python's CLI guard records a declined confirmation. The tool
/// still returns what it chooses to tell the agent. `false` when no guarded
/// call is running on this thread or task.
pub fn report_rejected() -> bool {
    report(Signal::Rejected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_reaches_only_the_call_in_scope() {
        assert!(!report_rejected(), "no call in scope");
        let outer = Slot::default();
        let inner = Slot::default();
        within(&outer, || {
            within(&inner, || assert!(report_tool_failure("HTTP 503")));
            assert!(report_rejected());
        });
        assert_eq!(inner.take(), Some(Signal::Failed("HTTP 503".into())));
        assert_eq!(outer.take(), Some(Signal::Rejected));
        assert!(!report_tool_failure("after"), "the scope ended");
    }

    #[test]
    fn a_rejection_is_not_overwritten_by_a_later_failure() {
        let slot = Slot::default();
        within(&slot, || {
            report_rejected();
            report_tool_failure("then it failed");
        });
        assert_eq!(slot.take(), Some(Signal::Rejected));
    }

    #[test]
    fn the_scope_ends_when_the_tool_panics() {
        let slot = Slot::default();
        let _ = std::panic::catch_unwind(|| within(&slot, || panic!("boom")));
        assert!(!report_rejected());
    }
}
