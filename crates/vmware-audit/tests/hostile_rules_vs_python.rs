//! A corpus of hostile rules files, written byte for byte, decided by the
//! Python package (1.24.3, with the PyYAML pip installs) and by us: ours must
//! never allow a call that Python denies or fails. Each family is a class the
//! outside review found (a BOM, tabs where PyYAML's scanner wants spaces,
//! control characters even in comments, bad anchors, `%YAML 2.0`, dates that
//! do not exist, non-string pattern items, out-of-range or non-ASCII window
//! times, merge-key lists) with its siblings at every place they can stand.

mod common;

use std::collections::BTreeMap;

use common::{Home, run_python};
use vmware_policy::policy::{CallContext, RuleSet, Source};

/// A rules file that denies deletes in production, rules high-risk calls to a
/// window that is closed now, and has a comment, a list, quoted and plain text.
fn base(window_open: bool) -> String {
    let now = chrono::Utc::now();
    let (start, end) = if window_open {
        ("00:00".to_string(), "23:59".to_string())
    } else {
        let s = now + chrono::Duration::hours(2);
        let e = now + chrono::Duration::hours(3);
        (s.format("%H:%M").to_string(), e.format("%H:%M").to_string())
    };
    format!(
        "# operator rules\ndeny:\n  - name: no-prod-deletes\n    operations: [\"delete_*\", power_off_vm]\n    environments:\n      - production\n    reason: no deletes in production\n  - name: no-firewall\n    operations:\n      - \"*_dfw_*\"\nmaintenance_window:\n  start: \"{start}\"\n  end: \"{end}\"\n"
    )
}

fn cases() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        ("delete_vm", "production", "low"),
        ("delete_vm", "", "low"),
        ("list_vms", "production", "low"),
        ("power_off_vm", "production", "medium"),
        ("create_dfw_rule", "staging", "low"),
        ("list_vms", "", "high"),
        ("get_vm", "staging", "critical"),
        ("delete_vm", "staging", "medium"),
    ]
}

