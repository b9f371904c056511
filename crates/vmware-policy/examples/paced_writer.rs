//! A skill process writing audit rows at a steady rate, for the fleet's lag
//! figure: `paced_writer RATE SECONDS` appends RATE rows a second for SECONDS
//! to $OPS_HOME/audit.db, each stamped when it is appended.

use std::time::{Duration, Instant};

use vmware_policy::{AuditEngine, Record};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(rate), Some(secs)) = (
        args.get(1).and_then(|a| a.parse::<u64>().ok()),
        args.get(2).and_then(|a| a.parse::<u64>().ok()),
    ) else {
        eprintln!("usage: paced_writer RATE SECONDS");
        std::process::exit(2);
    };
    let engine = AuditEngine::new(vmware_policy::home::audit_db_path());
    let start = Instant::now();
    let total = rate * secs;
    for i in 0..total {
        // Row i is due at i/rate seconds: no drift, whatever a commit costs.
        let due = start + Duration::from_nanos(i * 1_000_000_000 / rate);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        engine.append(Record {
            skill: "bench".into(),
            tool: "paced".into(),
            params: format!("{{\"seq\": {i}}}"),
            ..Record::default()
        });
    }
    println!("{total} rows in {:.2?}", start.elapsed());
}
