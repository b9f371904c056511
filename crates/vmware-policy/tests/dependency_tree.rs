//! A skill that links the library must not compile the operator's terminal
//! and CLI stack. Walks Cargo.lock from the library's own (non-dev)
//! dependencies, its optional `rmcp` ones included.

use std::collections::{BTreeSet, HashMap};

fn lock_graph() -> HashMap<String, Vec<String>> {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock"))
        .expect("Cargo.lock at the workspace root");
    let mut graph: HashMap<String, Vec<String>> = HashMap::new();
    for block in lock.split("[[package]]").skip(1) {
        let name = block
            .lines()
            .find_map(|l| l.strip_prefix("name = "))
            .map(|n| n.trim_matches('"').to_string())
            .expect("a package name");
        let deps: Vec<String> = match block.split_once("dependencies = [") {
            Some((_, rest)) => rest
                .split(']')
                .next()
                .unwrap_or("")
                .lines()
                .filter_map(|l| l.trim().trim_end_matches(',').strip_prefix('"'))
                .map(|d| {
                    d.trim_end_matches('"')
                        .split(' ')
                        .next()
                        .unwrap()
                        .to_string()
                })
                .collect(),
            None => Vec::new(),
        };
        graph.entry(name).or_default().extend(deps);
    }
    graph
}

fn library_dependencies() -> Vec<String> {
    let manifest =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let section = manifest
        .split("\n[dependencies]\n")
        .nth(1)
        .expect("a [dependencies] table")
        .split("\n[")
        .next()
        .unwrap();
    section
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim().to_string()))
        .filter(|k| !k.is_empty() && !k.starts_with('#'))
        .collect()
}

#[test]
fn the_library_pulls_in_no_terminal_or_cli_crate() {
    let graph = lock_graph();
    let mut seen = BTreeSet::new();
    let mut todo = library_dependencies();
    assert!(todo.contains(&"rusqlite".to_string()), "{todo:?}");
    while let Some(name) = todo.pop() {
        if seen.insert(name.clone()) {
            todo.extend(graph.get(&name).cloned().unwrap_or_default());
        }
    }
    for banned in [
        "ratatui",
        "crossterm",
        "clap",
        "clap_complete",
        "ratatui-textarea",
        "fuzzy-matcher",
        "nucleo-matcher",
    ] {
        assert!(!seen.contains(banned), "the library's tree holds {banned}");
    }
    // The walk is real: it reaches SQLite's sys crate and rmcp's tokio.
    assert!(
        seen.contains("libsqlite3-sys") && seen.contains("tokio"),
        "{seen:?}"
    );
}
