//! What a rotation by copy costs at the real threshold (100 MiB): the time the
//! rotating call takes, and how long another process's writes wait meanwhile
//! (the only part under SQLite's write lock is the cut of the archived rows).
//!
//! `cargo run --release --example rotation_cost [-- ROWS]` (default 190,000
//! generated rows, about 100 MiB). Another process appends a row every 2 ms
//! through its own engine for the whole run; its slowest appends are printed.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vmware_policy::audit::{generate, rotate};
use vmware_policy::{Appended, AuditEngine, AuditOptions, Record};

fn main() {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--writer") {
        return writer(args.next().expect("db path").into());
    }
    let rows: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(190_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("audit.db");
    generate::generate(&db, rows, 7, 1, chrono::Utc::now()).expect("generate");
    let before = std::fs::metadata(&db).unwrap().len();
    println!(
        "live file: {rows} rows, {:.1} MiB",
        before as f64 / 1048576.0
    );
    let other = Command::new(std::env::current_exe().unwrap())
        .arg("--writer")
        .arg(&db)
        .stdout(Stdio::piped())
        .spawn()
        .expect("writer process");
    std::thread::sleep(Duration::from_millis(500));
    let t = Instant::now();
    let archive = rotate::maybe_rotate(&db, 100 * 1024 * 1024, 5).expect("rotation");
    let took = t.elapsed();
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(other.id() as i32, libc::SIGTERM) };
    let out = other.wait_with_output().unwrap();
    let after = std::fs::metadata(&db).unwrap().len();
    println!(
        "rotation: {} ms (archive {:?}); live file after: {:.2} MiB",
        took.as_millis(),
        archive.map(|a| a.file_name().unwrap().to_owned()),
        after as f64 / 1048576.0
    );
    print!("{}", String::from_utf8_lossy(&out.stdout));
}

/// Append a row every 2 ms until SIGTERM; then print the slowest appends.
fn writer(db: std::path::PathBuf) {
    // SAFETY: installing a handler that only stores to a static.
    unsafe { libc::signal(libc::SIGTERM, on_term as *const () as libc::sighandler_t) };
    // It never rotates itself: the rotation measured is the main process's.
    let engine = AuditEngine::with_options(
        db,
        AuditOptions {
            rotate_bytes: u64::MAX,
            ..AuditOptions::default()
        },
    );
    let mut lat = Vec::new();
    let mut lost = 0;
    while !TERM.load(std::sync::atomic::Ordering::SeqCst) {
        let t = Instant::now();
        let r = engine.append(Record {
            skill: "bench".into(),
            tool: "during_rotation".into(),
            ..Record::default()
        });
        lat.push(t.elapsed());
        lost += matches!(r, Appended::Lost) as u32;
        std::thread::sleep(Duration::from_millis(2));
    }
    lat.sort();
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    println!(
        "another process's appends during the run: {} rows, {lost} lost, median {:.1} ms, max {:.1} ms",
        lat.len(),
        ms(&lat[lat.len() / 2]),
        ms(lat.last().unwrap())
    );
}

static TERM: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_term(_: libc::c_int) {
    TERM.store(true, std::sync::atomic::Ordering::SeqCst);
}
