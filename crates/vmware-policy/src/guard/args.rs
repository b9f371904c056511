//! The family's argument rules, checked before policy and before the tool
//! runs, as Python's `_check_common_arguments` (decorators.py) and
//! `check_host_path` (hostpaths.py), with their wording. A refusal is the
//! call's `error`, as a `ToolArgumentError` / `HostPathRefusedError` is there.

use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use crate::policy::yaml::pyrepr::{py_float_repr, py_str_repr};

/// Parameters that name a file on the server host, in every tool of the family.
pub const HOST_PATH_PARAMS: &[&str] = &[
    "local_path",
    "ova_path",
    "spec_path",
    "manifest_path",
    "output_path",
];

const FILE_ROOT_ENV: &str = "VMWARE_MCP_FILE_ROOT";

/// Why the call's arguments are refused, or `None`. `declared` adds a tool's
/// own host-path parameters; `network` is a call from a network caller.
pub fn check(params: &Value, declared: &[String], network: bool) -> Option<String> {
    check_call(params, declared, network, false).map(|r| r.message)
}

/// An argument refused, with the name of the error Python raises for it
/// (the last line of its traceback).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub error_type: &'static str,
    pub message: String,
}

/// [`check`], with the error's name, worded for a CLI command (`--limit`,
/// "this command's default") when `cli`, as Python's CLI guard words it.
pub fn check_call(
    params: &Value,
    declared: &[String],
    network: bool,
    cli: bool,
) -> Option<Refusal> {
    let obj = params.as_object()?;
    let mut names: Vec<&str> = HOST_PATH_PARAMS.to_vec();
    names.extend(declared.iter().map(String::as_str));
    for name in names {
        if let Some(v) = obj.get(name)
            && let Some(why) = check_host_path(v, network)
        {
            return Some(Refusal {
                error_type: "HostPathRefusedError",
                message: why,
            });
        }
    }
    check_limit(obj.get("limit"), cli).map(|message| Refusal {
        error_type: "ToolArgumentError",
        message,
    })
}

fn check_limit(limit: Option<&Value>, cli: bool) -> Option<String> {
    match limit {
        None | Some(Value::Null) => None,
        Some(Value::Number(n))
            if n.as_i64().is_some_and(|l| l >= 1) || n.as_u64().is_some_and(|u| u >= 1) =>
        {
            None
        }
        Some(other) => {
            let (name, what) = if cli {
                ("--limit", "command")
            } else {
                ("limit", "tool")
            };
            Some(format!(
                "{name} must be a positive integer (1 or more), got {}. Omit {name} to use this {what}'s default.",
                py_repr(other)
            ))
        }
    }
}

/// Python's `repr()` of a JSON value.
fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => py_float_repr(f),
            _ => n.to_string(),
        },
        Value::String(s) => py_str_repr(s),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(py_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", py_str_repr(k), py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn check_host_path(v: &Value, network: bool) -> Option<String> {
    let Value::String(path) = v else { return None };
    if path.trim().is_empty() {
        return None;
    }
    let real = realpath(&expanduser(path));
    for root in ["/dev", "/proc"] {
        if inside(&real, Path::new(root)) {
            return Some(format!(
                "Device and process paths ({root}) are never read or written by tools. Refused: {path}"
            ));
        }
    }
    for root in protected_roots() {
        if inside(&real, &root) {
            return Some(format!(
                "Choose a path outside the directories that hold this server's configuration, tokens \
                 and audit log ({}); tools may not read or write there. Refused: {path}",
                root.display()
            ));
        }
    }
    if !network {
        return None;
    }
    let allowed = std::env::var(FILE_ROOT_ENV).unwrap_or_default();
    let allowed = allowed.trim();
    if allowed.is_empty() {
        return Some(format!(
            "Over the network, tools may not read or write files on this server unless the operator \
             sets {FILE_ROOT_ENV} to a directory for them. Refused: {path}"
        ));
    }
    if let Some(problem) = file_root_problem(allowed) {
        return Some(format!("{problem} Refused: {path}"));
    }
    let root = realpath(&expanduser(allowed));
    if !real.starts_with(&root) && !same_file_ancestor(&real, &root) {
        return Some(format!(
            "Over the network, tools read and write only inside {FILE_ROOT_ENV} ({}). Refused: {path}",
            root.display()
        ));
    }
    None
}

fn file_root_problem(value: &str) -> Option<String> {
    let expanded = expanduser(value);
    if !expanded.is_absolute() {
        return Some(format!(
            "{FILE_ROOT_ENV} must be an absolute path (got {}).",
            py_str_repr(value)
        ));
    }
    let root = realpath(&expanded);
    let home = realpath(&expanduser("~"));
    if root.parent().is_none() || inside(&home, &root) {
        return Some(format!(
            "{FILE_ROOT_ENV}={} contains the home directory or is the filesystem root, so it restricts \
             nothing. Point it at a dedicated directory for files tools may use.",
            py_str_repr(value)
        ));
    }
    let code = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(realpath));
    if let Some(code) = code.filter(|c| inside(c, &root)) {
        return Some(format!(
            "{FILE_ROOT_ENV}={} contains this server's own installed code ({}), which tools could then \
             overwrite. Point it at a dedicated directory.",
            py_str_repr(value),
            code.display()
        ));
    }
    None
}

