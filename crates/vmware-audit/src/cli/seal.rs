//! `seal` and `verify`: the command-line face of `crate::seal`.

use std::collections::BTreeSet;
use std::io::Write;

use serde_json::json;

use super::args::{SealArgs, VerifyArgs};
use super::common::{Ctx, EXIT_ERROR};
use super::output;
use crate::seal::check::{Finding, Report};
use crate::seal::db::{DbFile, Snapshot, files};
use crate::seal::{key, run, store};
use vmware_policy::safe_text::{term_safe, to_json};

/// Said by every `verify`, in its output and the README.
pub const LIMITS: &str = "Not detectable: rows appended after the newest checkpoint and removed before \
the next seal; and anyone holding seal.key can rewrite rows and re-seal them. Copy the checkpoints \
and seal.pub off this host (and verify with --trust) to narrow both.";

pub fn seal(ctx: &Ctx, a: &SealArgs) -> i32 {
    if a.init_key {
        let name = a
            .key_name
            .clone()
            .unwrap_or_else(|| format!("vmware-audit-seal/{}", key::host_name()));
        return match key::init(&ctx.db, &name) {
            Ok(vkey) => {
                let (k, p) = key::paths(&ctx.db);
                println!(
                    "sealing key: {} (0600)",
                    term_safe(&k.display().to_string())
                );
                println!("verifier key: {}", term_safe(&p.display().to_string()));
                println!("{}", term_safe(&vkey));
                println!("Copy the verifier key off this host; `verify --trust` it there.");
                0
            }
            Err(e) => output::fail(&e),
        };
    }
    let signer = match key::signer(&ctx.db) {
        Ok(s) => s,
        Err(e) => return output::fail(&e),
    };
    let interval = match a.every.as_deref().map(super::rules_signed::parse_duration) {
        Some(Err(e)) => return output::fail(&e),
        Some(Ok(d)) => Some(d),
        None => None,
    };
    loop {
        let code = seal_once(ctx, a, &signer, interval.is_some());
        let Some(wait) = interval else {
            return code;
        };
        std::thread::sleep(wait);
    }
}

/// One pass over the files; `quiet` (the `--every` loop) says only what changed.
fn seal_once(ctx: &Ctx, a: &SealArgs, signer: &signed_note::StandardSigner, quiet: bool) -> i32 {
    let _lock = match store::lock(&ctx.db) {
        Ok(l) => l,
        Err(e) => return output::fail(&e),
    };
    let host = key::host_name();
    let mut code = 0;
    let mut out = std::io::stdout().lock();
    for file in files(&ctx.db, !a.live_only) {
        match run::seal_file(&ctx.db, &file, signer, &host) {
            Ok(None) => {}
            Ok(Some(s)) if quiet && !s.signed => {}
            Ok(Some(s)) if a.json => {
                let line = json!({
                    "path": s.path, "db_uuid": s.log, "new_rows": s.new_rows,
                    "sealed_rows": s.size, "last_id": s.last_id, "checkpoint_signed": s.signed,
                });
                let _ = writeln!(out, "{}", to_json(&line, false));
            }
            Ok(Some(s)) => {
                let what = if s.signed {
                    format!("checkpoint {} signed", s.size)
                } else {
                    "nothing new".to_string()
                };
                let _ = writeln!(
                    out,
                    "{}  db {}  +{} rows, {} sealed (up to id {}): {what}",
                    term_safe(&s.path),
                    s.log,
                    s.new_rows,
                    s.size,
                    s.last_id.map_or("-".into(), |i| i.to_string()),
                );
            }
            Err(e) => {
                eprintln!("vmware-audit: seal: {}", term_safe(&e));
                code = EXIT_ERROR;
            }
        }
    }
    code
}

