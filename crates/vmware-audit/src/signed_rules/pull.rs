//! One `rules pull`: fetch, check everything, install through the editor's
//! atomic save, record. Any failure leaves the rules file as it was.

use std::path::Path;

use serde_json::json;
use signed_note::StandardVerifier;
use vmware_policy::audit::python_json;
use vmware_policy::policy::{save, validate};
use vmware_policy::{AuditEngine, Record};

use super::envelope::{Envelope, sha256_hex};
use super::fetch::{self, Fetched};
use super::state::{self, State};
use crate::seal::note;

/// What one pull did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pulled {
    Installed {
        revision: u64,
        sha256: String,
        signed_by: Vec<String>,
        /// The same revision put back over a local edit (drift undone).
        restored: bool,
    },
    /// The server said the file had not changed since the last pull (ETag).
    NotModified,
    /// The revision offered is the one installed.
    Current { revision: u64 },
    /// Refused: nothing was installed.
    Refused(String),
}

pub struct Source<'a> {
    pub url: &'a str,
    pub sig_url: &'a str,
    pub trusted: &'a [(String, StandardVerifier)],
}

/// Pull once into `rules`, recording the outcome in the audit log at `db`.
pub fn pull(src: &Source<'_>, rules: &Path, db: &Path, host: &str) -> Pulled {
    let installed = state::load(rules);
    let on_disk = std::fs::read(rules).ok().map(|b| sha256_hex(&b));
    // A file edited since the pull is fetched again whatever the server's
    // ETag says, so the signed revision can be put back.
    let etag = installed
        .as_ref()
        .filter(|s| s.url == src.url && on_disk.as_deref() == Some(s.sha256.as_str()))
        .and_then(|s| s.etag.clone());
    let mut offered = Offered::default();
    let outcome = attempt(
        src,
        rules,
        installed.as_ref(),
        on_disk.as_deref(),
        etag.as_deref(),
        &mut offered,
    );
    record(db, src.url, host, &outcome, &offered);
    outcome
}

fn attempt(
    src: &Source<'_>,
    rules: &Path,
    installed: Option<&State>,
    on_disk: Option<&str>,
    etag: Option<&str>,
    offered: &mut Offered,
) -> Pulled {
    let refused = Pulled::Refused;
    let (body, new_etag) = match fetch::get(src.url, etag) {
        Ok(Fetched::NotModified) => return Pulled::NotModified,
        Ok(Fetched::Body { bytes, etag }) => (bytes, etag),
        Err(e) => return refused(e),
    };
    let sig = match fetch::get(src.sig_url, None) {
        Ok(Fetched::Body { bytes, .. }) => bytes,
        Ok(Fetched::NotModified) => return refused(format!("{}: unexpected 304", src.sig_url)),
        Err(e) => return refused(e),
    };
    let (text, signed_by) = match note::open(&sig, src.trusted) {
        Ok(t) => t,
        Err(why) => return refused(format!("the signature {} is refused: {why}", src.sig_url)),
    };
    let sha = sha256_hex(&body);
    offered.sha256 = Some(sha.clone());
    let env = match Envelope::parse(&text) {
        Ok(e) => e,
        Err(why) => return refused(why),
    };
    offered.revision = Some(env.revision);
    if sha != env.sha256 {
        return refused(format!(
            "the file's sha256 {sha} is not the signed {}: it was altered after signing",
            env.sha256
        ));
    }
    if env.expires <= chrono::Utc::now() {
        return refused(format!(
            "revision {} expired at {}",
            env.revision,
            env.expires.to_rfc3339()
        ));
    }
    let mut restored = false;
    if let Some(s) = installed {
        let same = env.revision == s.revision && sha == s.sha256;
        if same && on_disk == Some(sha.as_str()) {
            return Pulled::Current {
                revision: env.revision,
            };
        }
        // The revision installed, edited on this host since: put it back.
        restored = same;
        if !same && env.revision <= s.revision {
            return refused(format!(
                "revision {} is not newer than revision {} installed",
                env.revision, s.revision
            ));
        }
    }
    let text = match String::from_utf8(body) {
        Ok(t) => t,
        Err(_) => return refused("the rules file is not UTF-8".into()),
    };
    let diags = validate::validate(&text);
    if validate::has_errors(&diags) {
        let first = diags
            .iter()
            .find(|d| d.severity == validate::Severity::Error)
            .map(|d| format!("{}:{}: {}", d.line, d.column, d.message))
            .unwrap_or_default();
        return refused(format!(
            "revision {} does not validate: {first}",
            env.revision
        ));
    }
    if let Err(e) = save::save(rules, &text, None) {
        return refused(format!("cannot install: {e}"));
    }
    let st = State {
        url: src.url.to_string(),
        revision: env.revision,
        sha256: sha.clone(),
        signed_by: signed_by.clone(),
        expires: env.expires.to_rfc3339(),
        etag: new_etag,
        installed_at: chrono::Utc::now().to_rfc3339(),
    };
    if let Err(e) = state::save(rules, &st) {
        eprintln!("vmware-audit: rules pull: installed, but {e}");
    }
    Pulled::Installed {
        revision: env.revision,
        sha256: sha,
        signed_by,
        restored,
    }
}

/// What the server offered, as far as it was read: for the record of a refusal.
#[derive(Debug, Default)]
struct Offered {
    sha256: Option<String>,
    revision: Option<u64>,
}

/// One audit row per pull that did something or was refused (a `304` or the
/// revision already in force is not worth a row every minute).
fn record(db: &Path, url: &str, host: &str, outcome: &Pulled, offered: &Offered) {
    let (status, result, revision, sha) = match outcome {
        Pulled::Installed {
            revision,
            sha256,
            signed_by,
            restored,
        } => (
            "ok",
            json!({"installed": true, "restored_local_edit": restored, "signed_by": signed_by}),
            Some(*revision),
            Some(sha256.clone()),
        ),
        Pulled::Refused(why) => (
            "error",
            json!({"error": why}),
            offered.revision,
            offered.sha256.clone(),
        ),
        Pulled::NotModified | Pulled::Current { .. } => return,
    };
    let engine = AuditEngine::new(db);
    let _ = engine.append(Record {
        skill: "vmware_audit".into(),
        tool: "rules_pull".into(),
        params: python_json(
            &json!({"url": url, "host": host, "revision": revision, "sha256": sha}),
        ),
        result: python_json(&result),
        status: status.into(),
        agent: vmware_policy::identity::detect_agent().into(),
        user: vmware_policy::identity::os_user(),
        risk_level: "high".into(),
        surface: "cli".into(),
        ..Record::default()
    });
}