/// `$OPS_HOME`, every `~/.vmware-*` directory, the directory of each
/// `VMWARE_*_CONFIG` file: real paths, as Python's `protected_roots()`.
fn protected_roots() -> Vec<PathBuf> {
    let ops = std::env::var("OPS_HOME").ok().filter(|v| !v.is_empty());
    let mut roots = vec![expanduser(ops.as_deref().unwrap_or("~/.vmware"))];
    let home = expanduser("~");
    if let Ok(entries) = std::fs::read_dir(&home) {
        for e in entries.flatten() {
            let name = e.file_name();
            if name.to_string_lossy().starts_with(".vmware-") && e.path().is_dir() {
                roots.push(e.path());
            }
        }
    }
    for (k, v) in std::env::vars_os() {
        let k = k.to_string_lossy();
        let is_config = k
            .strip_prefix("VMWARE_")
            .and_then(|r| r.strip_suffix("_CONFIG"))
            .is_some_and(|mid| {
                !mid.is_empty()
                    && mid
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            });
        let v = v.to_string_lossy();
        if is_config && !v.trim().is_empty() {
            let p = expanduser(&v);
            roots.push(p.parent().map(Path::to_path_buf).unwrap_or(p));
        }
    }
    let mut real: Vec<PathBuf> = roots.iter().map(|r| realpath(r)).collect();
    real.sort();
    real.dedup();
    real
}

fn expanduser(path: &str) -> PathBuf {
    crate::home::expanduser(Path::new(path)).unwrap_or_else(|_| PathBuf::from(path))
}

/// `os.path.realpath` (not strict): the longest existing prefix resolved by
/// the OS, the rest applied by name.
fn realpath(path: &Path) -> PathBuf {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let parts: Vec<Component> = abs.components().collect();
    for cut in (1..=parts.len()).rev() {
        let prefix: PathBuf = parts[..cut].iter().collect();
        if let Ok(real) = std::fs::canonicalize(&prefix) {
            let mut out = real;
            for c in &parts[cut..] {
                match c {
                    Component::ParentDir => {
                        out.pop();
                    }
                    Component::Normal(n) => out.push(n),
                    _ => {}
                }
            }
            return out;
        }
    }
    abs
}

/// `path` is `root` or below it, by name ignoring case (as Python's `_inside`
/// folds case), or by file identity of an existing ancestor.
fn inside(path: &Path, root: &Path) -> bool {
    let fold = |p: &Path| PathBuf::from(p.to_string_lossy().to_lowercase());
    fold(path).starts_with(fold(root)) || same_file_ancestor(path, root)
}

fn same_file_ancestor(path: &Path, root: &Path) -> bool {
    let Ok(r) = std::fs::metadata(root) else {
        return false;
    };
    path.ancestors()
        .any(|a| std::fs::metadata(a).is_ok_and(|m| m.dev() == r.dev() && m.ino() == r.ino()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn limit_is_refused_below_one_with_python_wording() {
        let msg = check(&json!({"limit": 0}), &[], false).unwrap();
        assert_eq!(
            msg,
            "limit must be a positive integer (1 or more), got 0. Omit limit to use this tool's default."
        );
        assert!(
            check(&json!({"limit": "5"}), &[], false)
                .unwrap()
                .contains("got '5'.")
        );
        assert!(
            check(&json!({"limit": true}), &[], false)
                .unwrap()
                .contains("got True.")
        );
        assert!(
            check(&json!({"limit": 2.0}), &[], false)
                .unwrap()
                .contains("got 2.0.")
        );
        assert!(check(&json!({"limit": 1}), &[], false).is_none());
        assert!(check(&json!({"limit": null}), &[], false).is_none());
    }

    #[test]
    fn device_paths_and_dot_dot_into_them_are_refused() {
        assert!(
            check(&json!({"local_path": "/dev/fd/987654"}), &[], false)
                .unwrap()
                .contains("(/proc)"), // /dev/fd/N (not open) resolves into /proc, as with Python
        );
        assert!(
            check(
                &json!({"output_path": "/tmp/../proc/self/environ"}),
                &[],
                false
            )
            .unwrap()
            .contains("(/proc)")
        );
        assert!(check(&json!({"local_path": "/tmp/x.ova"}), &[], false).is_none());
        // A tool's own declared path parameter is checked too.
        assert!(check(&json!({"bundle": "/dev/sda"}), &["bundle".into()], false).is_some());
        assert!(check(&json!({"bundle": "/dev/sda"}), &[], false).is_none());
    }
}
