//! The 2.0 tool renames of the Python family (`vmware_policy.renames`), with
//! its very table (`data/tool_renames_2_0.json`, embedded). Servers expose only
//! the new names; deny rules and history may still hold the old ones, so policy
//! matches a rule against every name a tool has had, and filters find rows
//! under either name. Keyed by skill: two old names were reused elsewhere.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

const TABLE_JSON: &str = include_str!("../data/tool_renames_2_0.json");

/// `{"vmware-<skill>": {old: new}}`.
pub fn table() -> &'static BTreeMap<String, BTreeMap<String, String>> {
    static TABLE: OnceLock<BTreeMap<String, BTreeMap<String, String>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        serde_json::from_str(TABLE_JSON).expect("the embedded rename table is JSON")
    })
}

/// `nsx_security` (a skill key) -> `vmware-nsx-security` (the table's key).
fn server(skill: &str) -> String {
    format!("vmware-{}", skill.replace('_', "-"))
}

/// Every other name `tool` has in `skill` across the renames, both ways
/// (Python's `other_names`): a 2.0 skill calls the new name while a rule may
/// say the old one, and a 1.x skill calls the old name while a rule says the new.
pub fn other_names(skill: &str, tool: &str) -> Vec<String> {
    let Some(pairs) = table().get(&server(skill)) else {
        return Vec::new();
    };
    let mut names: BTreeSet<&str> = pairs
        .iter()
        .filter(|(_, new)| new.as_str() == tool)
        .map(|(old, _)| old.as_str())
        .collect();
    if let Some(new) = pairs.get(tool) {
        names.insert(new);
    }
    names.remove(tool);
    names.into_iter().map(String::from).collect()
}

/// Every pre-2.0 name `tool` had in any skill (for a check that names no skill).
pub fn old_names_any_skill(tool: &str) -> Vec<String> {
    let names: BTreeSet<&str> = table()
        .values()
        .flat_map(|pairs| pairs.iter())
        .filter(|(_, new)| new.as_str() == tool)
        .map(|(old, _)| old.as_str())
        .collect();
    names.into_iter().map(String::from).collect()
}

/// `tool` and every name it was renamed from or to (history filters). With a
/// skill only that skill's renames count (`pool_list` is AVI's `list_lb_pools`
/// and VDI's `list_desktop_pools`); without one, every skill's.
pub fn all_names_for(tool: &str, skill: Option<&str>) -> Vec<String> {
    let mut names = BTreeSet::from([tool.to_string()]);
    let servers: Vec<String> = match skill {
        Some(s) => vec![server(s)],
        None => table().keys().cloned().collect(),
    };
    for s in servers {
        for (old, new) in table().get(&s).into_iter().flatten() {
            if tool == old || tool == new {
                names.insert(old.clone());
                names.insert(new.clone());
            }
        }
    }
    names.into_iter().collect()
}

/// Every 2.0 name, and every pre-2.0 name, of any skill.
pub fn new_names() -> BTreeSet<&'static str> {
    table()
        .values()
        .flat_map(|p| p.values().map(String::as_str))
        .collect()
}

pub fn old_names_all() -> BTreeSet<&'static str> {
    table()
        .values()
        .flat_map(|p| p.keys().map(String::as_str))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_both_ways_and_by_skill() {
        assert_eq!(other_names("aiops", "delete_vm"), ["vm_delete"]);
        assert_eq!(other_names("aiops", "vm_delete"), ["delete_vm"]);
        assert!(other_names("nsx_security", "delete_vm").is_empty());
        assert_eq!(other_names("log_insight", "search_logs"), ["log_search"]);
        assert_eq!(
            all_names_for("pool_list", Some("avi")),
            ["list_lb_pools", "pool_list"]
        );
        let everywhere = all_names_for("pool_list", None);
        assert!(everywhere.len() > 2, "{everywhere:?}");
        assert!(table().values().map(BTreeMap::len).sum::<usize>() >= 170);
    }
}
