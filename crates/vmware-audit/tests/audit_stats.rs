//! Stats read from the rollups equal stats grouped from the raw rows, exactly,
//! whatever the `since` boundary; and Python's inserts keep the rollups current.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::{Home, run_python};
use vmware_policy::audit::{Bucket, Filter, History, format::python_ts, generate, stats};

fn forced_scan(f: &Filter) -> Filter {
    // An exclusion no row meets: same rows, but not the rollup fast path.
    Filter {
        not_statuses: vec!["\u{0}none".into()],
        ..f.clone()
    }
}

#[test]
fn rollups_and_raw_rows_give_the_same_stats() {
    let home = Home::new();
    let end = DateTime::parse_from_rfc3339("2026-11-21T12:34:56Z")
        .unwrap()
        .with_timezone(&Utc);
    generate::generate(&home.db(), 20_000, 10, 3, end).unwrap();
    let h = History::open(&home.db(), false).unwrap();
    for since in [
        None,
        Some(end - Duration::hours(77) - Duration::minutes(13)),
        Some(end - Duration::days(3)),
    ] {
        let f = Filter {
            since: since.map(python_ts),
            ..Filter::default()
        };
        for bucket in [Bucket::Hour, Bucket::Day] {
            let fast = stats::compute(&h, &f, bucket).unwrap();
            let slow = stats::compute(&h, &forced_scan(&f), bucket).unwrap();
            assert_eq!(
                format!("{fast:?}"),
                format!("{slow:?}"),
                "since {since:?} bucket {bucket:?}"
            );
            assert!(fast.total > 0);
        }
    }
}

#[test]
fn rows_inserted_by_python_keep_the_rollups_current() {
    let home = Home::new();
    generate::generate(&home.db(), 500, 2, 1, Utc::now()).unwrap();
    let out = run_python(home.path(), "writer.py", &["py", "120"]);
    assert!(out.is_empty(), "{out}");
    let h = History::open(&home.db(), false).unwrap();
    let fast = stats::compute(&h, &Filter::default(), Bucket::Hour).unwrap();
    let slow = stats::compute(&h, &forced_scan(&Filter::default()), Bucket::Hour).unwrap();
    assert_eq!(fast.total, 620);
    assert_eq!(format!("{fast:?}"), format!("{slow:?}"));
    assert!(
        fast.by_skill
            .iter()
            .any(|(s, n)| s == "pyskill" && *n == 120)
    );
}
