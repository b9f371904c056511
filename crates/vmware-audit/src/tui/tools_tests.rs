//! The investigation tools driven by actions with no terminal: marks (`m`,
//! `]`, `[`), the clipboard (`y`), export (`x`), jump (`J`), range (`T`), and
//! search modes, find and highlights.

use super::action::{Action, Effect};
use super::view::tests::{app_with, at, live, row, sample_rows};

fn clipboard(fx: &[Effect]) -> Option<serde_json::Value> {
    fx.iter().find_map(|e| match e {
        Effect::Clipboard(text) => Some(serde_json::from_str(text).expect("JSON")),
        _ => None,
    })
}

#[test]
fn marked_rows_are_found_again_and_copied_together() {
    let mut app = app_with(sample_rows(), 120, 40);
    // Nothing marked: `y` copies the selected row (the newest, id 30).
    let one = clipboard(&app.update(Action::Copy)).expect("a copy");
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0]["id"], 30);
    // Mark 28 and 25.
    for _ in 0..2 {
        app.update(Action::Up);
    }
    app.update(Action::Mark);
    for _ in 0..3 {
        app.update(Action::Up);
    }
    app.update(Action::Mark);
    assert_eq!(app.marks.len(), 2);
    assert!(app.notice.as_deref().unwrap().starts_with("2 marked"));
    // Back to the newest, then between the marks.
    app.update(Action::Follow);
    app.update(Action::PrevMark);
    assert_eq!(app.stream.selected_row().unwrap().id, 28);
    app.update(Action::PrevMark);
    assert_eq!(app.stream.selected_row().unwrap().id, 25);
    app.update(Action::PrevMark);
    assert_eq!(app.stream.selected_row().unwrap().id, 25, "none above");
    assert!(
        app.notice
            .as_deref()
            .unwrap()
            .contains("no marked row above")
    );
    app.update(Action::NextMark);
    assert_eq!(app.stream.selected_row().unwrap().id, 28);
    // `y` copies both marked rows, oldest first, as export's JSON does.
    let both = clipboard(&app.update(Action::Copy)).expect("a copy");
    let ids: Vec<i64> = both
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [25, 28]);
    // `m` again unmarks.
    app.update(Action::Mark);
    assert_eq!(app.marks.keys().copied().collect::<Vec<_>>(), [at(25)]);
}

#[test]
fn too_much_for_a_clipboard_is_refused_with_a_way_out() {
    let mut big = row(1, "vsphere", "export_logs", "ok");
    big.result = format!("{{\"log\": \"{}\"}}", "x".repeat(100 * 1024));
    let mut app = app_with(vec![big], 120, 40);
    let fx = app.update(Action::Copy);
    assert!(clipboard(&fx).is_none());
    assert!(app.notice.as_deref().unwrap().contains("export them"));
}

