//! The TUI's behaviour driven by actions, with no terminal: what the operator
//! does, what the app asks the data worker for, and what it then shows.

use super::action::{Action, Column, Effect};
use super::data::{Anchor, DbProblem, Request, Response, Row};
use super::state::stream::{CAP, PAGE};
use super::state::{Overlay, Pane};
use super::view::tests::{app_with, at, live, now, row, rules, sample_rows};

fn page_request(fx: &[Effect]) -> Option<(u64, Anchor, Option<String>, Vec<String>)> {
    fx.iter().find_map(|e| match e {
        Effect::Request(Request::Page {
            generation,
            anchor,
            search,
            filter,
            ..
        }) => Some((
            *generation,
            *anchor,
            search.as_ref().map(|s| s.query.clone()),
            filter.statuses.clone(),
        )),
        _ => None,
    })
}

fn tail(rows: Vec<vmware_policy::audit::AuditRow>) -> Action {
    Action::Data(Box::new(Response::Tail {
        rows: live(rows),
        rotated: false,
        more: false,
    }))
}

#[test]
fn starts_by_asking_for_the_newest_rows_and_the_overview() {
    let mut app = super::state::App::new("db".into(), rules(), now(), false);
    let fx = app.start();
    assert!(fx.contains(&Effect::Request(Request::Overview)));
    let (generation, anchor, _, _) = page_request(&fx).expect("a page request");
    assert_eq!((generation, anchor), (app.generation, Anchor::Newest));
}

#[test]
fn follows_new_rows_at_the_bottom() {
    let mut app = app_with(sample_rows(), 120, 40);
    assert!(app.stream.follow);
    assert_eq!(app.stream.selected_row().unwrap().id, 30);
    app.update(tail(vec![row(31, "avi", "list_pools", "ok")]));
    assert_eq!(app.stream.selected_row().unwrap().id, 31);
    assert_eq!(app.total_rows, Some(1_234_568), "every new row is counted");
}

#[test]
fn scrolling_up_pauses_and_counts_what_waits_then_end_resumes() {
    let mut app = app_with(sample_rows(), 120, 40);
    app.update(Action::Up);
    assert!(!app.stream.follow);
    let at = app.stream.selected_row().unwrap().id;
    app.update(tail(vec![
        row(31, "avi", "list_pools", "ok"),
        row(32, "avi", "list_pools", "ok"),
    ]));
    assert_eq!(app.stream.pending, 2);
    assert_eq!(
        app.stream.selected_row().unwrap().id,
        at,
        "the operator's place is kept"
    );
    app.update(Action::Follow);
    assert!(app.stream.follow);
    assert_eq!(app.stream.pending, 0);
    assert_eq!(app.stream.selected_row().unwrap().id, 32);
}

#[test]
fn live_rows_that_do_not_match_the_filters_are_not_shown() {
    let mut app = app_with(sample_rows(), 120, 40);
    app.update(Action::DeniedOnly);
    let generation = app.generation;
    app.update(Action::Data(Box::new(Response::Page {
        generation,
        anchor: Anchor::Newest,
        rows: live(vec![row(2, "vsphere", "delete_vm", "denied")]),
        edge: at(1),
        exhausted: true,
        took_ms: 1,
    })));
    app.update(tail(vec![
        row(31, "avi", "list_pools", "ok"),
        row(32, "vsphere", "delete_vm", "denied"),
    ]));
    let ids: Vec<i64> = app.stream.rows.iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![2, 32]);
}

#[test]
fn denied_only_toggles_and_refetches() {
    let mut app = app_with(sample_rows(), 120, 40);
    let before = app.generation;
    let fx = app.update(Action::DeniedOnly);
    let (generation, anchor, _, statuses) = page_request(&fx).unwrap();
    assert!(generation > before);
    assert_eq!(anchor, Anchor::Newest);
    assert_eq!(statuses, vec!["denied".to_string()]);
    let fx = app.update(Action::DeniedOnly);
    assert!(
        page_request(&fx).unwrap().3.is_empty(),
        "pressed again: all statuses"
    );
}

#[test]
fn an_answer_for_old_filters_is_dropped() {
    let mut app = app_with(sample_rows(), 120, 40);
    let old = app.generation;
    app.update(Action::DeniedOnly);
    app.update(Action::Data(Box::new(Response::Page {
        generation: old,
        anchor: Anchor::Newest,
        rows: live(vec![row(99, "x", "stale", "ok")]),
        edge: at(1),
        exhausted: true,
        took_ms: 1,
    })));
    assert!(app.stream.rows.iter().all(|r| r.tool != "stale"));
}

