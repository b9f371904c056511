//! Which columns the stream shows at a width, and how wide each is: a pure
//! function, so every width from 70 to 250 can be checked without drawing.
//!
//! Time, tool and status always; then skill, took, agent, rule, risk and user
//! as long as the tool keeps room for a name; on wide terminals the params,
//! with the tool capped so the params get the rest. Text longer than its
//! column ends in `…` ([`fit`]).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    Time,
    /// The fleet's rows only.
    Host,
    Skill,
    Tool,
    Status,
    Rule,
    Risk,
    Agent,
    User,
    Took,
    Params,
}

impl Col {
    pub fn title(self) -> &'static str {
        match self {
            Col::Time => "Time (UTC)",
            Col::Host => "Host",
            Col::Skill => "Skill",
            Col::Tool => "Tool",
            Col::Status => "Status",
            Col::Rule => "Rule",
            Col::Risk => "Risk",
            Col::Agent => "Agent",
            Col::User => "User",
            Col::Took => "Took",
            Col::Params => "Params",
        }
    }
}

/// Below this width, the compact layout (time, tool, status: beside the editor).
pub const COMPACT_BELOW: u16 = 70;
/// From this width, the params get a column.
pub const PARAMS_FROM: u16 = 150;
/// The tool column never gets narrower than this while optional columns are
/// added, nor wider than [`TOOL_MAX`] when the params share the row.
const TOOL_MIN: u16 = 20;
const TOOL_MAX: u16 = 40;

/// The columns and their widths for a table `width` cells wide (one space
/// between columns), in display order; with `hosts` (the fleet), the host
/// comes first of the optional columns.
pub fn layout(width: u16, hosts: bool) -> Vec<(Col, u16)> {
    if width < COMPACT_BELOW {
        let tool = width.saturating_sub(8 + 12 + 2).max(1);
        return vec![(Col::Time, 8), (Col::Tool, tool), (Col::Status, 12)];
    }
    let fixed = |c: Col| -> u16 {
        match c {
            Col::Time => 14,
            Col::Host => 12,
            Col::Skill => 12,
            Col::Status => 13,
            Col::Rule => 20,
            Col::Risk => 8,
            Col::Agent => 12,
            Col::User => 12,
            Col::Took => 7,
            Col::Tool | Col::Params => 0,
        }
    };
    let mut chosen = vec![Col::Time, Col::Tool, Col::Status];
    let used = |cols: &[Col]| -> u16 {
        cols.iter().map(|c| fixed(*c)).sum::<u16>() + cols.len() as u16 - 1
    };
    let host = hosts.then_some(Col::Host);
    for c in host.into_iter().chain([
        Col::Skill,
        Col::Took,
        Col::Agent,
        Col::Rule,
        Col::Risk,
        Col::User,
    ]) {
        let mut with = chosen.clone();
        with.push(c);
        if width.saturating_sub(used(&with)) >= TOOL_MIN {
            chosen = with;
        }
    }
    let params = width >= PARAMS_FROM;
    if params {
        chosen.push(Col::Params);
    }
    let rest = width.saturating_sub(used(&chosen));
    let (tool, params_w) = if params {
        let tool = rest.saturating_sub(TOOL_MIN).clamp(TOOL_MIN, TOOL_MAX);
        (tool, rest.saturating_sub(tool))
    } else {
        (rest, 0)
    };
    const ORDER: [Col; 11] = [
        Col::Time,
        Col::Host,
        Col::Skill,
        Col::Tool,
        Col::Status,
        Col::Rule,
        Col::Risk,
        Col::Agent,
        Col::User,
        Col::Took,
        Col::Params,
    ];
    ORDER
        .iter()
        .filter(|c| chosen.contains(c))
        .map(|&c| {
            let w = match c {
                Col::Tool => tool,
                Col::Params => params_w,
                other => fixed(other),
            };
            (c, w)
        })
        .collect()
}

/// `s` in at most `width` cells: cut with `…` when it is longer (the CLI
/// tables' own truncation).
pub fn fit(s: &str, width: u16) -> String {
    crate::cli::table::truncate(s, width as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(width: u16) -> Vec<Col> {
        layout(width, false).into_iter().map(|(c, _)| c).collect()
    }

    fn width_of(width: u16, col: Col) -> u16 {
        layout(width, false)
            .into_iter()
            .find(|(c, _)| *c == col)
            .map_or(0, |(_, w)| w)
    }

    #[test]
    fn the_row_fills_the_width_exactly_from_70_to_250() {
        for w in COMPACT_BELOW..=250 {
            let l = layout(w, false);
            let total: u16 = l.iter().map(|(_, w)| w).sum::<u16>() + l.len() as u16 - 1;
            assert_eq!(total, w, "at {w}: {l:?}");
            assert!(width_of(w, Col::Tool) >= TOOL_MIN, "at {w}: {l:?}");
        }
    }

    #[test]
    fn columns_join_as_the_width_allows() {
        assert_eq!(
            cols(70),
            [Col::Time, Col::Skill, Col::Tool, Col::Status, Col::Took]
        );
        let at_120 = cols(120);
        assert!(at_120.contains(&Col::Rule) && at_120.contains(&Col::Agent));
        assert!(!at_120.contains(&Col::Params));
        let at_200 = cols(200);
        assert!(at_200.contains(&Col::Params) && at_200.contains(&Col::User));
        // The tool no longer takes everything (it took 110 of 200).
        assert_eq!(width_of(200, Col::Tool), TOOL_MAX);
        assert!(width_of(250, Col::Params) > 80);
    }

    #[test]
    fn long_text_ends_in_an_ellipsis_within_its_width() {
        assert_eq!(fit("delete_dfw_policy", 10), "delete_df…");
        assert_eq!(fit("short", 10), "short");
        assert_eq!(fit("日本語のツール", 7), "日本語…");
        assert_eq!(fit("x", 0), "");
    }
}