#[test]
fn x_asks_for_a_file_and_exports_the_view_as_filtered() {
    use super::action::Column;
    use super::data::Request;
    use super::state::Overlay;
    let mut app = app_with(sample_rows(), 120, 40);
    app.filters.set(Column::Status, vec!["denied".into()]);
    app.update(Action::Export);
    let Overlay::Export(name) = &app.overlay else {
        panic!("no prompt")
    };
    assert!(
        name.starts_with("vmware-audit-") && name.ends_with(".jsonl"),
        "{name}"
    );
    for _ in 0..6 {
        app.update(Action::Erase);
    }
    for c in ".txt".chars() {
        app.update(Action::Input(c));
    }
    let fx = app.update(Action::Confirm);
    assert!(fx.is_empty(), "not with a .txt name");
    assert!(
        matches!(app.overlay, Overlay::Export(_)),
        "the prompt stays"
    );
    assert!(
        app.notice
            .as_deref()
            .unwrap()
            .contains(".json, .jsonl or .csv")
    );
    for _ in 0..3 {
        app.update(Action::Erase);
    }
    for c in "csv".chars() {
        app.update(Action::Input(c));
    }
    let fx = app.update(Action::Confirm);
    match &fx[..] {
        [Effect::Request(Request::Export { path, filter, .. })] => {
            assert!(path.to_string_lossy().ends_with(".csv"));
            assert_eq!(filter.statuses, vec!["denied".to_string()]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn j_jumps_to_the_last_row_at_or_before_a_time_and_pauses() {
    use super::data::{Anchor, Pos, Request, Response};
    use super::state::Overlay;
    let mut app = app_with(sample_rows(), 120, 40);
    app.update(Action::JumpPrompt);
    for c in "not a time".chars() {
        app.update(Action::Input(c));
    }
    assert!(app.update(Action::Confirm).is_empty());
    assert!(matches!(app.overlay, Overlay::Jump(_)), "the prompt stays");
    app.overlay = Overlay::Jump(String::new());
    for c in "2026-11-22T10:00:10".chars() {
        app.update(Action::Input(c));
    }
    let fx = app.update(Action::Confirm);
    let ts = match &fx[..] {
        [Effect::Request(Request::Locate { ts, .. })] => ts.clone(),
        other => panic!("{other:?}"),
    };
    assert!(ts.starts_with("2026-11-22T10:00:10"), "{ts}");
    // The worker found row 10: the window is read again up to it.
    let fx = app.update(Action::Data(Box::new(Response::Located {
        generation: app.generation,
        ts: ts.clone(),
        at: Some(at(10)),
    })));
    let generation = match &fx[..] {
        [
            Effect::Request(Request::Page {
                anchor: Anchor::At(Pos { file: 0, id: 10 }),
                generation,
                ..
            }),
        ] => *generation,
        other => panic!("{other:?}"),
    };
    app.update(Action::Data(Box::new(Response::Page {
        generation,
        anchor: Anchor::At(at(10)),
        rows: live(sample_rows().into_iter().take(10).collect()),
        edge: at(1),
        exhausted: true,
        took_ms: 1,
    })));
    assert_eq!(app.stream.selected_row().unwrap().id, 10);
    assert!(!app.stream.follow);
    // Nothing that early: said, and the stream stays where it is.
    app.update(Action::Data(Box::new(Response::Located {
        generation: app.generation,
        ts: "2020-01-01T00:00:00+00:00".into(),
        at: None,
    })));
    assert!(
        app.notice
            .as_deref()
            .unwrap()
            .starts_with("no row at or before")
    );
    assert_eq!(app.stream.selected_row().unwrap().id, 10);
}

#[test]
fn t_takes_an_absolute_range_as_log_does() {
    use super::state::filters::Range;
    let mut app = app_with(sample_rows(), 120, 40);
    app.update(Action::RangePrompt);
    for c in "2026-11-22T09:00 2026-11-22T10:00".chars() {
        app.update(Action::Input(c));
    }
    app.update(Action::Confirm);
    assert_eq!(app.filters.range, Range::Custom);
    assert!(
        app.filters
            .since
            .as_deref()
            .unwrap()
            .starts_with("2026-11-22T09:00")
    );
    assert!(
        app.filters
            .until
            .as_deref()
            .unwrap()
            .starts_with("2026-11-22T10:00")
    );
    // Three words is not a range; the prompt says what is.
    app.update(Action::RangePrompt);
    for c in " x".chars() {
        app.update(Action::Input(c));
    }
    app.update(Action::Confirm);
    assert!(app.notice.as_deref().unwrap().contains("SINCE UNTIL"));
}

#[test]
fn the_search_prompt_cycles_modes_refuses_a_broken_regex_and_highlights_matches() {
    use super::data::Request;
    use super::search::Mode;
    use super::state::Overlay;
    let mut app = app_with(sample_rows(), 120, 40);
    app.update(Action::Search);
    for c in "(".chars() {
        app.update(Action::Input(c));
    }
    app.update(Action::SearchMode);
    app.update(Action::SearchMode);
    assert!(matches!(&app.overlay, Overlay::Search(s) if s.mode == Mode::Regex));
    assert!(app.update(Action::Confirm).is_empty());
    assert!(app.notice.as_deref().unwrap().starts_with("not a regex"));
    let Overlay::Search(s) = &mut app.overlay else {
        panic!("the prompt stays")
    };
    s.query = "_vm".into();
    s.mode = Mode::Substring;
    let fx = app.update(Action::Confirm);
    let spec = fx
        .iter()
        .find_map(|e| match e {
            Effect::Request(Request::Page { search, .. }) => search.clone(),
            _ => None,
        })
        .expect("a page with the search");
    assert_eq!((spec.query.as_str(), spec.mode), ("_vm", Mode::Substring));
    assert!(
        app.filters
            .describe()
            .contains(&("search(substring)".to_string(), "_vm".to_string()))
    );
    // The page comes; the stream shows where it matched: `_vm` of `delete_vm`.
    app.update(Action::Data(Box::new(super::data::Response::Page {
        generation: app.generation,
        anchor: super::data::Anchor::Newest,
        rows: live(sample_rows()),
        edge: at(1),
        exhausted: true,
        took_ms: 1,
    })));
    let t = super::view::tests::render(&app, 120, 40);
    let buf = t.backend().buffer();
    let hl = super::view::theme::Theme {
        color: true,
        palette: crate::config::Palette::default(),
    }
    .highlight();
    let (x, y) = (0..buf.area.height)
        .find_map(|y| {
            let line: String = (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect();
            line.find("delete_vm")
                .map(|i| (line[..i].chars().count() as u16 + 6, y))
        })
        .expect("a delete_vm row");
    assert_eq!(buf[(x, y)].symbol(), "_");
    assert!(buf[(x, y)].modifier.contains(hl.add_modifier));
    assert!(
        !buf[(x - 1, y)]
            .modifier
            .contains(ratatui::style::Modifier::UNDERLINED)
    );
}

#[test]
fn a_find_keeps_every_row_and_n_moves_between_its_matches() {
    use super::search::Mode;
    use super::state::Overlay;
    let mut app = app_with(sample_rows(), 120, 40);
    let before = app.stream.rows.len();
    app.update(Action::Search);
    for c in "delete_pool".chars() {
        app.update(Action::Input(c));
    }
    app.update(Action::SearchFind);
    assert!(matches!(&app.overlay, Overlay::Search(s) if s.find && s.mode == Mode::Fuzzy));
    // From the newest row (30, `list_vms`), backwards: the nearest delete_pool.
    let fx = app.update(Action::Confirm);
    assert!(
        fx.iter()
            .all(|e| !matches!(e, Effect::Request(super::data::Request::Page { .. }))),
        "nothing is read again: {fx:?}"
    );
    assert_eq!(app.stream.rows.len(), before, "every row stays");
    assert!(app.filters.search.is_none());
    let first = app.stream.selected_row().unwrap().clone();
    assert_eq!(
        first.tool, "delete_pool",
        "the nearest match above is selected"
    );
    app.update(Action::PrevMatch);
    let second = app.stream.selected_row().unwrap().clone();
    assert_eq!(second.tool, "delete_pool");
    assert!(second.id < first.id);
    app.update(Action::NextMatch);
    assert_eq!(app.stream.selected_row().unwrap().id, first.id);
    // The filter bar says a find is on, and how to move.
    let text = super::view::tests::render(&app, 120, 40)
        .backend()
        .to_string();
    assert!(text.contains("find=delete_pool (n N)"), "{text}");
}

#[test]
fn a_reads_the_archives_as_one_history_and_again_the_live_file_alone() {
    use super::data::{Anchor, Request};
    let mut app = app_with(sample_rows(), 120, 40);
    app.update(Action::Mark);
    let before = app.generation;
    let fx = app.update(Action::ToggleArchives);
    assert!(app.archives);
    // The worker switches first, then the overview and the newest page of
    // the whole history, for new filters' generation.
    let requests: Vec<&Request> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Request(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(requests[0], &Request::Archives(true));
    assert_eq!(requests[1], &Request::Overview);
    assert!(matches!(
        requests[2],
        Request::Page { anchor: Anchor::Newest, generation, .. } if *generation > before
    ));
    assert!(app.marks.is_empty(), "positions of another history");
    let screen = format!("{:?}", super::view::tests::render(&app, 120, 40).backend());
    assert!(screen.contains("rows +archives"), "{screen}");
    let fx = app.update(Action::ToggleArchives);
    assert!(!app.archives);
    assert!(fx.contains(&Effect::Request(Request::Archives(false))));
    // A saved filter with `archives = true` widens to the whole history; one
    // without it leaves the history as it is.
    let wide = crate::config::SavedFilter {
        archives: true,
        status: vec!["denied".into()],
        ..Default::default()
    };
    app.saved.insert("wide".into(), wide);
    app.saved
        .insert("narrow".into(), crate::config::SavedFilter::default());
    let fx = app.apply_saved(Some(&"wide".to_string()));
    assert!(app.archives && fx.contains(&Effect::Request(Request::Archives(true))));
    assert_eq!(app.filters.statuses, vec!["denied".to_string()]);
    let fx = app.apply_saved(Some(&"narrow".to_string()));
    assert!(app.archives);
    assert!(
        !fx.iter()
            .any(|e| matches!(e, Effect::Request(Request::Archives(_))))
    );
}

#[test]
fn n_and_marks_reach_past_the_rows_loaded() {
    use super::data::{Anchor, Pos, Request, Response};
    let mut app = app_with(sample_rows(), 120, 40);
    // Rows 1..=30 are loaded, but older ones exist.
    app.stream.at_oldest = false;
    app.update(Action::Search);
    for c in "no_such_tool_here".chars() {
        app.update(Action::Input(c));
    }
    app.update(Action::SearchFind);
    app.update(Action::Confirm);
    let fx = app.update(Action::PrevMatch);
    let (generation, from) = match &fx[..] {
        [
            Effect::Request(Request::Find {
                generation,
                from,
                forward: false,
                find,
                ..
            }),
        ] if find.query == "no_such_tool_here" => (*generation, *from),
        other => panic!("the worker is asked past the window: {other:?}"),
    };
    assert_eq!(from, at(1), "from the oldest row loaded");
    // Found in an older file: the window is read again up to it, selected.
    let found = Pos { file: 0, id: 7 };
    let fx = app.update(Action::Data(Box::new(Response::Found {
        generation,
        forward: false,
        at: Some(found),
    })));
    assert!(
        fx.iter().any(|e| matches!(e,
            Effect::Request(Request::Page { anchor: Anchor::At(p), generation: g, .. })
                if *p == found && *g > generation)),
        "{fx:?}"
    );
    assert!(!app.stream.follow);
    // Nothing further: said so.
    let g = app.generation;
    app.update(Action::Data(Box::new(Response::Found {
        generation: g,
        forward: false,
        at: None,
    })));
    assert_eq!(app.notice.as_deref(), Some("no match above"));

    // A mark outside the window: `[` reads the window again up to it.
    let mut app = app_with(sample_rows(), 120, 40);
    let far = Pos { file: 0, id: 3 };
    app.marks
        .insert(far, row(3, "vsphere", "delete_vm", "denied"));
    // A nearer one the view does not show (another status) is passed over.
    app.marks
        .insert(Pos { file: 0, id: 5 }, row(5, "vsphere", "list_vms", "ok"));
    app.stream.rows.retain(|r| r.id > 10);
    app.stream.settle();
    app.update(Action::DeniedOnly);
    app.update(Action::Data(Box::new(Response::Page {
        generation: app.generation,
        anchor: Anchor::Newest,
        rows: live(vec![row(20, "vsphere", "delete_vm", "denied")]),
        edge: at(20),
        exhausted: false,
        took_ms: 1,
    })));
    assert_eq!(app.stream.rows.len(), 1, "only row 20 is loaded");
    let fx = app.update(Action::PrevMark);
    assert!(
        fx.iter().any(
            |e| matches!(e, Effect::Request(Request::Page { anchor: Anchor::At(p), .. }) if *p == far)
        ),
        "{fx:?}"
    );
}
