//! `rules keygen`, `rules sign` and `rules pull`: the command-line face of
//! `crate::signed_rules`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use signed_note::StandardSigner;
use vmware_policy::safe_text::term_safe;

use super::common::Ctx;
use super::output;
use crate::seal::{key, note};
use crate::signed_rules::envelope::Envelope;
use crate::signed_rules::pull::{Pulled, Source};

pub fn keygen(prefix: &Path, name: Option<&str>) -> i32 {
    let name = name
        .map(str::to_string)
        .unwrap_or_else(|| format!("vmware-audit-rules/{}", key::host_name()));
    if !key::valid_name(&name) {
        return output::fail(&format!(
            "{name:?} is not a valid key name (no spaces, no '+', no control characters)"
        ));
    }
    let (skey, vkey) = signed_note::generate_key(&mut rand_core::OsRng, &name);
    let with = |ext: &str| {
        let mut p = prefix.as_os_str().to_os_string();
        p.push(ext);
        PathBuf::from(p)
    };
    if let Err(e) = key::write_new(&with(".key"), skey.as_bytes(), 0o600) {
        return output::fail(&e);
    }
    if let Err(e) = key::write_new(&with(".pub"), format!("{vkey}\n").as_bytes(), 0o644) {
        return output::fail(&e);
    }
    println!(
        "signing key: {} (0600; keep it off the hosts)",
        term_safe(&with(".key").display().to_string())
    );
    println!("verifier key, for each host's rules-trusted.pub:");
    println!("{}", term_safe(&vkey));
    0
}

pub fn sign(file: &Path, key_path: &Path, revision: u64, expires: &str, out: Option<&Path>) -> i32 {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => return output::fail(&format!("cannot read {}: {e}", file.display())),
    };
    let diags = vmware_policy::policy::validate::validate_bytes(&bytes);
    if vmware_policy::policy::validate::has_errors(&diags) {
        return output::fail(&format!(
            "{} does not validate (`vmware-audit rules validate {}`); refusing to sign it",
            file.display(),
            file.display()
        ));
    }
    let expires = match parse_when(expires) {
        Ok(t) => t,
        Err(e) => return output::fail(&e),
    };
    let signer = match std::fs::read_to_string(key_path)
        .map_err(|e| format!("cannot read {}: {e}", key_path.display()))
        .and_then(|t| {
            StandardSigner::new(t.trim())
                .map_err(|e| format!("{}: not a signing key ({e})", key_path.display()))
        }) {
        Ok(s) => s,
        Err(e) => return output::fail(&e),
    };
    let env = Envelope::for_file(&bytes, revision, expires);
    let signed = match note::sign(env.to_text().as_bytes(), &signer) {
        Ok(s) => s,
        Err(e) => return output::fail(&e),
    };
    let out = out.map(Path::to_path_buf).unwrap_or_else(|| {
        let mut p = file.as_os_str().to_os_string();
        p.push(".sig");
        PathBuf::from(p)
    });
    if let Err(e) = std::fs::write(&out, &signed) {
        return output::fail(&format!("cannot write {}: {e}", out.display()));
    }
    println!(
        "{}: revision {revision}, sha256 {}, expires {}",
        term_safe(&out.display().to_string()),
        env.sha256,
        env.expires.to_rfc3339()
    );
    0
}

/// `30d`, `12h`, `90m`, `60s` from now, or an RFC 3339 time.
fn parse_when(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let d = parse_duration(s)?;
    Ok(Utc::now() + chrono::Duration::from_std(d).map_err(|e| e.to_string())?)
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("{s:?} is not a duration like 60s, 5m, 12h or 30d");
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(bad()),
    };
    if secs == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(secs))
}

pub fn pull(
    ctx: &Ctx,
    url: &str,
    sig_url: Option<&str>,
    trust: &[String],
    every: Option<&str>,
) -> i32 {
    let configured = ctx.rules.with_file_name("rules-trusted.pub");
    let mut keys: Vec<String> = trust.to_vec();
    if configured.exists() {
        keys.push(configured.display().to_string());
    }
    let trusted = match key::parse_verifiers(&keys) {
        Ok(t) if !t.is_empty() => t,
        Ok(_) => {
            return output::fail(&format!(
                "no key to verify rules with: put the signer's verifier key in {} or pass --trust",
                configured.display()
            ));
        }
        Err(e) => return output::fail(&e),
    };
    let interval = match every.map(parse_duration).transpose() {
        Ok(i) => i,
        Err(e) => return output::fail(&e),
    };
    let sig_url = sig_url
        .map(str::to_string)
        .unwrap_or_else(|| format!("{url}.sig"));
    let src = Source {
        url,
        sig_url: &sig_url,
        trusted: &trusted,
    };
    let host = key::host_name();
    loop {
        let outcome = crate::signed_rules::pull::pull(&src, &ctx.rules, &ctx.db, &host);
        let code = match &outcome {
            Pulled::Installed {
                revision,
                sha256,
                signed_by,
                restored,
            } => {
                let what = if *restored {
                    "restored (it had been edited on this host)"
                } else {
                    "installed"
                };
                println!(
                    "{what} revision {revision} on {host}: {} sha256 {sha256}, signed by {}",
                    term_safe(&ctx.rules.display().to_string()),
                    term_safe(&signed_by.join(", "))
                );
                0
            }
            Pulled::NotModified => {
                println!("not modified since the last pull");
                0
            }
            Pulled::Current { revision } => {
                println!("revision {revision} is already in force");
                0
            }
            Pulled::Refused(why) => {
                eprintln!(
                    "vmware-audit: rules pull: refused, the rules in force stay: {}",
                    term_safe(why)
                );
                1
            }
        };
        let Some(wait) = interval else {
            return code;
        };
        std::thread::sleep(wait);
    }
}
