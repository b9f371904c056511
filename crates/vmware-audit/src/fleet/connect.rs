//! Connecting to the fleet's PostgreSQL: a connection string that never holds
//! the password (it would show in process listings and shell history), the
//! password from `PGPASSWORD` or `~/.pgpass` as libpq reads them, and TLS by
//! rustls, trusting the webpki roots or the operator's CA (`sslrootcert`).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use postgres::config::{Host, SslMode};

/// A parsed target: how to connect, and how to name it in messages.
#[derive(Clone)]
pub struct Target {
    config: postgres::Config,
    root_cert: Option<PathBuf>,
    /// The connection string as given (it holds no password).
    pub shown: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

/// Whether a `--source` / `--to` names PostgreSQL.
pub fn is_postgres(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

impl Target {
    /// Parse a `postgres://user@host:port/db?sslmode=...&sslrootcert=...`
    /// string. A password in it is refused.
    pub fn parse(url: &str) -> Result<Target, String> {
        if !is_postgres(url) {
            return Err(format!(
                "{url:?} is not a PostgreSQL URL (postgres://user@host:5432/db)"
            ));
        }
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut root_cert = None;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("sslrootcert", v)) => root_cert = Some(PathBuf::from(v)),
                _ => kept.push(pair),
            }
        }
        let rest = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        let mut config = postgres::Config::from_str(&rest)
            .map_err(|e| format!("cannot read the connection string: {e}"))?;
        if config.get_password().is_some() {
            return Err(
                "the connection string holds a password, which process listings and shell \
                 history would show: leave it out, and put it in PGPASSWORD or ~/.pgpass (0600)"
                    .into(),
            );
        }
        if config.get_user().is_none() {
            config.user(
                &std::env::var("PGUSER").unwrap_or_else(|_| vmware_policy::identity::os_user()),
            );
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        // Dead peers are noticed by the kernel, not after hours.
        config.keepalives_idle(Duration::from_secs(30));
        config.application_name("vmware-audit");
        Ok(Target {
            config,
            root_cert,
            shown: url.to_string(),
        })
    }

    /// Connect, with the password from PGPASSWORD or the password file.
    pub fn connect(&self) -> Result<postgres::Client, String> {
        let mut config = self.config.clone();
        if let Some(pw) = password_for(&config) {
            config.password(pw);
        }
        let result = if config.get_ssl_mode() == SslMode::Disable {
            config.connect(postgres::NoTls)
        } else {
            config.connect(self.tls()?)
        };
        result.map_err(|e| format!("{}: {}", self.shown, explain(&e)))
    }

    fn tls(&self) -> Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = &self.root_cert {
            use rustls_pki_types::pem::PemObject;
            let certs = rustls_pki_types::CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            for cert in certs {
                let cert = cert.map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            }
        }
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
    }
}

/// The error with its cause (postgres' Display alone says "db error").
pub fn explain(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} ({})", db.message(), db.code().code());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

/// PGPASSWORD, else the first matching line of PGPASSFILE or ~/.pgpass,
/// which (as libpq) is ignored when others can read it.
fn password_for(config: &postgres::Config) -> Option<String> {
    if let Ok(pw) = std::env::var("PGPASSWORD") {
        return Some(pw);
    }
    let file = std::env::var_os("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".pgpass")))?;
    let text = read_private(&file)?;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        _ => "localhost".to_string(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config.get_user().unwrap_or("");
    let db = config.get_dbname().unwrap_or(user);
    lookup(&text, [&host, &port, db, user])
}

fn read_private(file: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(file).ok()?;
    if meta.permissions().mode() & 0o077 != 0 {
        eprintln!(
            "vmware-audit: warning: {} is readable by others and is ignored (chmod 0600 it)",
            file.display()
        );
        return None;
    }
    std::fs::read_to_string(file).ok()
}

/// The password of the first `host:port:db:user:password` line matching
/// (`*` matches anything; `\:` and `\\` escape).
fn lookup(text: &str, want: [&str; 4]) -> Option<String> {
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_escaped(line);
        if fields.len() < 5 {
            continue;
        }
        if fields[..4]
            .iter()
            .zip(want)
            .all(|(f, w)| f == "*" || f == w)
        {
            return Some(fields[4..].join(":"));
        }
    }
    None
}

fn split_escaped(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    out.last_mut().expect("one field").push(n);
                }
            }
            ':' => out.push(String::new()),
            c => out.last_mut().expect("one field").push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_url_is_refused_and_ssl_options_are_kept() {
        let e = Target::parse("postgres://ship:hunter2@db:5432/fleet").unwrap_err();
        assert!(e.contains("PGPASSWORD") && !e.contains("hunter2"), "{e}");
        let t =
            Target::parse("postgres://ship@db:5433/fleet?sslmode=require&sslrootcert=/x/ca.pem")
                .unwrap();
        assert_eq!(t.root_cert.as_deref(), Some(Path::new("/x/ca.pem")));
        assert_eq!(t.config.get_ssl_mode(), SslMode::Require);
        assert_eq!(t.config.get_user(), Some("ship"));
        assert!(Target::parse("mysql://x").is_err());
    }

    #[test]
    fn pgpass_lines_match_as_libpq_reads_them() {
        let text = "# comment\nother:5432:*:ship:no\ndb:5432:fleet:ship:pa\\:ss\n*:*:*:*:any\n";
        assert_eq!(
            lookup(text, ["db", "5432", "fleet", "ship"]).as_deref(),
            Some("pa:ss")
        );
        assert_eq!(lookup(text, ["x", "1", "y", "z"]).as_deref(), Some("any"));
        assert_eq!(
            lookup("db:5432:fleet:ship\n", ["db", "5432", "fleet", "ship"]),
            None
        );
    }
}
