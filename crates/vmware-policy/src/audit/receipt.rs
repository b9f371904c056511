//! A row's receipt: resolves once the writer thread has committed the row (or
//! knows it lost). One type serves both worlds: a sync caller blocks in
//! [`Receipt::wait`], an async caller `.await`s it and its executor thread is
//! free while the commit runs. No runtime is assumed (tokio, smol or none).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use super::writer::Appended;

/// How long a sync caller looks for its commit before sleeping: a durable
/// commit takes a few hundred microseconds, and waking a sleeping thread on a
/// virtual machine costs tens of them. It yields while it looks.
const WAIT_SPIN: std::time::Duration = std::time::Duration::from_millis(1);

/// The writer's side of a receipt: set once.
#[derive(Default)]
pub(crate) struct Slot {
    state: Mutex<SlotState>,
    cv: Condvar,
}

#[derive(Default)]
struct SlotState {
    done: Option<Appended>,
    waker: Option<Waker>,
}

fn lock(m: &Mutex<SlotState>) -> MutexGuard<'_, SlotState> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Slot {
    pub(crate) fn complete(&self, outcome: Appended) {
        let waker = {
            let mut s = lock(&self.state);
            s.done = Some(outcome);
            s.waker.take()
        };
        self.cv.notify_all();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// What happened to a submitted row, once known. Dropping a receipt does not
/// cancel the row: it is written all the same.
#[must_use = "a receipt does nothing unless waited for; dropping it still writes the row"]
pub struct Receipt {
    inner: ReceiptInner,
}

enum ReceiptInner {
    Pending(Arc<Slot>),
    Ready(Appended),
    /// Already handed out by a completed poll.
    Taken,
}

impl Receipt {
    pub(crate) fn pending(slot: Arc<Slot>) -> Receipt {
        Receipt {
            inner: ReceiptInner::Pending(slot),
        }
    }

    pub(crate) fn ready(outcome: Appended) -> Receipt {
        Receipt {
            inner: ReceiptInner::Ready(outcome),
        }
    }

    /// Block this thread until the row is committed (or known lost).
    /// Not for an async executor's thread: `.await` the receipt there.
    pub fn wait(self) -> Appended {
        match self.inner {
            ReceiptInner::Ready(a) => a,
            ReceiptInner::Taken => Appended::Lost,
            ReceiptInner::Pending(slot) => {
                // A commit takes tens to hundreds of microseconds: look for
                // it briefly before sleeping (a wake-up costs about as much).
                let until = std::time::Instant::now() + WAIT_SPIN;
                while std::time::Instant::now() < until {
                    if let Some(a) = lock(&slot.state).done {
                        return a;
                    }
                    std::thread::yield_now();
                }
                let mut s = lock(&slot.state);
                loop {
                    if let Some(a) = s.done {
                        return a;
                    }
                    s = slot.cv.wait(s).unwrap_or_else(|p| p.into_inner());
                }
            }
        }
    }

    /// The outcome if it is already known, without waiting.
    pub fn try_get(&self) -> Option<Appended> {
        match &self.inner {
            ReceiptInner::Ready(a) => Some(*a),
            ReceiptInner::Taken => None,
            ReceiptInner::Pending(slot) => lock(&slot.state).done,
        }
    }
}

impl Future for Receipt {
    type Output = Appended;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Appended> {
        let outcome = match &self.inner {
            ReceiptInner::Ready(a) => *a,
            ReceiptInner::Taken => return Poll::Ready(Appended::Lost),
            ReceiptInner::Pending(slot) => {
                let mut s = lock(&slot.state);
                match s.done {
                    Some(a) => a,
                    None => {
                        if !s.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                            s.waker = Some(cx.waker().clone());
                        }
                        return Poll::Pending;
                    }
                }
            }
        };
        self.inner = ReceiptInner::Taken;
        Poll::Ready(outcome)
    }
}

impl std::fmt::Debug for Receipt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Receipt").field(&self.try_get()).finish()
    }
}
