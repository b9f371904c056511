//! The polling fallback, used where file watching is unavailable
//! (forced here with VMWARE_POLICY_POLL, in a test binary of its own so the
//! setting reaches no other test).

mod common;

use std::time::{Duration, Instant};

use common::Home;
use vmware_policy::{CallContext, PolicyEngine};

#[test]
fn polling_sees_saves_deletions_and_recreations() {
    // SAFETY: set before any other thread of this test binary exists.
    unsafe { std::env::set_var("VMWARE_POLICY_POLL", "1") };
    let home = Home::new();
    home.write_rules("deny:\n  - name: a\n    operations: [x]\n");
    let e = PolicyEngine::new(home.rules());
    let rule = |op: &str| e.check(op, &CallContext::default()).rule;
    let wait = |op: &str, want: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while rule(op) != want {
            assert!(Instant::now() < deadline, "{op}: {} != {want}", rule(op));
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    assert_eq!(rule("x"), "a");
    std::fs::write(home.rules(), "deny:\n  - name: b\n    operations: [y]\n").unwrap();
    wait("y", "b");
    std::fs::remove_file(home.rules()).unwrap();
    wait("y", "no_rules");
    std::fs::write(home.rules(), "deny:\n  - name: c\n    operations: [z]\n").unwrap();
    wait("z", "c");
}
