//! The async guard and the begin/finish split, on a real audit file: what each
//! way a call can end leaves in the row, and that the row is durable when the
//! caller gets its answer.

mod common;

use std::time::Duration;

use common::Home;
use serde_json::json;
use vmware_policy::{Call, Completion, GuardError, OnCancel, OnPanic, RunOptions, Tool};

const PROD_DENY: &str = "deny:\n  - name: no-delete-in-prod\n    operations: [\"delete_*\"]\n    environments: [production]\n";

fn delete() -> Tool {
    Tool::new("nsx_security", "delete_dfw_policy")
        .risk("critical")
        .sensitive_params(&["password"])
}

fn list() -> Tool {
    Tool::new("nsx_security", "list_dfw_policies")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_awaited_call_returns_with_its_row_already_durable() {
    let home = Home::new(PROD_DENY);
    let guard = home.guard();
    let call = Call::new(json!({"policy_id": "web", "password": "s3cret"})).env("lab");
    let out = guard
        .run_async(&delete(), call, async {
            Ok::<_, String>(json!({"deleted": "web"}))
        })
        .await;
    assert_eq!(out.unwrap(), json!({"deleted": "web"}));
    // No flush, no drop: the row is there for another connection now.
    let rows = home.rows();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, "ok");
    assert!(
        rows[0].params.contains(r#""password": "***""#),
        "{}",
        rows[0].params
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denial_is_returned_and_recorded_and_the_tool_never_runs() {
    let home = Home::new(PROD_DENY);
    let guard = home.guard();
    let ran = std::sync::atomic::AtomicBool::new(false);
    let out = guard
        .run_async(&delete(), Call::new(json!({})).env("production"), async {
            ran.store(true, std::sync::atomic::Ordering::SeqCst);
            Ok::<_, String>(())
        })
        .await;
    match out {
        Err(GuardError::Denied(d)) => assert_eq!(d.rule, "no-delete-in-prod"),
        other => panic!("expected a denial, got {other:?}"),
    }
    assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
    let rows = home.rows();
    assert_eq!(rows[0].status, "denied");
    assert!(rows[0].result.contains("no-delete-in-prod"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_read_is_stopped_and_recorded_interrupted_with_how_long_it_ran() {
    let home = Home::new("deny: []\n");
    let guard = home.guard();
    let (cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
    let stopped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let finished = stopped.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let _ = cancel.send(());
    });
    let opts = RunOptions::new()
        .cancel_on(async {
            let _ = cancelled.await;
        })
        .on_cancel(OnCancel::Interrupt);
    let out = guard
        .run_async_with(
            &list(),
            Call::new(json!({"target": "nsx-lab"})),
            opts,
            async move {
                tokio::time::sleep(Duration::from_secs(30)).await;
                finished.store(false, std::sync::atomic::Ordering::SeqCst);
                Ok::<_, String>("all policies")
            },
        )
        .await;
    match out.result {
        Err(GuardError::Interrupted { ran_ms }) => assert!(ran_ms >= 150, "{ran_ms}"),
        other => panic!("expected an interruption, got {other:?}"),
    }
    assert_eq!(out.status, "interrupted");
    assert!(
        stopped.load(std::sync::atomic::Ordering::SeqCst),
        "the tool kept running"
    );
    let rows = home.rows();
    assert_eq!(rows[0].status, "interrupted");
    assert!(
        rows[0].duration_ms >= 150 && rows[0].duration_ms < 10_000,
        "{}",
        rows[0].duration_ms
    );
    assert!(
        rows[0].result.contains("call interrupted"),
        "{}",
        rows[0].result
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_write_that_must_finish_runs_to_its_end_and_records_how_it_ended() {
    let home = Home::new("deny: []\n");
    let guard = home.guard();
    let opts = RunOptions::new()
        .cancel_on(tokio::time::sleep(Duration::from_millis(20)))
        .on_cancel(OnCancel::Finish);
    let tool = Tool::new("nsx_security", "create_dfw_rule").risk("medium");
    let out = guard
        .run_async_with(&tool, Call::new(json!({"name": "r1"})), opts, async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            Ok::<_, String>(json!({"created": "r1"}))
        })
        .await;
    assert_eq!(out.result.unwrap(), json!({"created": "r1"}));
    let rows = home.rows();
    assert_eq!(rows[0].status, "ok");
    assert!(rows[0].duration_ms >= 200, "{}", rows[0].duration_ms);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_tool_can_become_a_sanitized_failure_with_an_error_row() {
    let home = Home::new("deny: []\n");
    let guard = home.guard();
    let opts = RunOptions::new().on_panic(OnPanic::Fail);
    let out = guard
        .run_async_with(&list(), Call::new(json!({})), opts, async {
            if std::hint::black_box(true) {
                panic!("vCenter said password=hunter2 and \u{1b}[2J");
            }
            Ok::<_, String>(())
        })
        .await;
    let msg = match out.result {
        Err(GuardError::Panicked(m)) => m,
        other => panic!("expected a panic failure, got {other:?}"),
    };
    assert!(!msg.contains("hunter2") && !msg.contains('\u{1b}'), "{msg}");
    let rows = home.rows();
    assert_eq!(rows[0].status, "error");
    assert!(
        rows[0].result.contains("panic: vCenter said"),
        "{}",
        rows[0].result
    );
    assert!(!rows[0].result.contains("hunter2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_resumed_in_a_task_still_leaves_its_error_row() {
    let home = Home::new("deny: []\n");
    let guard = home.guard();
    let task = tokio::spawn(async move {
        guard
            .run_async(&list(), Call::new(json!({})), async {
                if std::hint::black_box(true) {
                    panic!("boom");
                }
                Ok::<_, String>(())
            })
            .await
    });
    assert!(task.await.unwrap_err().is_panic());
    let rows = home.rows();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, "error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_dropped_mid_flight_is_recorded_interrupted() {
    let home = Home::new("deny: []\n");
    let guard = home.guard();
    let g = guard.clone();
    let task = tokio::spawn(async move {
        g.run_async(&list(), Call::new(json!({"target": "nsx-lab"})), async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok::<_, String>(())
        })
        .await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    guard.flush().await;
    let rows = home.rows();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, "interrupted");
    assert!(rows[0].result.contains("dropped before it finished"));
    assert!(rows[0].duration_ms >= 100, "{}", rows[0].duration_ms);
}

#[test]
fn begin_and_finish_let_a_framework_wrap_the_call_itself() {
    let home = Home::new(PROD_DENY);
    let guard = home.guard();
    let denied = guard.begin(&delete(), Call::new(json!({})).env("production"));
    assert_eq!(denied.unwrap_err().rule, "no-delete-in-prod");

    let pending = guard.begin(&list(), Call::new(json!({}))).unwrap();
    assert_eq!(pending.decision().rule, "default_allow");
    let done = pending.complete(Completion::Failed("HTTP 503 from nsx-lab".into()));
    assert_eq!(done.status, "error");
    assert!(matches!(
        done.receipt.unwrap().wait(),
        vmware_policy::Appended::Written(_)
    ));

    let pending = guard
        .begin(&list(), Call::new(json!({"dry_run": true})))
        .unwrap();
    assert_eq!(
        pending.finish(&Ok::<_, String>(json!([]))).status,
        "dry_run"
    );

    drop(guard.begin(&list(), Call::new(json!({}))).unwrap());
    drop(guard);
    let statuses: Vec<String> = home.rows().into_iter().map(|r| r.status).collect();
    assert_eq!(statuses, ["denied", "error", "dry_run", "interrupted"]);
}

#[test]
fn the_environment_resolver_names_the_environment_from_the_target() {
    let home = Home::new(PROD_DENY);
    let guard = home.guard().environment_resolver(|target| match target {
        "nsx-prod" => Some("production".into()),
        "nsx-lab" => Some(" lab ".into()),
        "boom" => panic!("config unreadable"),
        _ => None,
    });
    let run = |target: &str| {
        guard
            .run(&delete(), Call::new(json!({"target": target})), || {
                Ok::<_, String>(())
            })
            .map_err(|e| e.to_string())
    };
    assert!(run("nsx-prod").unwrap_err().contains("no-delete-in-prod"));
    assert!(run("nsx-lab").is_ok());
    // A resolver that panics reads as "no label", as Python's that raises.
    assert!(run("boom").is_ok());
    // A call that names its environment is not resolved again.
    let explicit = Call::new(json!({"target": "nsx-lab"})).env("production");
    assert!(
        guard
            .run(&delete(), explicit, || Ok::<_, String>(()))
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_calls_each_get_their_own_durable_row() {
    let home = Home::new("deny: []\n");
    let guard = home.guard();
    let mut tasks = Vec::new();
    for i in 0..64 {
        let g = guard.clone();
        tasks.push(tokio::spawn(async move {
            g.run_async_with(
                &list(),
                Call::new(json!({"i": i})),
                RunOptions::new(),
                async move { Ok::<_, String>(i) },
            )
            .await
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        match t.await.unwrap().audit {
            Some(vmware_policy::Appended::Written(id)) => ids.push(id),
            other => panic!("row not written: {other:?}"),
        }
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 64);
    assert_eq!(home.rows().len(), 64);
}
