//! Credential-shaped keys decided by the Python package's own
//! `_is_credential_key` and by ours, over a corpus generated from its word
//! lists: every word and tail with prefixes (none, `_`, `-`, `x_`, `x-`, `a.`),
//! suffixes, every case, and the characters Python's `strip()` removes
//! (U+001C..U+001F and Unicode white space) or keeps (U+200B), plus random
//! keys built from the same pieces (proptest). A key Python redacts that we
//! stored in clear is a secret on disk.

mod common;

use common::{Home, run_python};
use proptest::prelude::*;
use vmware_policy::redact::is_credential_key;

fn python_verdicts(home: &Home, keys: &[String]) -> Vec<bool> {
    let file = home.path().join(format!("keys-{}.json", keys.len()));
    std::fs::write(&file, serde_json::to_string(keys).unwrap()).unwrap();
    serde_json::from_str(&run_python(
        home.path(),
        "credential_keys.py",
        &[file.to_str().unwrap()],
    ))
    .unwrap()
}

fn words(home: &Home) -> (Vec<String>, Vec<String>) {
    let v: serde_json::Value =
        serde_json::from_str(&run_python(home.path(), "credential_keys.py", &["--words"])).unwrap();
    let list = |k: &str| -> Vec<String> {
        v[k].as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    (list("keys"), list("tails"))
}

const PREFIXES: &[&str] = &["", "_", "-", "x_", "x-", "a.", "vc_", "my-", "__", "x"];
const SUFFIXES: &[&str] = &[
    "", "_", "s", "_count", "\u{1f}", "\u{1c}", " ", "\t", "\u{a0}", "\u{200b}", "\u{3000}",
    "\u{85}",
];

fn corpus(keys: &[String], tails: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for w in keys.iter().chain(tails) {
        for p in PREFIXES {
            for s in SUFFIXES {
                for cased in [w.clone(), w.to_uppercase(), w.replace('_', "-")] {
                    out.push(format!("{p}{cased}{s}"));
                    out.push(format!("{s}{p}{cased}"));
                }
            }
        }
    }
    out.extend(
        [
            "token_count",
            "secret_manager_url",
            "",
            "_",
            "-",
            "password_",
            "pass word",
        ]
        .map(String::from),
    );
    out.sort();
    out.dedup();
    out
}

#[test]
fn every_key_python_redacts_we_redact_and_no_other() {
    let home = Home::new();
    let (keys, tails) = words(&home);
    let corpus = corpus(&keys, &tails);
    assert!(corpus.len() > 5000, "{}", corpus.len());
    let theirs = python_verdicts(&home, &corpus);
    let differ: Vec<String> = corpus
        .iter()
        .zip(&theirs)
        .filter(|(k, p)| is_credential_key(k) != **p)
        .map(|(k, p)| format!("{k:?}: python {p}, ours {}", is_credential_key(k)))
        .collect();
    assert!(
        differ.is_empty(),
        "{} of {} keys differ:\n{}",
        differ.len(),
        corpus.len(),
        differ.join("\n")
    );
    for k in [
        "_password",
        "-token",
        "_secret",
        "-api-key",
        "password\u{1f}",
    ] {
        assert!(is_credential_key(k), "{k:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]
    /// Random keys from the same pieces, 200 at a time, against Python.
    #[test]
    fn random_keys_agree_with_python(picks in proptest::collection::vec((0usize..40, 0usize..10, 0usize..12, any::<bool>()), 200)) {
        static HOME: std::sync::OnceLock<(Home, Vec<String>)> = std::sync::OnceLock::new();
        let (home, pieces) = HOME.get_or_init(|| {
            let home = Home::new();
            let (k, t) = words(&home);
            (home, k.into_iter().chain(t).collect())
        });
        let keys: Vec<String> = picks
            .iter()
            .map(|&(w, p, s, upper)| {
                let w = &pieces[w % pieces.len()];
                let w = if upper { w.to_uppercase() } else { w.clone() };
                format!("{}{w}{}", PREFIXES[p], SUFFIXES[s])
            })
            .collect();
        let theirs = python_verdicts(home, &keys);
        for (k, p) in keys.iter().zip(theirs) {
            prop_assert_eq!(is_credential_key(k), p, "{:?}", k);
        }
    }
}
