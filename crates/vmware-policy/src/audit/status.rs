//! What kind of outcome a status names, so every view colours and counts a
//! status the same way (the Python family writes several variants of each).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ok,
    Denied,
    Error,
    DryRun,
    Interrupted,
    Bypassed,
    Other,
}

/// The statuses the Python family writes (compat.md), each also with `_bypassed`.
pub const KNOWN: &[&str] = &[
    "ok",
    "denied",
    "error",
    "dry_run",
    "interrupted",
    "budget_exceeded",
    "rejected",
];

/// Whether `status` is one the family writes.
pub fn is_known(status: &str) -> bool {
    KNOWN.contains(&status.strip_suffix("_bypassed").unwrap_or(status))
}

pub fn kind(status: &str) -> Kind {
    if status.ends_with("_bypassed") {
        Kind::Bypassed
    } else if status.contains("denied") || status == "rejected" || status == "budget_exceeded" {
        Kind::Denied
    } else if status.contains("error") {
        Kind::Error
    } else if status.starts_with("interrupted") {
        Kind::Interrupted
    } else if status.starts_with("dry_run") || status == "preview" {
        Kind::DryRun
    } else if status == "ok" {
        Kind::Ok
    } else {
        Kind::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_of_the_python_family() {
        assert_eq!(kind("ok"), Kind::Ok);
        assert_eq!(kind("denied"), Kind::Denied);
        assert_eq!(kind("budget_exceeded"), Kind::Denied);
        assert_eq!(kind("error"), Kind::Error);
        assert_eq!(kind("error_bypassed"), Kind::Bypassed);
        assert_eq!(kind("dry_run"), Kind::DryRun);
        assert_eq!(kind("interrupted"), Kind::Interrupted);
        assert_eq!(kind("whatever"), Kind::Other);
    }
}
