//! Every subcommand, every option that takes a value, with hostile values:
//! huge and negative numbers, spans past the calendar, impossible dates,
//! escape sequences, empty strings. The options are read from each
//! subcommand's own `--help`, so a new one is covered without editing this.
//! Whatever the value: no panic (exit 101), an exit code the man page lists
//! (0, 1, 2), a message on stderr for 2, and nothing raw reaches the terminal.

mod common;

use std::collections::BTreeSet;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::Home;

const VALUES: &[&str] = &[
    "",
    " ",
    "-1",
    "0",
    "4294967296",
    "99999999999999999999999",
    "99999999999999h",
    "300000000d",
    "9223372036854775807s",
    "-99999999999999w",
    "nan",
    "1e309",
    "2026-02-30",
    "0000-01-01",
    "9999-12-31T23:59:59Z",
    "\u{1b}[2J\u{1b}]52;c;aGk=\u{7}",
    "ä𝟏\u{202e}",
    "../../../etc/passwd",
    "%s%n",
    "[",
];

/// Options that write as much as they are told to: only values that cannot
/// mean "very many" are tried there.
const SIZE_OPTIONS: &[&str] = &["--rows"];

fn bin(home: &Home) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vmware-audit"));
    // In the scratch home: a value taken as a path (`rules keygen PREFIX`)
    // writes there, never into the source tree.
    c.current_dir(home.path())
        .env("OPS_HOME", home.path())
        .env("COLUMNS", "100")
        .env_remove("NO_COLOR");
    c
}

fn run(home: &Home, args: &[&str]) -> Output {
    let child = bin(home)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A watchdog, so that a hang fails the test instead of stalling it; the
    // output is read as it comes (a full pipe would block the child).
    let pid = child.id();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watchdog = {
        let done = done.clone();
        std::thread::spawn(move || {
            let started = Instant::now();
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                if started.elapsed() > Duration::from_secs(30) {
                    // SAFETY: signalling our own child by pid.
                    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                    return true;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            false
        })
    };
    let out = child.wait_with_output().unwrap();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(!watchdog.join().unwrap(), "{args:?} did not return in 30 s");
    out
}

/// Subcommands (with their nested ones) and, for each, the options that take
/// a value and whether it has a positional argument, from `--help`.
fn commands(home: &Home) -> Vec<(Vec<String>, Vec<String>, bool)> {
    let help = |path: &[String]| {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        String::from_utf8(run(home, &args).stdout).unwrap()
    };
    let subcommands = |text: &str| -> Vec<String> {
        text.split("Commands:")
            .nth(1)
            .map(|rest| {
                rest.split("\n\n")
                    .next()
                    .unwrap_or("")
                    .lines()
                    .filter_map(|l| l.split_whitespace().next().map(str::to_string))
                    .filter(|c| c != "help")
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    let mut todo: Vec<Vec<String>> = subcommands(&help(&[]))
        .into_iter()
        .map(|c| vec![c])
        .collect();
    while let Some(path) = todo.pop() {
        // Interactive, or running until stopped: covered by their own tests.
        if ["tui", "demo"].contains(&path[0].as_str()) {
            continue;
        }
        let text = help(&path);
        let nested = subcommands(&text);
        if !nested.is_empty() {
            todo.extend(nested.into_iter().map(|c| [path.clone(), vec![c]].concat()));
            continue;
        }
        let options: BTreeSet<String> = text
            .lines()
            .filter_map(|l| {
                let l = l.trim_start();
                let l = l
                    .strip_prefix("-f, ")
                    .or_else(|| l.strip_prefix("-o, "))
                    .unwrap_or(l);
                let (flag, rest) = l.split_once(' ')?;
                (flag.starts_with("--") && rest.trim_start().starts_with('<'))
                    .then(|| flag.to_string())
            })
            .collect();
        let usage = text.lines().find(|l| l.starts_with("Usage:")).unwrap_or("");
        let positional =
            usage.contains(" [PATH]") || usage.contains(" <SHELL>") || usage.contains(" [");
        out.push((path, options.into_iter().collect(), positional));
    }
    out
}

#[test]
fn every_option_of_every_subcommand_survives_hostile_values() {
    let home = Home::new();
    assert!(
        run(&home, &["generate", "--rows", "200", "--days", "2"])
            .status
            .success()
    );
    home.write_rules("deny:\n  - name: a\n    operations: [delete_*]\n");
    let commands = commands(&home);
    let names: Vec<String> = commands.iter().map(|(p, ..)| p.join(" ")).collect();
    for must in [
        "log",
        "export",
        "stats",
        "policy",
        "rules validate",
        "generate",
    ] {
        assert!(
            names.iter().any(|n| n == must),
            "{must} not found in {names:?}"
        );
    }
    let (mut runs, mut failures) = (0, Vec::new());
    for (path, options, positional) in &commands {
        let mut base: Vec<&str> = path.iter().map(String::as_str).collect();
        // Keep what a valid run writes small (its --rows is tried on its own).
        let small = base == ["generate"];
        let mut tries: Vec<Vec<&str>> = Vec::new();
        for opt in options {
            if opt == "--db" || opt == "--rules" {
                continue; // paths: tried below, against a scratch home
            }
            for v in VALUES {
                if SIZE_OPTIONS.contains(&opt.as_str())
                    && v.trim_start_matches('-')
                        .parse::<f64>()
                        .is_ok_and(|n| n > 1000.0)
                {
                    continue;
                }
                let extra: &[&str] = if small && opt != "--rows" {
                    &["--rows", "5"]
                } else {
                    &[]
                };
                tries.push([base.clone(), extra.to_vec(), vec![opt.as_str(), v]].concat());
            }
        }
        if small {
            base.extend(["--rows", "5"]);
        }
        if *positional {
            for v in VALUES {
                tries.push([base.clone(), vec![*v]].concat());
            }
        }
        for args in tries {
            let out = run(&home, &args);
            runs += 1;
            let stderr = String::from_utf8_lossy(&out.stderr);
            let code = out.status.code();
            let bad = if code == Some(101) || stderr.contains("panicked") {
                Some("panicked")
            } else if !matches!(code, Some(0..=2)) {
                Some("undocumented exit code")
            } else if code == Some(2) && stderr.trim().is_empty() {
                Some("exit 2 without a message")
            } else if out.stdout.contains(&0x1b) || stderr.contains('\u{1b}') {
                Some("a raw escape reached the terminal")
            } else {
                None
            };
            if let Some(why) = bad {
                failures.push(format!(
                    "{args:?}: {why}: exit {code:?}\n{}",
                    stderr.chars().take(400).collect::<String>()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {runs} runs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        runs > 300,
        "only {runs} runs: the --help parsing found too little"
    );
    eprintln!("{runs} runs over {} subcommands", commands.len());
}