/// Every line of `text` with `ins` put in at the place `at` picks.
fn at_each_line(text: &str, f: impl Fn(&str) -> Option<String>) -> Vec<String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    (0..lines.len())
        .filter_map(|i| {
            let changed = f(lines[i])?;
            let mut out: String = lines[..i].concat();
            out.push_str(&changed);
            out.push_str(&lines[i + 1..].concat());
            Some(out)
        })
        .collect()
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    let closed = base(false);
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |family: &str, text: Vec<u8>| {
        let n = files.len();
        files.push((format!("{n:03}-{family}.yaml"), text));
    };
    // A UTF-8 BOM: Python skips it and enforces every rule.
    add("bom", format!("\u{feff}{closed}").into_bytes());
    add(
        "bom-crlf",
        format!("\u{feff}{}", closed.replace('\n', "\r\n")).into_bytes(),
    );
    add(
        "bom-twice",
        format!("\u{feff}\u{feff}{closed}").into_bytes(),
    );
    // Tabs after `key:`, after `-`, as indentation, before a comment, trailing.
    for t in at_each_line(&closed, |l| {
        l.contains(": ").then(|| l.replacen(": ", ":\t", 1))
    }) {
        add("tab-after-colon", t.into_bytes());
    }
    for t in at_each_line(&closed, |l| {
        l.contains("- ").then(|| l.replacen("- ", "-\t", 1))
    }) {
        add("tab-after-dash", t.into_bytes());
    }
    for t in at_each_line(&closed, |l| {
        l.starts_with("  ").then(|| format!("\t{}", &l[2..]))
    }) {
        add("tab-indent", t.into_bytes());
    }
    for t in at_each_line(&closed, |l| {
        l.ends_with('\n')
            .then(|| format!("{}\t\n", l.trim_end_matches('\n')))
    }) {
        add("tab-trailing", t.into_bytes());
    }
    add(
        "tab-before-comment",
        closed
            .replace("- production\n", "- production\t# prod\n")
            .into_bytes(),
    );
    add(
        "tab-blank-line",
        closed.replace("deny:\n", "deny:\n\t\n").into_bytes(),
    );
    add(
        "tab-flow",
        closed
            .replace(
                "[\"delete_*\", power_off_vm]",
                "[\"delete_*\",\tpower_off_vm]",
            )
            .into_bytes(),
    );
    // Control, DEL, C1 and non-characters, in a comment and in a value.
    let mut specials: Vec<char> = (0x01u32..0x20)
        .filter(|c| ![0x09, 0x0a, 0x0d].contains(c))
        .chain(0x7f..0xa0)
        .filter(|&c| c != 0x85)
        .filter_map(char::from_u32)
        .collect();
    specials.extend(['\u{fffe}', '\u{ffff}']);
    for (i, c) in specials.iter().enumerate() {
        if i % 2 == 0 {
            add(
                "control-in-comment",
                closed
                    .replace("# operator rules", &format!("# operator{c}rules"))
                    .into_bytes(),
            );
        } else {
            add(
                "control-in-reason",
                closed
                    .replace(
                        "no deletes in production",
                        &format!("no deletes{c}in production"),
                    )
                    .into_bytes(),
            );
        }
    }
    add(
        "nul-in-comment",
        closed
            .replace("# operator rules", "# operator\0rules")
            .into_bytes(),
    );
    // Anchors: defined twice; names PyYAML does not allow.
    add(
        "duplicate-anchor",
        closed
            .replace(
                "  - name: no-prod-deletes\n",
                "  - name: &n no-prod-deletes\n",
            )
            .replace("  - name: no-firewall\n", "  - name: &n no-firewall\n")
            .into_bytes(),
    );
    for bad in ["a.b", "a/b", "é", "a:b", "a!b", "a|b", "a#b"] {
        add(
            "anchor-name",
            closed
                .replace("reason: no deletes", &format!("reason: &{bad} no deletes"))
                .into_bytes(),
        );
    }
    add(
        "alias-name",
        format!("x: &ok 1\ny: *ok.z\n{closed}").into_bytes(),
    );
    // Directives.
    for d in [
        "%YAML 2.0",
        "%YAML 3.1",
        "%YAML 1.1\n%YAML 1.1",
        "%YAML 0.9",
        "%YAML 1.1\t",
    ] {
        add("directive", format!("{d}\n---\n{closed}").into_bytes());
    }
    // Dates that do not exist, anywhere in the document.
    for d in [
        "2026-02-30",
        "2025-02-29",
        "2026-13-01",
        "2026-00-10",
        "0000-01-01",
        "2026-04-31",
        "2026-01-01 24:00:00",
        "2026-01-01T10:60:00",
        "2026-01-01T10:00:61",
        "2026-01-01 10:00:00 +24:00",
        "2026-01-01T10:00:00+99",
    ] {
        add(
            "bad-date",
            format!("{closed}change_limits:\n  since: {d}\n").into_bytes(),
        );
    }
    add(
        "bad-date-in-ops",
        closed
            .replace("power_off_vm]", "power_off_vm, 2026-02-30]")
            .into_bytes(),
    );
    // Items that are not strings, before a matching one.
    for item in [
        "5",
        "yes",
        "null",
        "2026-01-01",
        "1.5",
        "{a: 1}",
        "[x]",
        "~",
        "on",
        "0x1F",
    ] {
        add(
            "non-string-op",
            closed
                .replace(
                    "[\"delete_*\", power_off_vm]",
                    &format!("[{item}, \"delete_*\", power_off_vm]"),
                )
                .into_bytes(),
        );
        add(
            "non-string-env",
            closed
                .replace(
                    "      - production\n",
                    &format!("      - {item}\n      - production\n"),
                )
                .into_bytes(),
        );
    }
    // The maintenance window: out of range, Python's int() rules.
    let open = base(true);
    for (s, e) in [
        ("4611686018427387904:00", "00:30"),
        ("99999999999999999999:00", "00:30"),
        ("-1:00", "00:00"),
        ("\\x1c00:00", "23:59"),
        ("00:00\\x1f", "23:59"),
        ("\\x1e0:00", "23:59"),
        ("0:00", "23:59\\x1c"),
        ("\\u0661\\u0660:00", "23:59"),
        ("\\u200b1:00", "23:59"),
        ("1_0:00", "23:59"),
        ("1__0:00", "23:59"),
        ("+ 1:00", "23:59"),
        ("1:00:00", "23:59"),
        ("", "23:59"),
    ] {
        let text = open
            .replace("start: \"00:00\"", &format!("start: \"{s}\""))
            .replace("end: \"23:59\"", &format!("end: \"{e}\""));
        add("window", text.into_bytes());
    }
    add(
        "window-plain-sexagesimal",
        open.replace("start: \"00:00\"", "start: 22:00")
            .into_bytes(),
    );
    // Merge-key lists: which mapping wins.
    add("merge-list", format!("a: &a {{operations: [list_vms]}}\nb: &b {{operations: [\"delete_*\"]}}\n{}  - <<: [*a, *b]\n    name: merged\n", closed).into_bytes());
    add("merge-list-rev", format!("a: &a {{operations: [list_vms]}}\nb: &b {{operations: [\"delete_*\"]}}\n{}  - <<: [*b, *a]\n    name: merged\n", closed).into_bytes());
    // Other scanner refusals.
    add(
        "backtick",
        closed
            .replace("reason: no deletes", "reason: `no deletes")
            .into_bytes(),
    );
    add(
        "at-sign",
        closed
            .replace("reason: no deletes", "reason: @no deletes")
            .into_bytes(),
    );
    add(
        "bad-escape",
        closed.replace("\"*_dfw_*\"", "\"*_dfw_\\q*\"").into_bytes(),
    );
    add(
        "doc-marker-in-quotes",
        closed
            .replace("\"*_dfw_*\"", "\"*_dfw_\n---\n*\"")
            .into_bytes(),
    );
    add(
        "block-scalar-tab-header",
        closed
            .replace(
                "reason: no deletes in production",
                "reason: |\t\n      no deletes",
            )
            .into_bytes(),
    );
    add("not-utf8", [closed.as_bytes(), b"# \xff\xfe\n"].concat());
    files
}

