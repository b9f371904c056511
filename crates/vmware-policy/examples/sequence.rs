//! Run a sequence of tool calls through the guard in one process, as an agent
//! session would: the oracle tests run the same sequence through the Python
//! package's `@vmware_tool` and compare the rows.
//!
//! ```text
//! OPS_HOME=/tmp/h cargo run --example sequence -- calls.json
//! ```
//!
//! `calls.json`: a list of `{"tool", "params", "skill"? (nsx_security), "risk"?, "sensitive"?,
//! "repeat"?, "work_ms"?, "sleep_ms"?, "fails"?, "reports_failure"?, "declines"?,
//! "client"?, "cli"?, "surface"?}`. Each call runs `repeat` times (default 1), its body
//! taking `work_ms`; then the process sleeps `sleep_ms`. A call with `"fails":
//! true` fails; `"reports_failure"` reports a failure and returns; `"declines"`
//! is declined by the operator. `"client"` makes it a network caller's call,
//! `"cli"` a CLI command's.
//! The settings (`VMWARE_RUNAWAY_MAX`, ...) come from the environment.

use serde_json::{Value, json};
use vmware_policy::{Call, Guard, Tool, report_rejected, report_tool_failure};

fn main() {
    let path = std::env::args().nth(1).expect("usage: sequence CALLS.json");
    let text = std::fs::read_to_string(&path).expect("read the calls file");
    let calls: Vec<Value> = serde_json::from_str(&text).expect("a JSON list of calls");
    let guard = Guard::from_home();
    for c in &calls {
        let name = c["tool"].as_str().expect("tool");
        let sensitive: Vec<&str> = c["sensitive"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let tool = Tool::new(c["skill"].as_str().unwrap_or("nsx_security"), name)
            .risk(c["risk"].as_str().unwrap_or("low"))
            .sensitive_params(&sensitive);
        let flag = |k: &str| c[k].as_bool().unwrap_or(false);
        let (fails, reports, declines) = (flag("fails"), flag("reports_failure"), flag("declines"));
        let work = std::time::Duration::from_millis(c["work_ms"].as_u64().unwrap_or(0));
        for _ in 0..c["repeat"].as_u64().unwrap_or(1) {
            let mut call = Call::new(c["params"].clone());
            if let Some(client) = c["client"].as_str() {
                call = call.client(client);
            }
            if flag("cli") {
                call = call.surface("cli");
            }
            if let Some(surface) = c["surface"].as_str() {
                call = call.surface(surface);
            }
            let _ = guard.run(&tool, call, || {
                std::thread::sleep(work);
                if declines {
                    report_rejected();
                    return Ok(json!(null));
                }
                if reports {
                    report_tool_failure("the NSX API answered 503");
                }
                if fails {
                    Err("the NSX API answered 503".to_string())
                } else {
                    Ok(json!({"done": true}))
                }
            });
        }
        if let Some(ms) = c["sleep_ms"].as_u64() {
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
    }
}
