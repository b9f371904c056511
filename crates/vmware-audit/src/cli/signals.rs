//! Ctrl-C and SIGTERM for the long-running commands (`log --follow`, `ship`):
//! they set a flag the loop reads, so the batch under way is finished (a
//! follow prints it, a shipper commits it) before the process exits.

use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

/// Catch SIGINT and SIGTERM from now on.
pub fn catch() {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
}

/// Whether one arrived.
pub fn stopping() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// Sleep up to `d`, waking early when a signal arrives.
pub fn sleep(d: std::time::Duration) {
    let end = std::time::Instant::now() + d;
    while !stopping() {
        let now = std::time::Instant::now();
        if now >= end {
            break;
        }
        std::thread::sleep((end - now).min(std::time::Duration::from_millis(50)));
    }
}
