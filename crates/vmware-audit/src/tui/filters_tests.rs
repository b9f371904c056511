//! Filters on every column, and their inverse: driven by actions, no terminal.

use super::action::{Action, Column, Effect};
use super::data::{Request, Response};
use super::state::Overlay;
use super::view::tests::{app_with, at, live, row, sample_rows};
use vmware_policy::audit::{AuditRow, Filter, Stats};

fn filter_of(fx: &[Effect]) -> Option<Filter> {
    fx.iter().find_map(|e| match e {
        Effect::Request(Request::Page { filter, .. }) => Some(filter.clone()),
        _ => None,
    })
}

fn by(agent: &str, id: i64) -> AuditRow {
    AuditRow {
        agent: agent.into(),
        ..row(id, "vsphere", "list_vms", "ok")
    }
}

#[test]
fn a_bang_in_the_agent_picker_excludes_what_is_chosen() {
    let mut app = app_with(sample_rows(), 120, 40);
    app.update(Action::Data(Box::new(Response::Overview(Ok(Stats {
        by_agent: vec![("claude-code".into(), 900), ("codex".into(), 100)],
        ..Stats::default()
    })))));
    app.update(Action::OpenPicker(Column::Agent));
    for c in "!clau".chars() {
        app.update(Action::Input(c));
    }
    let Overlay::Picker(p) = &app.overlay else {
        panic!("no picker")
    };
    assert!(p.inverse());
    assert_eq!(
        p.values[p.shown[0]].0, "claude-code",
        "ranked without the !"
    );
    app.update(Action::Toggle);
    let fx = app.update(Action::Confirm);
    let f = filter_of(&fx).expect("the stream is read again");
    assert_eq!(f.not_agents, vec!["claude-code".to_string()]);
    assert!(f.agents.is_empty());
    // The filter bar shows what is excluded.
    assert!(
        app.filters
            .describe()
            .contains(&("agent".to_string(), "!claude-code".to_string()))
    );
    // The page the worker answers with, then live rows: they obey it too.
    app.update(Action::Data(Box::new(Response::Page {
        generation: app.generation,
        anchor: super::data::Anchor::Newest,
        rows: live(vec![by("codex", 30)]),
        edge: at(1),
        exhausted: true,
        took_ms: 1,
    })));
    app.update(Action::Data(Box::new(Response::Tail {
        rows: live(vec![by("claude-code", 31), by("codex", 32)]),
        rotated: false,
        more: false,
    })));
    let agents: Vec<&str> = app.stream.rows.iter().map(|r| r.agent.as_str()).collect();
    assert!(agents.contains(&"codex") && !agents.contains(&"claude-code"));
    // Opened again, the picker is as it was left: `!` and the value chosen.
    app.update(Action::OpenPicker(Column::Agent));
    let Overlay::Picker(p) = &app.overlay else {
        panic!("no picker")
    };
    assert_eq!(p.query, "!");
    assert!(p.chosen.contains("claude-code"));
}

#[test]
fn keeping_values_again_drops_the_exclusion_of_that_column() {
    let mut app = app_with(sample_rows(), 120, 40);
    app.filters.exclude(Column::Skill, vec!["avi".into()]);
    app.update(Action::OpenPicker(Column::Skill));
    app.update(Action::Erase); // the `!` gone: keep, not exclude
    app.update(Action::Confirm);
    assert!(app.filters.excluded(Column::Skill).is_empty());
    assert_eq!(app.filters.skills.len(), 1);
}

#[test]
fn the_user_picker_asks_for_the_users_and_fills_in_when_they_come() {
    let mut app = app_with(sample_rows(), 120, 40);
    let fx = app.update(Action::OpenPicker(Column::User));
    assert!(fx.contains(&Effect::Request(Request::UserValues)));
    app.update(Action::Data(Box::new(Response::UserValues(Ok(vec![
        ("alice".into(), 20),
        ("token:ci-bot".into(), 3),
    ])))));
    let Overlay::Picker(p) = &app.overlay else {
        panic!("no picker")
    };
    assert_eq!(p.values.len(), 2);
    app.update(Action::Down);
    let fx = app.update(Action::Confirm);
    assert_eq!(
        filter_of(&fx).unwrap().users,
        vec!["token:ci-bot".to_string()]
    );
}

#[test]
fn risk_has_its_picker_and_every_column_a_key() {
    let map = super::keymap::bindings();
    for c in Column::ALL {
        assert!(
            map.iter().any(|b| b.action == Action::OpenPicker(c)),
            "no key opens the {} picker",
            c.label()
        );
    }
}

#[test]
fn the_host_picker_is_the_fleets_and_filters_by_host() {
    use super::state::Overlay;
    let mut app = app_with(sample_rows(), 120, 40);
    app.update(Action::OpenPicker(Column::Host));
    assert_eq!(app.overlay, Overlay::None);
    assert!(app.notice.as_deref().unwrap().contains("--source"));
    // On the fleet: the hosts present, and a choice becomes the filter.
    app.fleet = true;
    app.update(Action::Data(Box::new(Response::Overview(Ok(Stats {
        total: 30,
        by_host: vec![("web-a".into(), 20), ("web-b".into(), 10)],
        ..Stats::default()
    })))));
    app.update(Action::OpenPicker(Column::Host));
    for c in "web-b".chars() {
        app.update(Action::Input(c));
    }
    app.update(Action::Toggle);
    let fx = app.update(Action::Confirm);
    let f = filter_of(&fx).expect("the stream is read again");
    assert_eq!(f.hosts, vec!["web-b".to_string()]);
    let live = |host: &str| AuditRow {
        host: host.into(),
        ..row(40, "vsphere", "list_vms", "ok")
    };
    assert!(app.selects(&live("web-b")) && !app.selects(&live("web-a")));
    let text = super::view::tests::render(&app, 160, 30)
        .backend()
        .to_string();
    assert!(text.contains("host=web-b"), "{text}");
}
