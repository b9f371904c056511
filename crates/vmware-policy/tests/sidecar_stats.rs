//! `stats` from the sidecar's counts equals a plain grouping of the rows,
//! whatever bytes the counted columns hold: text that is not UTF-8 (two
//! different invalid strings read as the same text), a blob, numbers where
//! text is expected. The build numbers values by their bytes and makes each
//! text once, so two byte strings can reach the counts under one name.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use vmware_policy::audit::{Bucket, Filter, History, Stats, python_ts, stats};
use vmware_policy::{AuditEngine, Record};

/// Odd values, as SQL expressions (constants of this test, no input).
const ODD: &[&str] = &[
    "CAST(X'ff41' AS TEXT)",
    "CAST(X'fe41' AS TEXT)",
    "X'ff41'",
    "42",
    "4.5",
    "'tool-ok'",
];

/// The calls-over-time series rolled up to hours (the plain grouping is
/// asked by minute, which never reads the counts).
fn by_hour(s: &Stats) -> BTreeMap<String, (u64, u64)> {
    let mut m = BTreeMap::new();
    for (label, n, d) in &s.series {
        let e = m.entry(label.chars().take(13).collect()).or_insert((0, 0));
        e.0 += n;
        e.1 += d;
    }
    m
}

#[test]
fn counts_of_values_that_are_not_utf8_text_agree_with_a_plain_grouping() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let engine = AuditEngine::new(db.clone());
    for i in 0..40 {
        engine.append(Record {
            skill: "aiops".into(),
            tool: format!("tool-{}", i % 3),
            status: if i % 4 == 0 { "denied" } else { "ok" }.into(),
            ..Default::default()
        });
    }
    drop(engine);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let now = python_ts(Utc::now());
    for (i, v) in ODD.iter().enumerate() {
        for _ in 0..=i {
            conn.execute(
                &format!(
                    "INSERT INTO audit_log (ts, skill, tool, status, agent, risk_level) \
                     VALUES (?1, {v}, {v}, {v}, {v}, {v})"
                ),
                [&now],
            )
            .unwrap();
        }
    }
    drop(conn);
    let history = History::open(&db, false).unwrap();
    let filter = Filter {
        since: Some(python_ts(Utc::now() - Duration::days(1))),
        ..Filter::default()
    };
    let built = stats::compute(&history, &filter, Bucket::Hour).unwrap();
    let read = stats::compute(&history, &filter, Bucket::Hour).unwrap();
    let plain = stats::compute(&history, &filter, Bucket::Minute).unwrap();
    let sidecars = std::fs::read_dir(dir.path().join(".vmware-audit-index"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "sqlite"))
        .count();
    assert_eq!(sidecars, 1, "the counts came from a sidecar");
    assert_eq!(built, read);
    assert_eq!(read.total, 40 + 21);
    let rest = |s: &Stats| Stats {
        series: Vec::new(),
        ..s.clone()
    };
    assert_eq!(rest(&read), rest(&plain));
    assert_eq!(by_hour(&read), by_hour(&plain));
    // The two invalid strings and the blob are one value as read: 1 + 2 + 3.
    let odd = read
        .by_tool
        .iter()
        .find(|(t, _)| t == "\u{fffd}A")
        .map(|(_, n)| *n);
    assert_eq!(odd, Some(6), "{:?}", read.by_tool);
}