#[test]
fn picker_narrows_by_fuzzy_typing_and_applies_several_values() {
    let mut app = app_with(sample_rows(), 120, 40);
    app.update(Action::OpenPicker(Column::Status));
    app.update(Action::Input('e'));
    app.update(Action::Input('r'));
    app.update(Action::Input('r'));
    let Overlay::Picker(p) = &app.overlay else {
        panic!("no picker")
    };
    assert_eq!(p.values[p.shown[0]].0, "error");
    app.update(Action::Toggle);
    app.update(Action::Erase);
    app.update(Action::Erase);
    app.update(Action::Erase);
    app.update(Action::Down); // ok, denied, error: the cursor on denied
    app.update(Action::Toggle);
    let fx = app.update(Action::Confirm);
    assert_eq!(app.overlay, Overlay::None);
    let mut statuses = page_request(&fx).unwrap().3;
    statuses.sort();
    assert_eq!(statuses, vec!["denied".to_string(), "error".to_string()]);
    assert_eq!(
        app.filters.describe()[0],
        ("status".to_string(), "denied,error".to_string())
    );
}

#[test]
fn enter_on_a_value_picks_it_and_esc_cancels() {
    let mut app = app_with(sample_rows(), 120, 40);
    app.update(Action::OpenPicker(Column::Skill));
    app.update(Action::Back);
    assert!(app.filters.skills.is_empty());
    app.update(Action::OpenPicker(Column::Skill));
    app.update(Action::Down);
    app.update(Action::Confirm);
    assert_eq!(app.filters.skills, vec!["avi".to_string()]);
    app.update(Action::ClearFilters);
    assert!(app.filters.is_empty());
}

#[test]
fn search_is_typed_then_applied_to_pages_and_live_rows() {
    let mut app = app_with(sample_rows(), 120, 40);
    app.update(Action::Search);
    for c in "delvm".chars() {
        app.update(Action::Input(c));
    }
    let fx = app.update(Action::Confirm);
    assert_eq!(page_request(&fx).unwrap().2.as_deref(), Some("delvm"));
    let generation = app.generation;
    app.update(Action::Data(Box::new(Response::Page {
        generation,
        anchor: Anchor::Newest,
        rows: live(vec![row(2, "vsphere", "delete_vm", "denied")]),
        edge: at(1),
        exhausted: true,
        took_ms: 1,
    })));
    app.update(tail(vec![
        row(31, "avi", "list_pools", "ok"),
        row(32, "vsphere", "delete_vm", "ok"),
    ]));
    let ids: Vec<i64> = app.stream.rows.iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![2, 32]);
}

#[test]
fn enter_opens_the_selected_row_and_esc_goes_back() {
    let mut app = app_with(sample_rows(), 120, 40);
    app.update(Action::Up);
    app.update(Action::Confirm);
    let Overlay::Detail(d) = &app.overlay else {
        panic!("no detail")
    };
    assert_eq!(d.row.id, 29);
    app.update(Action::Down);
    app.update(Action::Back);
    assert_eq!(app.overlay, Overlay::None);
}

#[test]
fn tab_shows_stats_for_the_same_filters() {
    let mut app = app_with(sample_rows(), 120, 40);
    app.update(Action::DeniedOnly);
    let fx = app.update(Action::NextPane);
    assert_eq!(app.pane, Pane::Stats);
    let stats = fx.iter().find_map(|e| match e {
        Effect::Request(Request::Stats { filter, .. }) => Some(filter.clone()),
        _ => None,
    });
    assert_eq!(stats.unwrap().statuses, vec!["denied".to_string()]);
}

#[test]
fn the_window_of_rows_stays_bounded_while_paging_back() {
    let mut app = app_with(Vec::new(), 120, 40);
    let generation = app.generation;
    let page = |from: i64| {
        (from..from + PAGE as i64)
            .map(|i| Row::new(0, row(i, "s", "t", "ok")))
            .collect()
    };
    let mut next = 1_000_000 - PAGE as i64;
    app.update(Action::Data(Box::new(Response::Page {
        generation,
        anchor: Anchor::Newest,
        rows: page(next),
        edge: at(next),
        exhausted: false,
        took_ms: 1,
    })));
    for _ in 0..200 {
        let fx = app.update(Action::PageUp);
        if let Some((_, Anchor::Before(edge), _, _)) = page_request(&fx) {
            assert_eq!(edge, at(next), "pages continue where the last one ended");
            next -= PAGE as i64;
            app.update(Action::Data(Box::new(Response::Page {
                generation,
                anchor: Anchor::Before(edge),
                rows: page(next),
                edge: at(next),
                exhausted: false,
                took_ms: 1,
            })));
        }
        assert!(
            app.stream.rows.len() <= CAP + PAGE,
            "{}",
            app.stream.rows.len()
        );
    }
    assert!(
        next < 1_000_000 - 10 * PAGE as i64,
        "paged back through many pages"
    );
    assert!(!app.stream.at_newest && !app.stream.follow);
    // Ids in the window are consecutive pages: no gap, no repeat.
    let ids: Vec<i64> = app.stream.rows.iter().map(|r| r.id).collect();
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1));
}

