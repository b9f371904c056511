//! HTTP(S) GETs for `rules pull` (ureq, rustls with the webpki roots), with
//! the ETag of the last fetch, bounded in size and time.

use std::time::Duration;

/// A rules file is small; anything bigger is not one.
const MAX_BYTES: u64 = 4 * 1024 * 1024;

pub enum Fetched {
    NotModified,
    Body {
        bytes: Vec<u8>,
        etag: Option<String>,
    },
}

pub fn get(url: &str, etag: Option<&str>) -> Result<Fetched, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = agent.get(url);
    if let Some(tag) = etag {
        req = req.header("If-None-Match", tag);
    }
    let mut resp = req.call().map_err(|e| format!("GET {url}: {e}"))?;
    let status = resp.status().as_u16();
    if status == 304 {
        return Ok(Fetched::NotModified);
    }
    if status != 200 {
        return Err(format!("GET {url}: HTTP {status}"));
    }
    let etag = resp
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = resp
        .body_mut()
        .with_config()
        .limit(MAX_BYTES)
        .read_to_vec()
        .map_err(|e| format!("GET {url}: {e}"))?;
    Ok(Fetched::Body { bytes, etag })
}
