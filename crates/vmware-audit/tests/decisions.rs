//! The decision table of compat.md, edge case by edge case, on real rules files.

mod common;

use chrono::{DateTime, NaiveTime, Utc};
use common::Home;
use vmware_policy::policy::{Source, StepOutcome};
use vmware_policy::{CallContext, Decision, PolicyEngine};

fn at(hhmm: &str) -> DateTime<Utc> {
    let t = NaiveTime::parse_from_str(hhmm, "%H:%M").unwrap();
    Utc::now().date_naive().and_time(t).and_utc()
}

struct Case<'a> {
    op: &'a str,
    env: &'a str,
    risk: &'a str,
    time: &'a str,
    client: Option<&'a str>,
    role: Option<&'a str>,
    aliases: &'a [&'a str],
}

fn case(op: &str) -> Case<'_> {
    Case {
        op,
        env: "",
        risk: "low",
        time: "12:00",
        client: None,
        role: None,
        aliases: &[],
    }
}

impl<'a> Case<'a> {
    fn env(mut self, env: &'a str) -> Self {
        self.env = env;
        self
    }
    fn risk(mut self, risk: &'a str) -> Self {
        self.risk = risk;
        self
    }
    fn time(mut self, time: &'a str) -> Self {
        self.time = time;
        self
    }
    fn client(mut self, c: &'a str) -> Self {
        self.client = Some(c);
        self
    }
    fn role(mut self, r: &'a str) -> Self {
        self.role = Some(r);
        self
    }
    fn aliases(mut self, a: &'a [&'a str]) -> Self {
        self.aliases = a;
        self
    }
    fn against(&self, engine: &PolicyEngine) -> Decision {
        engine.check(
            self.op,
            &CallContext {
                env: self.env,
                risk_level: self.risk,
                aliases: self.aliases,
                client: self.client,
                role: self.role,
                at: Some(at(self.time)),
            },
        )
    }
}

fn engine(rules: &str) -> (Home, PolicyEngine) {
    let home = Home::new();
    home.write_rules(rules);
    let engine = PolicyEngine::without_watching(home.rules());
    (home, engine)
}

/// Assert `(allowed, rule)` for each case against one rules file.
fn expect(rules: &str, cases: &[(Case, bool, &str)]) {
    let (_home, e) = engine(rules);
    for (c, allowed, rule) in cases {
        let d = c.against(&e);
        assert_eq!(
            (d.allowed, d.rule.as_str()),
            (*allowed, *rule),
            "op={} env={:?} risk={} time={} client={:?} role={:?}\nrules:\n{rules}\nreason: {}",
            c.op,
            c.env,
            c.risk,
            c.time,
            c.client,
            c.role,
            d.reason
        );
    }
}

#[test]
fn no_user_file_means_the_packaged_baseline_which_denies_nothing() {
    let home = Home::new();
    let e = PolicyEngine::without_watching(home.rules());
    assert_eq!(e.rules().source, Source::PackagedDefault);
    let d = case("delete_vm").risk("critical").time("12:00").against(&e);
    assert!(d.allowed);
    assert_eq!(d.rule, "no_rules");
}

#[test]
fn files_that_load_to_nothing_allow_everything_and_empty_deny_is_default_allow() {
    for text in ["", "# only a comment\n", "{}\n", "~\n", "false\n", "[]\n"] {
        expect(
            text,
            &[(case("delete_vm").risk("critical"), true, "no_rules")],
        );
    }
    expect(
        "deny: []\n",
        &[(case("delete_vm").risk("critical"), true, "default_allow")],
    );
    expect(
        "unknown_key: 1\n",
        &[(case("delete_vm"), true, "default_allow")],
    );
}

#[test]
fn a_user_file_that_does_not_load_denies_everything_and_never_falls_back() {
    let (home, e) = engine("deny:\n  - name: x\n    operations: [delete_*\n");
    assert_eq!(e.rules().source, Source::UserUnreadable);
    let d = case("list_vms").against(&e);
    assert!(!d.allowed);
    assert_eq!(d.rule, "rules_unreadable");
    assert!(
        d.reason.contains(&home.rules().display().to_string()),
        "{}",
        d.reason
    );
    assert!(d.reason.contains("line 4"), "names the line: {}", d.reason);
    assert!(
        d.reason.contains("VMWARE_POLICY_DISABLED=1"),
        "says the way out: {}",
        d.reason
    );

    std::fs::write(home.rules(), b"deny:\n  - name: caf\xe9\n").unwrap();
    let e = PolicyEngine::without_watching(home.rules());
    let d = case("list_vms").against(&e);
    assert_eq!(d.rule, "rules_unreadable");
    assert!(
        d.reason.contains("UTF-8") && d.reason.contains("line 2"),
        "{}",
        d.reason
    );
}