#[test]
fn a_missing_database_is_retried_on_the_timer() {
    let mut app = app_with(Vec::new(), 120, 40);
    app.update(Action::Data(Box::new(Response::Problem(
        DbProblem::Missing("none".into()),
    ))));
    let fx = app.update(Action::Tick(now(), Box::new(rules())));
    assert!(page_request(&fx).is_some(), "asks again");
    let generation = app.generation;
    app.update(Action::Data(Box::new(Response::Page {
        generation,
        anchor: Anchor::Newest,
        rows: live(sample_rows()),
        edge: at(1),
        exhausted: true,
        took_ms: 1,
    })));
    assert!(app.problem.is_none());
}

#[test]
fn file_events_coalesce_into_one_tail_at_a_time() {
    let mut app = app_with(sample_rows(), 120, 40);
    let fx = app.update(Action::DbChanged);
    assert_eq!(fx, vec![Effect::Request(Request::Tail)]);
    assert!(app.update(Action::DbChanged).is_empty(), "one in flight");
    let fx = app.update(tail(Vec::new()));
    assert_eq!(
        fx,
        vec![Effect::Request(Request::Tail)],
        "the one asked meanwhile"
    );
}

#[test]
fn resize_changes_how_many_rows_show() {
    let mut app = app_with(sample_rows(), 120, 40);
    let tall = app.stream.height;
    app.update(Action::Resize(80, 24));
    assert!(app.stream.height < tall);
    assert!(app.stream.selected >= app.stream.top);
    assert!(app.stream.selected < app.stream.top + app.stream.height);
}

#[test]
fn a_rotation_starts_the_stream_over_on_the_new_file() {
    let mut app = app_with(sample_rows(), 120, 40);
    let before = app.generation;
    let fx = app.update(Action::Data(Box::new(Response::Tail {
        rows: live(vec![row(1, "avi", "list_pools", "ok")]),
        rotated: true,
        more: false,
    })));
    let (generation, anchor, _, _) = page_request(&fx).expect("a new first page");
    assert!(generation > before);
    assert_eq!(anchor, Anchor::Newest);
    assert!(fx.contains(&Effect::Request(Request::Overview)), "recount");
    assert!(
        app.stream.rows.is_empty(),
        "ids of the old file are not mixed with the new"
    );
}

#[test]
fn a_click_selects_the_row_under_it_and_pauses() {
    let mut app = app_with(sample_rows(), 120, 40);
    let top = app.stream.top;
    // Header (2), filter bar (1), the stream's border and column header: the
    // first row is on terminal row 5.
    app.update(Action::Click(5 + 2));
    assert_eq!(app.stream.selected, top + 2);
    assert!(!app.stream.follow, "a click pauses, as scrolling does");
    let chosen = app.stream.selected;
    for y in [0, 3, 4, 39] {
        app.update(Action::Click(y));
        assert_eq!(
            app.stream.selected, chosen,
            "row {y} is not a row of the stream"
        );
    }
    // The mouse event becomes that action through the keymap (the table is data).
    let map = super::keymap::bindings();
    let click = crossterm::event::MouseEvent {
        kind: crossterm::event::MouseEventKind::Down(crossterm::event::MouseButton::Left),
        column: 10,
        row: 9,
        modifiers: crossterm::event::KeyModifiers::NONE,
    };
    use super::keymap::{Context, action_for_mouse};
    assert_eq!(
        action_for_mouse(&map, Context::Stream, click),
        Some(Action::Click(9))
    );
    assert_eq!(action_for_mouse(&map, Context::Detail, click), None);
}

#[test]
fn rows_come_first_and_the_counts_follow_with_the_index_build_said() {
    let mut app = super::state::App::new("db".into(), rules(), now(), false);
    let fx = app.start();
    let page = fx
        .iter()
        .position(|e| matches!(e, Effect::Request(Request::Page { .. })));
    let overview = fx
        .iter()
        .position(|e| *e == Effect::Request(Request::Overview));
    assert!(
        page.unwrap() < overview.unwrap(),
        "the page is asked first: {fx:?}"
    );
    app.update(Action::Data(Box::new(Response::Indexing {
        done: 400_000,
        total: 1_000_000,
    })));
    let text = super::view::tests::render(&app, 120, 40)
        .backend()
        .to_string();
    assert!(text.contains("indexing 40%"), "{text}");
    // The last report of a part built for a page (done = total) ends it.
    app.update(Action::Data(Box::new(Response::Indexing {
        done: 1_000_000,
        total: 1_000_000,
    })));
    let text = super::view::tests::render(&app, 120, 40)
        .backend()
        .to_string();
    assert!(!text.contains("indexing"), "{text}");
    app.update(Action::Data(Box::new(Response::Indexing {
        done: 400_000,
        total: 1_000_000,
    })));
    app.update(Action::Data(Box::new(Response::Overview(Ok(
        vmware_policy::audit::Stats::default(),
    )))));
    let text = super::view::tests::render(&app, 120, 40)
        .backend()
        .to_string();
    assert!(!text.contains("indexing"), "{text}");
}
