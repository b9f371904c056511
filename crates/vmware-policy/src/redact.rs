//! Credentials never reach an audit row: declared sensitive parameters,
//! credential-shaped keys at any depth, and credentials inside free text.
//!
//! The free-text rules are the Python package's, in its order, so a row reads
//! the same whichever side wrote it. They need look-around and back-references,
//! hence fancy-regex; the anchors that keep them linear in Python do the same here,
//! and a pattern that still exceeds the backtracking budget redacts the whole
//! string rather than let it through.

use std::borrow::Cow;
use std::sync::LazyLock;

use fancy_regex::Regex;
use serde_json::Value;

/// What a tool that declared `sensitive_result` contributes instead of its value.
pub const REDACTED_DECLARED: &str = "[redacted: return value declared sensitive]";
/// What replaces a value under a credential-shaped key.
pub const REDACTED_KEY: &str = "[redacted: credential-shaped key]";
/// What replaces a declared sensitive parameter.
pub const REDACTED_PARAM: &str = "***";

const CREDENTIAL_KEYS: &[&str] = &[
    "access_token",
    "api_key",
    "apikey",
    "auth",
    "auth_token",
    "authorization",
    "bearer",
    "bearer_token",
    "client_secret",
    "credential",
    "credentials",
    "kubeconfig",
    "passwd",
    "password",
    "private_key",
    "pwd",
    "refresh_token",
    "secret",
    "session_key",
    "session_token",
    "sessionkey",
    "token",
];

const CREDENTIAL_TAILS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "token",
    "secret",
    "api_key",
    "apikey",
    "private_key",
    "credential",
    "credentials",
    "kubeconfig",
];

/// Whether a key names a credential, exactly as Python's `_is_credential_key`:
/// `str(key).strip().lower().replace("-", "_")` is one of the words, or ends
/// in `_` + a tail word, with no length floor (`_password` and `-token` are
/// credentials). Python's `strip()` removes U+001C..U+001F besides Unicode
/// white space, so `password\u{1f}` is one too. `token_count` is not.
pub fn is_credential_key(key: &str) -> bool {
    let name = key
        .trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
        .to_lowercase()
        .replace('-', "_");
    CREDENTIAL_KEYS.contains(&name.as_str())
        || CREDENTIAL_TAILS
            .iter()
            .any(|t| name.strip_suffix(t).is_some_and(|head| head.ends_with('_')))
}

/// Make panic messages go through the scrubber before they reach stderr.
///
/// Why: a tool that panics with its arguments in the message (`password=...`,
/// a `Bearer` header) would have them printed in clear by the default hook,
/// into the MCP host's log, although its audit row is redacted. Installed once
/// per process by [`crate::Guard::new`] and by the operator's binary. A panic
/// whose message needs no redaction goes to the hook that was there before
/// (a terminal restorer, a custom reporter) untouched; one that does is
/// reported here, redacted, in the default hook's form.
pub fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // Where it panicked, for the error row of a guarded call.
            crate::guard::note_panic(info);
            let payload = info.payload();
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned());
            let Some(msg) = msg else {
                return previous(info);
            };
            let clean = redact_text(&msg);
            if clean == msg {
                return previous(info);
            }
            let thread = std::thread::current();
            let name = thread.name().unwrap_or("<unnamed>");
            let at = info
                .location()
                .map(|l| format!(" at {}:{}:{}", l.file(), l.line(), l.column()))
                .unwrap_or_default();
            let bt = std::backtrace::Backtrace::capture();
            let trace = match bt.status() {
                std::backtrace::BacktraceStatus::Captured => format!("\n{bt}"),
                _ => String::new(),
            };
            eprintln!("\nthread '{name}' panicked{at}:\n{clean}{trace}");
        }));
    });
}

/// Replace declared sensitive parameters by `***`, at any depth.
pub fn redact_declared(value: &mut Value, sensitive: &[String]) {
    if sensitive.is_empty() {
        return;
    }
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if sensitive.iter().any(|s| s == k) {
                    *v = Value::String(REDACTED_PARAM.into());
                } else {
                    redact_declared(v, sensitive);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact_declared(v, sensitive)),
        _ => {}
    }
}

/// Replace every value under a credential-shaped key, at any depth. A value
/// that is already a redaction marker is kept, so applying this twice is a no-op.
pub fn redact_credential_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_credential_key(k) {
                    let already = matches!(v, Value::String(s) if s == REDACTED_PARAM || s == REDACTED_KEY || s == REDACTED_DECLARED);
                    if !already {
                        *v = Value::String(REDACTED_KEY.into());
                    }
                } else {
                    redact_credential_keys(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_credential_keys),
        _ => {}
    }
}

/// Run the free-text scrubber over every string in `value`.
pub fn scrub_text_values(value: &mut Value) {
    match value {
        Value::String(s) => {
            if let Cow::Owned(clean) = redact_text(s) {
                *s = clean;
            }
        }
        Value::Object(map) => map.values_mut().for_each(scrub_text_values),
        Value::Array(items) => items.iter_mut().for_each(scrub_text_values),
        _ => {}
    }
}

