//! The sidecar narrows a scan to a small part of the file, and the rows read
//! through it are exactly those of a plain scan: for substring searches,
//! column filters (one value, and two values common one by one but rare
//! together), workflow ids and `since`, on a generated file of 100,000
//! rows, then after rows are added, and after the file is cut under its name.

use chrono::{Duration, Utc};
use vmware_policy::audit::{Filter, Order, Reader, generate, sidecar};

/// How many ids the narrowed filters read (the last, open-ended one up to
/// `newest`).
fn ids_read(parts: &[Filter], newest: i64) -> i64 {
    parts
        .iter()
        .map(|p| {
            let lo = p.after_id.unwrap_or(0);
            let hi = p.before_id.unwrap_or(newest + 1).min(newest + 1);
            (hi - lo - 1).max(0)
        })
        .sum()
}

fn rows_through(reader: &Reader, filter: &Filter) -> Vec<i64> {
    let mut ids = Vec::new();
    reader
        .for_each_indexed(filter, Order::OldestFirst, None, |r| {
            ids.push(r.id);
            true
        })
        .unwrap();
    ids
}

fn rows_plain(reader: &Reader, filter: &Filter) -> Vec<i64> {
    reader
        .query(filter, Order::OldestFirst, None)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect()
}

fn pick(db: &std::path::Path, sql: &str) -> String {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

#[test]
fn the_sidecar_reads_a_small_part_of_the_file_and_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    generate::generate(&db, 100_000, 10, 5, Utc::now()).unwrap();
    // An object id from one row's result, a workflow id, a rare tool.
    let result = pick(&db, "SELECT result FROM audit_log WHERE id = 54321");
    let obj = result
        .split('"')
        .find(|s| s.starts_with("obj-"))
        .expect("an object id")
        .to_string();
    let wf = pick(
        &db,
        "SELECT workflow_id FROM audit_log WHERE workflow_id != '' AND id > 70000 LIMIT 1",
    );
    let rare_tool = pick(
        &db,
        "SELECT tool FROM audit_log GROUP BY tool ORDER BY COUNT(*), tool LIMIT 1",
    );
    let since = vmware_policy::audit::python_ts(Utc::now() - Duration::hours(20));
    let selective: Vec<(&str, Filter)> = vec![
        (
            "an object id",
            Filter {
                contains: Some(obj.to_uppercase()),
                ..Filter::default()
            },
        ),
        (
            "text no row has",
            Filter {
                contains: Some("no-such-text-anywhere".into()),
                ..Filter::default()
            },
        ),
        (
            "a workflow",
            Filter {
                workflow_ids: vec![wf.clone()],
                ..Filter::default()
            },
        ),
        (
            "the last 20 hours",
            Filter {
                since: Some(since.clone()),
                ..Filter::default()
            },
        ),
        (
            "the rarest tool's denied calls (two values common one by one)",
            Filter {
                tools: vec![rare_tool.clone()],
                statuses: vec!["denied".into()],
                ..Filter::default()
            },
        ),
        (
            "a tool called three times, ok",
            Filter {
                tools: vec!["vm_power_cycle_rare".into()],
                statuses: vec!["ok".into()],
                ..Filter::default()
            },
        ),
    ];
    let engine = vmware_policy::AuditEngine::new(db.clone());
    for _ in 0..3 {
        engine.append(vmware_policy::Record {
            tool: "vm_power_cycle_rare".into(),
            status: "ok".into(),
            ..vmware_policy::Record::default()
        });
    }
    drop(engine);
    let reader = Reader::open(&db).unwrap();
    let newest = reader.max_id().unwrap();
    for (what, f) in &selective {
        let parts = sidecar::narrow(&reader, f);
        let read = ids_read(&parts, newest);
        assert!(read < newest / 10, "{what}: reads {read} of {newest} ids");
        assert_eq!(rows_through(&reader, f), rows_plain(&reader, f), "{what}");
    }
    assert!(!rows_plain(&reader, &selective[0].1).is_empty());
    assert!(!rows_plain(&reader, &selective[2].1).is_empty());
    assert_eq!(rows_plain(&reader, &selective[5].1).len(), 3);
    // Filters the sidecar cannot narrow much, or at all, read the same rows.
    let broad = [
        Filter {
            skills: vec!["avi".into()],
            statuses: vec!["error".into()],
            ..Filter::default()
        },
        Filter {
            contains: Some("xx".into()),
            ..Filter::default()
        },
        Filter {
            not_statuses: vec!["ok".into()],
            skills: vec!["nsx".into()],
            ..Filter::default()
        },
        Filter {
            contains: Some("HTTP 503".into()),
            since: Some(since),
            not_tools: vec![rare_tool],
            ..Filter::default()
        },
    ];
    for f in &broad {
        assert_eq!(rows_through(&reader, f), rows_plain(&reader, f), "{f:?}");
    }
    drop(reader);

    // New rows, one of them with the object id: found (the sidecar's part
    // for them is brought up to date, or they are read as not yet seen).
    let engine = vmware_policy::AuditEngine::new(db.clone());
    for i in 0..50 {
        engine.append(vmware_policy::Record {
            tool: "added_later".into(),
            params: format!(
                "{{\"note\": \"{}\"}}",
                if i == 7 { obj.clone() } else { format!("n{i}") }
            ),
            workflow_id: wf.clone(),
            ..vmware_policy::Record::default()
        });
    }
    drop(engine);
    let reader = Reader::open(&db).unwrap();
    for (what, f) in &selective {
        assert_eq!(
            rows_through(&reader, f),
            rows_plain(&reader, f),
            "{what} after new rows"
        );
    }
    let found = rows_through(&reader, &selective[0].1);
    assert!(found.contains(&(newest + 8)), "{found:?}");

    // The file cut under its name, then written past its old newest id
    // with other rows: the sidecar is started again, never trusted.
    drop(reader);
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute_batch("DELETE FROM audit_log WHERE id > 200; DELETE FROM sqlite_sequence;")
        .unwrap();
    drop(c);
    generate::generate(&db, 110_000, 3, 9, Utc::now()).unwrap();
    let reader = Reader::open(&db).unwrap();
    assert!(reader.max_id().unwrap() > newest + 50);
    for (what, f) in &selective {
        assert_eq!(
            rows_through(&reader, f),
            rows_plain(&reader, f),
            "{what} after the file was cut and written past its old size"
        );
    }
}