#[test]
fn a_directory_or_a_symlink_loop_at_the_rules_path_fails_closed() {
    let home = Home::new();
    std::fs::create_dir(home.rules()).unwrap();
    let d = case("list_vms").against(&PolicyEngine::without_watching(home.rules()));
    assert_eq!((d.allowed, d.rule.as_str()), (false, "rules_unreadable"));

    let home = Home::new();
    std::os::unix::fs::symlink(home.rules(), home.rules()).unwrap();
    let d = case("list_vms").against(&PolicyEngine::without_watching(home.rules()));
    assert_eq!(
        (d.allowed, d.rule.as_str()),
        (false, "rules_unreadable"),
        "{}",
        d.reason
    );
}

#[test]
fn deny_rules_in_order_first_match_wins_with_name_and_reason() {
    let rules = r#"
deny:
  - name: first
    operations: ["delete_*"]
    reason: "first says no"
  - name: second
    operations: ["delete_vm", "create_*"]
  - operations: ["reboot_*"]
"#;
    let (_h, e) = engine(rules);
    let d = case("delete_vm").against(&e);
    assert_eq!(
        (d.rule.as_str(), d.reason.as_str()),
        ("first", "first says no")
    );
    let d = case("create_vm").against(&e);
    assert_eq!(
        (d.rule.as_str(), d.reason.as_str()),
        ("second", "Denied by rule: second")
    );
    let d = case("reboot_host").against(&e);
    assert_eq!(
        (d.rule.as_str(), d.reason.as_str()),
        ("deny", "Denied by rule: unnamed")
    );
    assert!(case("list_vms").against(&e).allowed);
}

#[test]
fn operations_absent_empty_and_glob_patterns() {
    expect(
        "deny:\n  - name: all\n    environments: [prod]\n",
        &[
            (case("anything").env("prod"), false, "all"),
            (case("anything").env("lab"), true, "default_allow"),
        ],
    );
    expect(
        "deny:\n  - name: none\n    operations: []\n",
        &[(case("delete_vm"), true, "default_allow")],
    );
    expect(
        "deny:\n  - name: none\n    operations:\n",
        &[(case("delete_vm"), true, "default_allow")],
    );
    expect(
        "deny:\n  - name: g\n    operations: ['*_delete', 'vm_?_snap', 'host_[ab]*', '[!x]ool']\n",
        &[
            (case("segment_delete"), false, "g"),
            (case("vm_1_snap"), false, "g"),
            (case("vm_12_snap"), true, "default_allow"),
            (case("host_a1"), false, "g"),
            (case("host_c1"), true, "default_allow"),
            (case("pool"), false, "g"),
            (case("xool"), true, "default_allow"),
            (case("Segment_DELETE"), true, "default_allow"),
        ],
    );
    // Braces are literal, as in Python's fnmatch.
    expect(
        "deny:\n  - name: b\n    operations: ['{a,b}_vm']\n",
        &[(case("a_vm"), true, "default_allow")],
    );
}

#[test]
fn a_rule_naming_an_old_name_matches_the_renamed_tool() {
    expect(
        "deny:\n  - name: old\n    operations: [vm_info]\n",
        &[
            (case("get_vm_info").aliases(&["vm_info"]), false, "old"),
            (case("get_vm_info"), true, "default_allow"),
        ],
    );
}

#[test]
fn environments_scope_a_rule_and_an_unlabelled_target_is_never_matched() {
    expect(
        "deny:\n  - name: prod\n    operations: ['delete_*']\n    environments: ['prod*']\n",
        &[
            (case("delete_vm").env("production"), false, "prod"),
            (case("delete_vm").env("prod-eu"), false, "prod"),
            (case("delete_vm").env("lab"), true, "default_allow"),
            (case("delete_vm"), true, "default_allow"),
        ],
    );
    // `environments: []` is no condition.
    expect(
        "deny:\n  - name: e\n    environments: []\n",
        &[(case("x"), false, "e")],
    );
}

