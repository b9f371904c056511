//! What a rules signature says, as the text of a signed note:
//!
//! ```text
//! vmware-audit signed rules v1
//! sha256 <64 hex digits of the file's bytes>
//! revision <n>
//! expires <RFC 3339 time>
//! ```

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

const HEADER: &str = "vmware-audit signed rules v1";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub sha256: String,
    pub revision: u64,
    pub expires: DateTime<Utc>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Envelope {
    pub fn for_file(bytes: &[u8], revision: u64, expires: DateTime<Utc>) -> Envelope {
        Envelope {
            sha256: sha256_hex(bytes),
            revision,
            expires,
        }
    }

    pub fn to_text(&self) -> String {
        format!(
            "{HEADER}\nsha256 {}\nrevision {}\nexpires {}\n",
            self.sha256,
            self.revision,
            self.expires
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )
    }

    pub fn parse(text: &[u8]) -> Result<Envelope, String> {
        let text = std::str::from_utf8(text).map_err(|_| "the signed text is not UTF-8")?;
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return Err(format!("the signed text is not a `{HEADER}` statement"));
        }
        let mut field = |name: &str| -> Result<String, String> {
            lines
                .next()
                .and_then(|l| l.strip_prefix(name))
                .and_then(|v| v.strip_prefix(' '))
                .map(str::to_string)
                .ok_or_else(|| format!("the signed text has no `{name}` line where expected"))
        };
        let sha256 = field("sha256")?;
        if sha256.len() != 64 || !sha256.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err("the signed sha256 is not 64 hex digits".into());
        }
        let revision = field("revision")?
            .parse()
            .map_err(|_| "the signed revision is not a number")?;
        let expires = DateTime::parse_from_rfc3339(&field("expires")?)
            .map_err(|e| format!("the signed expiry is not an RFC 3339 time ({e})"))?
            .with_timezone(&Utc);
        Ok(Envelope {
            sha256: sha256.to_ascii_lowercase(),
            revision,
            expires,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_reads_back_and_anything_else_is_refused() {
        let e = Envelope::for_file(b"deny: []\n", 7, "2027-01-01T00:00:00Z".parse().unwrap());
        assert_eq!(Envelope::parse(e.to_text().as_bytes()), Ok(e.clone()));
        let swapped = e.to_text().replace("revision 7\n", "");
        assert!(Envelope::parse(swapped.as_bytes()).is_err());
        assert!(Envelope::parse(b"some other note\n").is_err());
    }
}