pub fn verify(ctx: &Ctx, a: &VerifyArgs) -> i32 {
    let trusted = match key::verifiers(&ctx.db, &a.trust) {
        Ok(t) => t,
        Err(e) => return output::fail(&e),
    };
    let mut out = std::io::stdout().lock();
    let mut reports: Vec<Report> = Vec::new();
    let mut seen_logs = BTreeSet::new();
    let mut code = 0;
    // Every file is located (its uuid read); the archives' rows are checked
    // only with --archives.
    for file in files(&ctx.db, true) {
        if file.live || a.archives {
            match crate::seal::check::verify_file(&ctx.db, &file, &trusted, None) {
                Ok(Some(r)) => {
                    seen_logs.insert(r.log.clone());
                    reports.push(r);
                }
                Ok(None) => note_log(&file, &mut seen_logs),
                Err(e) => {
                    eprintln!("vmware-audit: verify: {}", term_safe(&e));
                    code = EXIT_ERROR;
                }
            }
        } else {
            note_log(&file, &mut seen_logs);
        }
    }
    let mut alarms: Vec<String> = Vec::new();
    for r in &reports {
        if let Some(f) = &r.finding {
            alarms.push(format!("{}: {f}", r.path));
        }
    }
    // A sealed file no file is named as any more. Still at its path: hold
    // it to what was sealed (its name is its first row when it has no uuid,
    // and that row may be what changed). Gone, and it was the live one: the
    // database was replaced, or its rows cut with its uuid.
    for log in store::logs(&ctx.db) {
        if seen_logs.contains(&log) {
            continue;
        }
        let Some(info) = store::LogStore::open(&ctx.db, &log)
            .ok()
            .and_then(|s| s.info())
        else {
            continue;
        };
        let file = DbFile {
            path: std::path::PathBuf::from(&info.path),
            live: info.live,
        };
        // Held only when the file there has no uuid of its own: one that
        // has one is another database (ours renamed it in a rotation).
        let unnamed = file.path.is_file()
            && (a.archives || info.live)
            && Snapshot::open(&file, false)
                .is_ok_and(|s| s.log.is_none_or(|l| l.starts_with("derived-")));
        let held = unnamed
            .then(|| crate::seal::check::verify_file(&ctx.db, &file, &trusted, Some(&log)))
            .and_then(|r| r.ok().flatten());
        match held {
            Some(r) => {
                if let Some(f) = &r.finding {
                    alarms.push(format!(
                        "{}: {f} (held to db {log}, sealed at this path, which no file is named as now)",
                        r.path
                    ));
                }
                reports.push(r);
            }
            None if info.live => alarms.push(format!(
                "{}: the database sealed there as db {log} (rows {}..{}) is in no file: it was replaced or \
                 its sealed rows removed (an archive deleted by retention before any seal saw it also ends here)",
                info.path, info.first_id, info.last_id
            )),
            None => {}
        }
    }
    for r in &reports {
        if a.json {
            let line = json!({
                "path": r.path, "db_uuid": r.log, "sealed_rows": r.sealed,
                "last_sealed_id": r.last_sealed_id, "unsealed_rows": r.unsealed,
                "signed_by": r.signed_by, "ok": r.finding.is_none(),
                "finding": r.finding.as_ref().map(|f| f.to_string()),
                "first_bad_id": r.finding.as_ref().and_then(row_of),
            });
            let _ = writeln!(out, "{}", to_json(&line, false));
        } else if r.finding.is_none() {
            let _ = writeln!(
                out,
                "ok  {}  db {}: {} sealed rows match checkpoint {} (signed by {}); {} newer rows not sealed yet",
                term_safe(&r.path),
                r.log,
                r.sealed,
                r.sealed,
                term_safe(&r.signed_by.join(", ")),
                r.unsealed
            );
        }
    }
    for alarm in &alarms {
        let _ = writeln!(out, "TAMPERED  {}", term_safe(alarm));
    }
    if !a.json {
        if reports.is_empty() && alarms.is_empty() {
            let _ = writeln!(out, "nothing sealed yet: run `vmware-audit seal`");
        }
        let _ = writeln!(out, "{LIMITS}");
    }
    record(ctx, &reports, &alarms);
    if !alarms.is_empty() {
        return 1;
    }
    code
}

fn note_log(file: &DbFile, seen: &mut BTreeSet<String>) {
    if let Ok(Snapshot { log: Some(log), .. }) = Snapshot::open(file, false) {
        seen.insert(log);
    }
}

fn row_of(f: &Finding) -> Option<i64> {
    match f {
        Finding::Changed { id } | Finding::Deleted { id } | Finding::Inserted { id } => Some(*id),
        _ => None,
    }
}

/// The last verification, for the TUI's header: when, and what it found.
fn record(ctx: &Ctx, reports: &[Report], alarms: &[String]) {
    let live = reports
        .iter()
        .find(|r| r.path == ctx.db.display().to_string());
    let state = json!({
        "at": chrono::Utc::now().to_rfc3339(),
        "ok": alarms.is_empty(),
        "sealed_up_to_id": live.and_then(|r| r.last_sealed_id),
        "alarm": alarms.first(),
    });
    let dir = store::root(&ctx.db);
    if dir.is_dir() {
        let _ = store::write_atomic(&dir.join("last-verify.json"), state.to_string().as_bytes());
    }
}