#[test]
fn clients_and_roles_match_only_network_callers() {
    let rules = r#"
deny:
  - name: ci-clients
    clients: ["ci-*"]
  - name: one-role
    roles: reader
"#;
    expect(
        rules,
        &[
            (case("delete_vm"), true, "default_allow"),
            (case("delete_vm").client("ci-bot"), false, "ci-clients"),
            (case("delete_vm").client("alice"), true, "default_allow"),
            (case("delete_vm").role("reader"), false, "one-role"),
            // A string is one name, not a list of letters.
            (case("delete_vm").role("r"), true, "default_allow"),
        ],
    );
    // A value of another type keeps the rule matching, local calls included.
    expect(
        "deny:\n  - name: odd\n    clients: 5\n",
        &[(case("x"), false, "odd")],
    );
    expect(
        "deny:\n  - name: odd\n    roles: {a: b}\n",
        &[(case("x"), false, "odd")],
    );
    // `clients: ""` is the one name "" : no local call matches.
    expect(
        "deny:\n  - name: empty\n    clients: ''\n",
        &[(case("x"), true, "default_allow")],
    );
}

#[test]
fn min_risk_level_with_unknown_levels_widening_the_rule_and_unknown_tool_levels_as_critical() {
    let cases = |rule_level: &str| {
        format!("deny:\n  - name: r\n    operations: ['*']\n    min_risk_level: {rule_level}\n")
    };
    expect(
        &cases("high"),
        &[
            (case("x").risk("low"), true, "default_allow"),
            (case("x").risk("medium"), true, "default_allow"),
            (case("x").risk("high"), false, "r"),
            (case("x").risk("critical"), false, "r"),
            (case("x").risk("extreme"), false, "r"),
            (case("x").risk("HIGH"), false, "r"),
        ],
    );
    expect(
        &cases("' MEDIUM '"),
        &[
            (case("x").risk("low"), true, "default_allow"),
            (case("x").risk("medium"), false, "r"),
        ],
    );
    expect(&cases("mediun"), &[(case("x").risk("low"), false, "r")]);
    expect(&cases("3"), &[(case("x").risk("low"), false, "r")]);
    expect(&cases("''"), &[(case("x").risk("low"), false, "r")]);
}

#[test]
fn maintenance_window_utc_inclusive_and_wrapping() {
    let rules = "maintenance_window:\n  start: \"22:00\"\n  end: \"06:00\"\n";
    expect(
        rules,
        &[
            (
                case("x").risk("critical").time("22:00"),
                true,
                "default_allow",
            ),
            (
                case("x").risk("critical").time("06:00"),
                true,
                "default_allow",
            ),
            (
                case("x").risk("critical").time("03:00"),
                true,
                "default_allow",
            ),
            (
                case("x").risk("critical").time("06:01"),
                false,
                "maintenance_window",
            ),
            (
                case("x").risk("high").time("21:59"),
                false,
                "maintenance_window",
            ),
            (
                case("x").risk("medium").time("12:00"),
                true,
                "default_allow",
            ),
            (case("x").risk("low").time("12:00"), true, "default_allow"),
        ],
    );
    let (_h, e) = engine(rules);
    let d = case("x").risk("high").time("12:00").against(&e);
    assert_eq!(
        d.reason,
        "High-risk operations only allowed during 22:00-06:00"
    );
    expect(
        "maintenance_window: {start: '09:00', end: '17:00'}\n",
        &[
            (case("x").risk("high").time("09:00"), true, "default_allow"),
            (
                case("x").risk("high").time("17:01"),
                false,
                "maintenance_window",
            ),
        ],
    );
    // A missing end defaults to 06:00, as in Python; the reason shows '?'.
    let (_h, e) = engine("maintenance_window: {start: '22:00'}\n");
    let d = case("x").risk("high").time("12:00").against(&e);
    assert_eq!(d.reason, "High-risk operations only allowed during 22:00-?");
}

#[test]
fn an_unquoted_time_is_a_yaml_1_1_integer_so_the_window_is_malformed_as_in_python() {
    let rules = "maintenance_window:\n  start: 22:00\n  end: 06:00\n";
    expect(
        rules,
        &[
            (
                case("x").risk("critical").time("23:00"),
                false,
                "maintenance_window_malformed",
            ),
            (case("x").risk("low").time("23:00"), true, "default_allow"),
        ],
    );
    for bad in [
        "'2200'",
        "'22-00'",
        "[22, 0]",
        "'22:00:00'",
        "null",
        "'x:y'",
    ] {
        expect(
            &format!("maintenance_window: {{start: {bad}, end: '06:00'}}\n"),
            &[(
                case("x").risk("high").time("23:00"),
                false,
                "maintenance_window_malformed",
            )],
        );
    }
    expect(
        "maintenance_window: '22:00-06:00'\n",
        &[(
            case("x").risk("high"),
            false,
            "maintenance_window_malformed",
        )],
    );
    // Falsy windows are no window.
    expect(
        "maintenance_window: {}\n",
        &[(case("x").risk("high"), true, "default_allow")],
    );
}

