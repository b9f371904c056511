//! Folders of valid and invalid rules files, each invalid one with the
//! diagnostics it must produce (`<name>.expected`: `line:col: severity: text`).

use std::path::{Path, PathBuf};

use vmware_policy::policy::{Severity, validate_bytes};
use vmware_policy::{CallContext, PolicyEngine};

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/rules")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    files
}

#[test]
fn valid_files_have_no_diagnostics_and_load_as_the_users_rules() {
    for f in fixtures("valid") {
        let diags = validate_bytes(&std::fs::read(&f).unwrap());
        // Nothing but, for an operator's typical file, the report of what the
        // 2.0 tool renames added to a rule (Python reports it at load too).
        assert!(
            diags
                .iter()
                .all(|d| d.severity == Severity::Warning && d.message.contains("2.0 tool renames")),
            "{}: {diags:?}",
            f.display()
        );
        let e = PolicyEngine::without_watching(&f);
        assert_eq!(e.rules().source.as_str(), "user", "{}", f.display());
        assert!(!e.rules().is_unreadable());
    }
}

#[test]
fn invalid_files_produce_exactly_the_expected_errors_at_their_positions() {
    for f in fixtures("invalid") {
        let diags = validate_bytes(&std::fs::read(&f).unwrap());
        let shown: Vec<String> = diags
            .iter()
            .map(|d| format!("{}:{}: {}: {}", d.line, d.column, d.severity, d.message))
            .collect();
        let expected = std::fs::read_to_string(f.with_extension("expected")).unwrap();
        let mut matched_errors = 0;
        for want in expected.lines().filter(|l| !l.trim().is_empty()) {
            let mut parts = want.splitn(4, ':');
            let (line, col) = (
                parts.next().unwrap().parse::<usize>().unwrap(),
                parts.next().unwrap().parse::<usize>().unwrap(),
            );
            let severity = parts.next().unwrap().trim();
            let text = parts.next().unwrap().trim();
            let hit = diags.iter().find(|d| {
                d.line == line
                    && d.column == col
                    && d.severity.to_string() == severity
                    && d.message.contains(text)
            });
            assert!(
                hit.is_some(),
                "{}: expected `{want}`, got:\n{}",
                f.display(),
                shown.join("\n")
            );
            if severity == "error" {
                matched_errors += 1;
            }
        }
        let errors = diags
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        assert_eq!(
            errors,
            matched_errors,
            "{}: unexpected errors:\n{}",
            f.display(),
            shown.join("\n")
        );
        // Whatever the file, the engine answers (never panics) and a file with
        // errors never allows more than it should: checks still return.
        let e = PolicyEngine::without_watching(&f);
        let _ = e.check(
            "delete_vm",
            &CallContext {
                env: "production",
                risk_level: "critical",
                ..CallContext::default()
            },
        );
    }
}