/// Decide `cases()` for every file of `dir` with both engines. Returns the
/// divergences where ours allows what Python denies (or fails), the number
/// of files PyYAML refused, and the counts of identical and stricter decisions.
fn compare_dir(home: &Home, dir: &std::path::Path) -> (Vec<String>, usize, usize, usize, usize) {
    let cases = cases();
    let cases_json = home.path().join("cases.json");
    std::fs::write(&cases_json, serde_json::to_string(&cases).unwrap()).unwrap();
    let theirs: BTreeMap<String, serde_json::Value> = serde_json::from_str(&run_python(
        home.path(),
        "decide_files.py",
        &[dir.to_str().unwrap(), cases_json.to_str().unwrap()],
    ))
    .unwrap();
    let (mut python_unreadable, mut same, mut stricter) = (0, 0, 0);
    let mut failures = Vec::new();
    for (name, py) in &theirs {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let set = RuleSet::from_bytes(&bytes, &dir.join(name), Source::User);
        if py["source"] == "user-unreadable" {
            python_unreadable += 1;
            // Refused, not only decided alike: every call is denied.
            if !set.is_unreadable() {
                failures.push(format!("{name}: PyYAML refuses it, we load it"));
            }
        }
        for (i, (op, env, risk)) in cases.iter().enumerate() {
            let ctx = CallContext {
                env,
                risk_level: risk,
                ..CallContext::default()
            };
            let ours = set.check(op, &ctx);
            let p = &py["decisions"][i];
            let python_denies = p.get("raised").is_some() || p["allowed"] == false;
            if python_denies && ours.allowed {
                failures.push(format!(
                    "{name}: {op} env={env:?} risk={risk}: Python {p}, ours allowed ({})\n{}",
                    ours.rule,
                    String::from_utf8_lossy(&bytes).escape_debug()
                ));
            } else if python_denies != ours.allowed {
                same += 1;
            } else {
                stricter += 1;
            }
        }
    }
    (failures, python_unreadable, same, stricter, theirs.len())
}

/// The fuzzer's kept corpus of rules files (1,464 inputs, mostly malformed):
/// every one decided by both engines, ours never more permissive.
#[test]
fn the_fuzz_corpus_never_gets_from_us_what_python_denies() {
    let home = Home::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/rules");
    let (failures, refused, same, stricter, files) = compare_dir(&home, &dir);
    assert!(files > 1000, "{files}");
    assert!(
        failures.is_empty(),
        "{} divergences:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!(
        "{files} corpus files ({refused} refused by PyYAML): {same} identical decisions, {stricter} where ours denies and Python allows"
    );
}

#[test]
fn ours_never_allows_what_python_denies_on_a_hostile_corpus() {
    let home = Home::new();
    let dir = home.path().join("corpus");
    std::fs::create_dir(&dir).unwrap();
    let files = corpus();
    assert!(files.len() >= 150, "corpus has only {} files", files.len());
    for (name, bytes) in &files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let (failures, python_unreadable, same, stricter, _) = compare_dir(&home, &dir);
    assert!(
        failures.is_empty(),
        "{} divergences:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        python_unreadable > 100,
        "the corpus must be mostly files PyYAML refuses ({python_unreadable})"
    );
    eprintln!(
        "{} files ({python_unreadable} refused by PyYAML), {} decisions: {same} identical, {stricter} where ours denies and Python allows",
        files.len(),
        files.len() * cases().len()
    );
}
