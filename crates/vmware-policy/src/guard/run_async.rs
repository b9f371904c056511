//! [`Guard::run_async`]: the guard around a future. The row's commit is
//! awaited, never waited for on an executor thread; a cancellation signal and
//! a panic are each handled as the caller chooses. No runtime is assumed.

use std::fmt::Display;
use std::future::{Future, Pending};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::pin;
use std::task::Poll;

use serde::Serialize;

use super::failure::Failure;
use super::pending::Completion;
use super::signal::{self, Slot};
use super::{Call, Guard, GuardError, Outcome, Tool};

/// What a cancelled call does: the choice is the skill's, per tool. A read can
/// stop at once; a write half done may be worse than one finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnCancel {
    /// Stop the tool (its future is dropped) and record `interrupted` with how
    /// long it ran.
    #[default]
    Interrupt,
    /// Let the tool run to its end and record how it really ended.
    Finish,
}

/// What a panicking tool does, once its `error` row is durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnPanic {
    /// Resume the panic in the caller, as [`Guard::run`] does.
    #[default]
    Resume,
    /// Return [`GuardError::Panicked`] with a redacted, sanitized message: a
    /// server answers its client instead of dropping the request.
    Fail,
}

/// How [`Guard::run_async_with`] treats cancellation and panics.
pub struct RunOptions<C = Pending<()>> {
    cancel: C,
    on_cancel: OnCancel,
    on_panic: OnPanic,
}

impl RunOptions {
    /// No cancellation signal; panics resume.
    pub fn new() -> RunOptions {
        RunOptions {
            cancel: std::future::pending(),
            on_cancel: OnCancel::default(),
            on_panic: OnPanic::default(),
        }
    }
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions::new()
    }
}

impl<C> RunOptions<C> {
    /// The signal that the caller gave up: any future that completes then
    /// (`token.cancelled_owned()` of a tokio-util `CancellationToken`, a
    /// oneshot receiver, a timer).
    pub fn cancel_on<S: Future<Output = ()>>(self, signal: S) -> RunOptions<S> {
        RunOptions {
            cancel: signal,
            on_cancel: self.on_cancel,
            on_panic: self.on_panic,
        }
    }
    pub fn on_cancel(mut self, choice: OnCancel) -> Self {
        self.on_cancel = choice;
        self
    }
    pub fn on_panic(mut self, choice: OnPanic) -> Self {
        self.on_panic = choice;
        self
    }
}

/// How a guarded future ended.
pub(crate) enum Ran<R> {
    Done(R),
    Cancelled,
    Panicked(Box<dyn std::any::Any + Send>),
}

/// Poll the tool (a panic caught at each poll) and the cancellation signal
/// together. With [`OnCancel::Finish`] the signal is noted and the tool runs
/// on. The tool's future is dropped before this returns.
pub(crate) async fn drive<R>(
    fut: impl Future<Output = R>,
    cancel: impl Future<Output = ()>,
    on_cancel: OnCancel,
    slot: &Slot,
) -> Ran<R> {
    let mut fut = pin!(fut);
    let mut cancel = pin!(cancel);
    let mut cancelled = false;
    std::future::poll_fn(|cx| {
        match signal::within(slot, || {
            catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx)))
        }) {
            Ok(Poll::Ready(r)) => return Poll::Ready(Ran::Done(r)),
            Err(panic) => return Poll::Ready(Ran::Panicked(panic)),
            Ok(Poll::Pending) => {}
        }
        if !cancelled && cancel.as_mut().poll(cx).is_ready() {
            cancelled = true;
            if on_cancel == OnCancel::Interrupt {
                return Poll::Ready(Ran::Cancelled);
            }
        }
        Poll::Pending
    })
    .await
}

impl Guard {
    /// [`Guard::run`] for a future: refused with [`GuardError::Denied`], else
    /// awaited, with one durable row either way before it returns.
    pub async fn run_async<T, E, F>(
        &self,
        tool: &Tool,
        call: Call,
        fut: F,
    ) -> Result<T, GuardError<E>>
    where
        T: Serialize,
        E: Display,
        F: Future<Output = Result<T, E>>,
    {
        self.run_async_with(tool, call, RunOptions::new(), fut)
            .await
            .result
    }

    /// [`Guard::run_async`] with a cancellation signal and a panic policy,
    /// returning the whole [`Outcome`].
    pub async fn run_async_with<T, E, F, C>(
        &self,
        tool: &Tool,
        call: Call,
        opts: RunOptions<C>,
        fut: F,
    ) -> Outcome<T, E>
    where
        T: Serialize,
        E: Display,
        F: Future<Output = Result<T, E>>,
        C: Future<Output = ()>,
    {
        let pending = match self.start(tool, call, super::RowWriter::Helper) {
            Ok(p) => p,
            Err(mut refused) => {
                let error = refused.error();
                let audit = match refused.receipt.take() {
                    Some(r) => Some(r.await),
                    None => None,
                };
                return Outcome {
                    result: Err(error),
                    decision: refused.decision,
                    audit,
                    status: refused.status,
                };
            }
        };
        let decision = pending.decision().clone();
        let slot = pending.slot().clone();
        let ran = drive(fut, opts.cancel, opts.on_cancel, &slot).await;
        let (done, result) = match ran {
            Ran::Done(result) => (pending.finish(&result), result.map_err(GuardError::Failed)),
            Ran::Cancelled => {
                let ran_ms = pending.elapsed().as_millis().min(u64::MAX as u128) as u64;
                let done = pending.complete(Completion::Interrupted("cancelled".into()));
                (done, Err(GuardError::Interrupted { ran_ms }))
            }
            Ran::Panicked(panic) => {
                let failure = Failure::of_panic(&*panic);
                let msg = failure.message.clone();
                let done = pending.complete(Completion::Panicked(failure));
                if opts.on_panic == OnPanic::Resume {
                    if let Some(r) = done.receipt {
                        r.await;
                    }
                    resume_unwind(panic);
                }
                let shown = crate::sanitize::sanitize(&crate::redact::redact_text(&msg), 500);
                (done, Err(GuardError::Panicked(shown)))
            }
        };
        let audit = match done.receipt {
            Some(r) => Some(r.await),
            None => None,
        };
        Outcome {
            decision,
            result,
            audit,
            status: done.status,
        }
    }
}
