//! Calls in flight, so a server shutting down (SIGTERM) can let them end and
//! their rows be written before the process exits.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// A count of guarded calls not yet recorded. Clone it before serving.
#[derive(Clone, Default)]
pub struct InFlight {
    inner: Arc<Counter>,
}

#[derive(Default)]
struct Counter {
    calls: AtomicUsize,
    idle: Notify,
}

/// Held for one call; dropping it (the call ended or its task was dropped)
/// counts the call out.
pub(crate) struct Entered(Arc<Counter>);

impl InFlight {
    pub(crate) fn enter(&self) -> Entered {
        self.inner.calls.fetch_add(1, Ordering::SeqCst);
        Entered(self.inner.clone())
    }

    /// Calls started and not yet recorded.
    pub fn count(&self) -> usize {
        self.inner.calls.load(Ordering::SeqCst)
    }

    /// Wait until no call is in flight, or `limit` has passed. Returns how
    /// many are still running (0 when all ended).
    pub async fn wait_idle(&self, limit: Duration) -> usize {
        let wait = async {
            loop {
                let idle = self.inner.idle.notified();
                if self.count() == 0 {
                    return;
                }
                idle.await;
            }
        };
        let _ = tokio::time::timeout(limit, wait).await;
        self.count()
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        if self.0.calls.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}
