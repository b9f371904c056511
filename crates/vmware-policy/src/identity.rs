//! Who is calling: the agent, the OS user, and the skill's short name, derived
//! exactly as the Python family derives them (compat.md).

/// The calling AI agent, from its environment markers; first match wins.
/// `OPENAI_API_KEY` is deliberately not a marker: it is set for unrelated tools.
pub fn detect_agent() -> &'static str {
    let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    if set("CLAUDE_SESSION_ID") || set("CLAUDE_CODE") {
        "claude"
    } else if set("CODEX_SESSION") {
        "codex"
    } else if set("OLLAMA_HOST") {
        "local"
    } else if set("DEERFLOW_SESSION") {
        "deerflow"
    } else {
        "unknown"
    }
}

/// The OS user, as Python's `getpass.getuser()` finds it: `LOGNAME`, `USER`,
/// `LNAME`, `USERNAME`, then the password database; `unknown` if none.
pub fn os_user() -> String {
    for key in ["LOGNAME", "USER", "LNAME", "USERNAME"] {
        if let Some(v) = std::env::var_os(key).filter(|v| !v.is_empty()) {
            return v.to_string_lossy().into_owned();
        }
    }
    passwd_name().unwrap_or_else(|| "unknown".into())
}

#[cfg(unix)]
fn passwd_name() -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer refers to a live local of the stated size.
    let rc = unsafe {
        libc::getpwuid_r(
            libc::geteuid(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: getpwuid_r succeeded, so pw_name is a NUL-terminated string in `buf`.
    let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
    Some(name.to_string_lossy().into_owned())
}

#[cfg(not(unix))]
fn passwd_name() -> Option<String> {
    None
}

/// A skill's short name from a module path: the first dotted part starting
/// `vmware_`, without that prefix (`vmware_nsx_security.mcp_server` gives
/// `nsx_security`); `unknown` if there is none. For Rust skills, pass the crate
/// name (`vmware_nsx_security`) or use the name directly.
pub fn skill_name(module: &str) -> String {
    module
        .split(['.', ':'])
        .find_map(|part| part.strip_prefix("vmware_"))
        .map_or_else(|| "unknown".into(), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skill_names() {
        assert_eq!(skill_name("vmware_nsx_security.mcp_server"), "nsx_security");
        assert_eq!(skill_name("pkg.vmware_aiops.ops"), "aiops");
        assert_eq!(skill_name("vmware_avi::server"), "avi");
        assert_eq!(skill_name("mcp_server.server"), "unknown");
    }
}
