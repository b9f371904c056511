//! The view to a file (`x`): the rows the stream's filters and search select,
//! newest first, written by `export`'s own streamed code, in the format the
//! file's extension names. The file is new (never overwritten) and 0600: it
//! holds audit data.

use std::io::BufWriter;
use std::path::Path;

use vmware_policy::audit::Filter;

use crate::cli::source::Source;

use super::search::{Search, SearchSpec};
use crate::cli::args::ExportFormat;
use crate::cli::export::{WriteError, write_rows};

/// The format a path's extension names.
pub fn format_of(path: &Path) -> Result<ExportFormat, String> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => Ok(ExportFormat::Json),
        Some("jsonl") => Ok(ExportFormat::Jsonl),
        Some("csv") => Ok(ExportFormat::Csv),
        _ => Err(format!(
            "{}: the name must end in .json, .jsonl or .csv (the format)",
            path.display()
        )),
    }
}

/// A default name in the current directory: `vmware-audit-<UTC stamp>.jsonl`.
pub fn default_name(now: chrono::DateTime<chrono::Utc>) -> String {
    format!("vmware-audit-{}.jsonl", now.format("%Y%m%d-%H%M%S"))
}

pub fn to_file(
    source: &Source,
    path: &Path,
    filter: &Filter,
    search: Option<&SearchSpec>,
) -> Result<u64, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let format = format_of(path)?;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    // SQLite skips what cannot match, as for the stream's pages.
    let filter = search.map_or_else(|| filter.clone(), |s| s.prefilter(filter));
    let search = search.map(Search::compile).transpose()?;
    let keep = |r: &vmware_policy::audit::AuditRow| search.as_ref().is_none_or(|s| s.matches(r));
    let mut out = BufWriter::with_capacity(1 << 16, file);
    write_rows(source, &filter, format, None, false, &keep, &mut out).map_err(|e| match e {
        WriteError::Read(e) => format!("reading the audit log: {e}"),
        WriteError::Write(e) => format!("writing {}: {e}", path.display()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmware_policy::{AuditEngine, Record};

    fn db_with_rows() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let engine = AuditEngine::new(dir.path().join("audit.db"));
        for (i, (tool, status)) in [
            ("delete_vm", "denied"),
            ("list_vms", "ok"),
            ("delete_pool", "denied"),
            ("power_off_vm", "denied"),
        ]
        .iter()
        .enumerate()
        {
            engine.append(Record {
                skill: "vsphere".into(),
                tool: tool.to_string(),
                status: status.to_string(),
                params: format!("{{\"n\": {i}}}"),
                ..Record::default()
            });
        }
        dir
    }

    #[test]
    fn the_view_is_written_with_its_filter_and_search_in_the_format_named() {
        let dir = db_with_rows();
        let path = dir.path().join("audit.db");
        let db = Source::Local(
            vmware_policy::audit::History::open(&path, false).unwrap(),
            path.clone(),
        );
        let filter = Filter {
            statuses: vec!["denied".into()],
            ..Filter::default()
        };
        let csv = dir.path().join("view.csv");
        assert_eq!(
            to_file(
                &db,
                &csv,
                &filter,
                Some(&SearchSpec::new(
                    "delete",
                    super::super::search::Mode::Fuzzy
                ))
            )
            .unwrap(),
            2
        );
        let text = std::fs::read_to_string(&csv).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("id,ts,skill,tool"));
        assert_eq!(lines.len(), 3, "{text}");
        assert!(
            lines[1].contains("delete_pool") && lines[2].contains("delete_vm"),
            "newest first"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&csv).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let json = dir.path().join("view.json");
        assert_eq!(to_file(&db, &json, &filter, None).unwrap(), 3);
        let rows: Vec<serde_json::Value> =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert!(rows.iter().all(|r| r["status"] == "denied"));
        // Never over an existing file; an unknown extension says which ones work.
        assert!(
            to_file(&db, &csv, &filter, None)
                .unwrap_err()
                .contains("cannot create")
        );
        let bad = dir.path().join("view.txt");
        assert!(
            to_file(&db, &bad, &filter, None)
                .unwrap_err()
                .contains(".jsonl")
        );
        assert!(!bad.exists());
    }
}