#[test]
fn change_limits_are_parsed_and_not_enforced() {
    let (_h, e) = engine("change_limits:\n  max_cpu_change_pct: 1\n");
    let ctx = CallContext {
        risk_level: "high",
        at: Some(at("12:00")),
        ..CallContext::default()
    };
    let x = e.explain("resize_vm", &ctx);
    assert!(x.decision.allowed);
    assert!(
        x.steps
            .iter()
            .any(|s| s.subject == "change_limits" && s.detail.contains("not enforced"))
    );
}

#[test]
fn malformed_values_deny_at_least_what_python_denies() {
    // Python iterates a string letter by letter: '*' among them matches everything.
    expect(
        "deny:\n  - name: s\n    operations: 'delete_*'\n",
        &[(case("list_vms"), false, "s")],
    );
    // ...and a plain name matches nothing there; ours also takes it whole: deny more, never less.
    expect(
        "deny:\n  - name: s\n    operations: delete_vm\n",
        &[
            (case("delete_vm"), false, "s"),
            (case("list"), true, "default_allow"),
        ],
    );
    // A non-iterable value makes Python raise on every call that reaches it.
    expect(
        "deny:\n  - name: n\n    operations: 5\n",
        &[(case("x"), false, "n")],
    );
    expect(
        "deny:\n  - name: n\n    operations: [5]\n",
        &[(case("x"), false, "n")],
    );
    expect(
        "deny:\n  - name: n\n    operations: [x, 5]\n",
        &[(case("x"), false, "n")],
    );
    expect("deny:\n  - just a string\n", &[(case("x"), false, "deny")]);
    expect("deny:\n", &[(case("x"), false, "rules_invalid")]);
    expect("deny: {name: x}\n", &[(case("x"), false, "rules_invalid")]);
    expect("- deny\n", &[(case("x"), false, "rules_unreadable")]);
    // An environment condition on an unlabelled call is never reached by Python: no match.
    expect(
        "deny:\n  - name: e\n    environments: 5\n",
        &[
            (case("x"), true, "default_allow"),
            (case("x").env("prod"), false, "e"),
        ],
    );
}

#[test]
fn explain_says_why_each_rule_did_or_did_not_match() {
    let rules = r#"
deny:
  - name: prod-only
    operations: ["delete_*"]
    environments: ["production"]
  - name: critical
    min_risk_level: critical
  - name: later
"#;
    let (_h, e) = engine(rules);
    let ctx = CallContext {
        env: "lab",
        risk_level: "critical",
        at: Some(at("12:00")),
        ..CallContext::default()
    };
    let x = e.explain("delete_vm", &ctx);
    assert_eq!(x.decision, e.check("delete_vm", &ctx));
    assert_eq!(x.decision.rule, "critical");
    let outcome = |name: &str| {
        x.steps
            .iter()
            .find(|s| s.subject == name)
            .map(|s| (s.outcome, s.detail.clone()))
    };
    let (o, detail) = outcome("prod-only").unwrap();
    assert_eq!(o, StepOutcome::NotMatched);
    assert!(
        detail.contains("'lab'") && detail.contains("production"),
        "{detail}"
    );
    assert_eq!(outcome("critical").unwrap().0, StepOutcome::Matched);
    assert_eq!(outcome("later").unwrap().0, StepOutcome::NotReached);
}

#[test]
fn a_huge_rules_file_is_refused_with_a_clear_reason_and_fails_closed() {
    let home = Home::new();
    let mut text = String::from("deny:\n");
    while text.len() < 6 * 1024 * 1024 {
        text.push_str("  - name: padding\n    operations: [never_called_tool]\n");
    }
    home.write_rules(&text);
    let e = PolicyEngine::without_watching(home.rules());
    let d = case("list_vms").against(&e);
    assert_eq!((d.allowed, d.rule.as_str()), (false, "rules_unreadable"));
    assert!(d.reason.contains("larger than"), "{}", d.reason);
    let diags = vmware_policy::policy::validate(&text);
    assert!(
        diags.iter().any(|x| x.message.contains("limited to")),
        "{diags:?}"
    );
}