/// Everything an audit row's JSON gets: the key net, then the text scrubber.
pub fn redact_for_audit(value: &mut Value) {
    redact_credential_keys(value);
    scrub_text_values(value);
}

struct Rule {
    re: Regex,
    replacement: &'static str,
    /// A literal the rule cannot match without (a plain regex, searched for
    /// with the others in one pass, [`NEEDS`]): where it is absent the rule's
    /// backtracking pattern is not run at all.
    needs: String,
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(build_rules);

/// Every rule's `needs` in one set, rule by rule: one pass over a text says
/// which rules can apply (most texts: none). Fourteen separate searches per
/// string cost a guarded call more than its own policy check, the more so
/// with caches cold from the commit's fsync.
static NEEDS: LazyLock<regex::RegexSet> = LazyLock::new(|| {
    regex::RegexSet::new(RULES.iter().map(|r| &r.needs))
        .unwrap_or_else(|e| panic!("built-in redaction prefilters: {e}"))
});

fn build_rules() -> Vec<Rule> {
    let mut keys: Vec<&str> = CREDENTIAL_KEYS.to_vec();
    keys.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    let secret_words = keys
        .iter()
        .map(|k| k.replace('_', "[_-]?"))
        .collect::<Vec<_>>()
        .join("|");
    let token_start = r"(?<![\w.\-])";
    let key_prefix = format!(r"{token_start}[\w.\-]*(?:{secret_words})");
    let value = r#"[^\s'",;&\[\]\{\}\(\)<>]+"#;
    let status_words = r"(?!(?:not|no|none|null|unset|empty|missing|absent|set|configured|provided|required|ok|yes|true|false|n/?a|was|is|were|are|will|has|have|been|\*\*\*|<[^>]*>)\b)";
    let auth_schemes = "basic|bearer|digest|negotiate|ntlm|token|apikey";
    let not_a_scheme = format!(r"(?!(?:{auth_schemes})\s)");
    let words = format!("(?i)(?:{secret_words})");
    let specs: Vec<(String, &'static str, String)> = vec![
        (format!(r"(?i)({token_start}[\w.\-]*(?:auth|credential|credentials))(\s*=\s*)\([^()]*\)"), "${1}${2}(***)", "(?i)auth|credential".into()),
        (
            r"(?s)(-----BEGIN (?:[A-Z0-9 ]+ )?PRIVATE KEY-----).*?(-----END (?:[A-Z0-9 ]+ )?PRIVATE KEY-----)".into(),
            "${1}***${2}",
            "PRIVATE KEY-----".into(),
        ),
        (r"(?i)\b([a-z][a-z0-9+.\-]{0,63}://[^\s/:]*?):([^\s/]*)@(?=[^\s/@]*(?:[/\s?#]|$))".into(), "${1}:***@", "://".into()),
        (r"(?i)\b((?:set-)?cookie)(\s*[:=]\s*)[^\r\n]+".into(), "${1}${2}***", "(?i)cookie".into()),
        (
            format!(r#"(?i)\b((?:proxy-)?authorization)(\s*['"]?\s*[:=]\s*['"]?\s*)({auth_schemes})(\s+)[^\s'",;]+"#),
            "${1}${2}${3}${4}***",
            "(?i)authorization".into(),
        ),
        (r"(?i)\b(basic|bearer)(\s+)([A-Za-z0-9+/=_.\-]{16,})(?![\w+/=.\-])".into(), "${1}${2}***", "(?i)basic|bearer".into()),
        (format!(r"(?i)<({key_prefix})>[^<]*</\1>"), "<${1}>***</${1}>", words.clone()),
        (format!(r#"(?i)({key_prefix})(['"]?\s*[:=]\s*)(['"]){not_a_scheme}[^'"\r\n]*\3"#), "${1}${2}${3}***${3}", words.clone()),
        (
            format!(r#"(?i)((?<![\w\-])\w*-{{1,2}}[\w\-]*(?:{secret_words}))(\s+){status_words}[^\s'",;]+"#),
            "${1}${2}***",
            words.clone(),
        ),
        (r#"(?i)(\B-u|--user)(\s+)([^\s'",;:]+):[^\s'",;]+"#.into(), "${1}${2}${3}:***", "(?i)-u".into()),
        (r#"(?i)\b(sshpass\s+-p)(\s*)[^\s'",;]+"#.into(), "${1}${2}***", "(?i)sshpass".into()),
        (r#"(?i)\b(login\s+\S+\s+password)(\s+)[^\s'",;]+"#.into(), "${1}${2}***", "(?i)login".into()),
        (format!(r"(?i)({key_prefix})(\s*[:=]\s*){not_a_scheme}{status_words}{value}"), "${1}${2}***", words),
        (r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*".into(), "***", "eyJ".into()),
    ];
    specs
        .into_iter()
        .map(|(pattern, replacement, needs)| Rule {
            needs,
            // No give-up: every pattern is anchored so that it is linear in
            // the text (as in Python, see `token_start`), so the budget only
            // guards against a mistake, scaled far past any real input.
            re: fancy_regex::RegexBuilder::new(&pattern)
                .backtrack_limit(BACKTRACK_LIMIT)
                .build()
                .unwrap_or_else(|e| panic!("built-in redaction pattern {pattern:?}: {e}")),
            replacement,
        })
        .collect()
}

/// Far above what any input needs (a linear pattern costs a few steps per
/// character); reached only by a pattern that is not linear, a bug.
const BACKTRACK_LIMIT: usize = 1 << 40;

/// Text scrubbed when a pattern gives up (backtracking budget): all of it.
const UNSCRUBBABLE: &str = "[redacted: text too complex to scrub for credentials]";

/// Redact credential values in free text (error messages, command lines).
/// Idempotent. Borrowed when nothing changed.
pub fn redact_text(text: &str) -> Cow<'_, str> {
    // Read on the text as given: a replacement puts `***` where a value was
    // and keeps the rest, so it never makes a rule's literal appear (at most
    // one disappears, and that rule's own pattern then matches nothing).
    let may_apply = NEEDS.matches(text);
    if !may_apply.matched_any() {
        return Cow::Borrowed(text);
    }
    let mut current: Cow<'_, str> = Cow::Borrowed(text);
    for (i, rule) in RULES.iter().enumerate() {
        if !may_apply.matched(i) {
            continue;
        }
        match rule.re.try_replacen(&current, 0, rule.replacement) {
            Ok(Cow::Borrowed(_)) => {}
            Ok(Cow::Owned(s)) => current = Cow::Owned(s),
            Err(_) => return Cow::Owned(UNSCRUBBABLE.into()),
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_secret_in_a_huge_text_is_redacted_alone_in_linear_time() {
        let pad = "lorem ipsum dolor sit amet ".repeat(8_000); // 216k characters
        let text = format!("{pad} --password=hunter2 {pad}");
        let started = std::time::Instant::now();
        let out = redact_text(&text);
        let took = started.elapsed();
        assert!(!out.contains("hunter2"), "the secret survived");
        assert_eq!(
            out.len(),
            text.len() - "hunter2".len() + 3,
            "only the secret is replaced"
        );
        assert!(out.contains("--password=***"));
        eprintln!("216k characters scrubbed in {took:?}");
    }

    #[test]
    fn credential_keys() {
        for k in [
            "password",
            "Pass-word",
            "vc_password",
            "API-KEY",
            "client_secret",
            "X_TOKEN",
            "kubeconfig",
        ] {
            assert_eq!(is_credential_key(k), k != "Pass-word", "{k}");
        }
        for k in [
            "token_count",
            "secret_manager_url",
            "passwords",
            "name",
            "_token",
            "mytoken",
        ] {
            assert!(!is_credential_key(k) || k == "_token", "{k}");
        }
    }

    #[test]
    fn nested_values_are_redacted_and_twice_is_once() {
        let mut v = json!({"targets": [{"password": "x", "host": "h"}], "cfg": {"api_key": "k"}, "token_count": 5});
        redact_declared(&mut v, &["host".to_string()]);
        redact_for_audit(&mut v);
        let once = v.clone();
        redact_for_audit(&mut v);
        assert_eq!(v, once);
        assert_eq!(v["targets"][0]["password"], REDACTED_KEY);
        assert_eq!(v["targets"][0]["host"], REDACTED_PARAM);
        assert_eq!(v["cfg"]["api_key"], REDACTED_KEY);
        assert_eq!(v["token_count"], 5);
    }

    #[test]
    fn free_text_credentials() {
        let cases = [
            (
                "mysql --password=hunter2 -h db",
                "mysql --password=*** -h db",
            ),
            ("token: abc123", "token: ***"),
            (
                "connect https://administrator@vsphere.local:S3cr@t!@vc.example/sdk",
                "connect https://administrator@vsphere.local:***@vc.example/sdk",
            ),
            (
                "Authorization: Basic dXNlcjpwYXNzd29yZA==",
                "Authorization: Basic ***",
            ),
            ("password: not set", "password: not set"),
            ("token_count=5120", "token_count=5120"),
            ("auth=('admin', 'PASS')", "auth=(***)"),
            ("<password>x</password>", "<password>***</password>"),
            ("{'pwd': 'x y'}", "{'pwd': '***'}"),
            ("curl -u bob:pw http://h", "curl -u bob:*** http://h"),
        ];
        for (input, want) in cases {
            assert_eq!(redact_text(input), want, "{input}");
            assert_eq!(redact_text(want), want, "idempotent on {want}");
        }
        assert!(matches!(redact_text("nothing to see"), Cow::Borrowed(_)));
    }
}
