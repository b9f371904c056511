//! A row's receipt: resolves once the row is committed (or known lost). One
//! type serves both worlds: a sync caller blocks in [`Receipt::wait`], and
//! commits the row itself if no one has yet; an async caller `.await`s it and
//! its executor thread is free while the engine's helper thread commits. No
//! runtime is assumed (tokio, smol or none).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use super::writer::Appended;

/// The engine, as a receipt sees it.
pub(crate) trait Leader: Send + Sync {
    /// Write queued rows on this thread until `slot`'s is written; its outcome.
    fn lead_until(&self, slot: &Slot) -> Appended;
    /// Have the helper thread write what is queued (or write it here, if no
    /// thread can be started).
    fn hand_off(&self);
}

/// The writer's side of a receipt: set once.
#[derive(Default)]
pub(crate) struct Slot {
    state: Mutex<SlotState>,
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
    /// The outcome, once the row is written or known lost.
    pub(crate) fn outcome(&self) -> Option<Appended> {
        lock(&self.state).done
    }

    pub(crate) fn complete(&self, outcome: Appended) {
        let waker = {
            let mut s = lock(&self.state);
            s.done = Some(outcome);
            s.waker.take()
        };
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
    Pending {
        slot: Arc<Slot>,
        leader: Arc<dyn Leader>,
        /// Not handed to the helper thread yet: whoever waits, polls or drops
        /// the receipt first decides who writes it.
        deferred: bool,
    },
    /// Already handed out by a completed poll.
    Taken,
}

impl Receipt {
    /// A row already handed to the helper thread.
    pub(crate) fn pending(slot: Arc<Slot>, leader: Arc<dyn Leader>) -> Receipt {
        Receipt {
            inner: ReceiptInner::Pending {
                slot,
                leader,
                deferred: false,
            },
        }
    }

    /// A queued row nobody writes yet: a wait commits it on the waiter's
    /// thread, a poll or a drop hands it to the helper thread. For callers
    /// that do one of those at once (the guard).
    pub(crate) fn deferred(slot: Arc<Slot>, leader: Arc<dyn Leader>) -> Receipt {
        Receipt {
            inner: ReceiptInner::Pending {
                slot,
                leader,
                deferred: true,
            },
        }
    }

    /// Block this thread until the row is committed (or known lost).
    /// Not for an async executor's thread: `.await` the receipt there.
    pub fn wait(mut self) -> Appended {
        match std::mem::replace(&mut self.inner, ReceiptInner::Taken) {
            ReceiptInner::Taken => Appended::Lost,
            // Commit it here rather than be woken by the helper thread: a
            // wake-up costs a third of a commit on a small virtual machine.
            ReceiptInner::Pending { slot, leader, .. } => leader.lead_until(&slot),
        }
    }

    /// The outcome if it is already known, without waiting.
    pub fn try_get(&self) -> Option<Appended> {
        match &self.inner {
            ReceiptInner::Taken => None,
            ReceiptInner::Pending { slot, .. } => lock(&slot.state).done,
        }
    }
}

impl Future for Receipt {
    type Output = Appended;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Appended> {
        let ReceiptInner::Pending {
            slot,
            leader,
            deferred,
        } = &mut self.inner
        else {
            return Poll::Ready(Appended::Lost);
        };
        let done = {
            let mut s = lock(&slot.state);
            if s.done.is_none() && !s.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                s.waker = Some(cx.waker().clone());
            }
            s.done
        };
        match done {
            Some(a) => {
                self.inner = ReceiptInner::Taken;
                Poll::Ready(a)
            }
            None => {
                // After the waker is in place, so the commit cannot be missed.
                if std::mem::take(deferred) {
                    leader.hand_off();
                }
                Poll::Pending
            }
        }
    }
}

impl Drop for Receipt {
    /// A deferred row nobody will wait for still gets written.
    fn drop(&mut self) {
        if let ReceiptInner::Pending {
            slot,
            leader,
            deferred: true,
        } = &self.inner
            && slot.outcome().is_none()
        {
            leader.hand_off();
        }
    }
}

impl std::fmt::Debug for Receipt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Receipt").field(&self.try_get()).finish()
    }
}
