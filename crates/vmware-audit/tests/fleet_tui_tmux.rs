//! The TUI on the fleet (`--source postgres://`) in a real terminal (tmux):
//! two hosts' skills writing and shipping while it runs, their rows arriving
//! live in one stream with a Host column, and the host picker narrowing it.

mod common;

use std::process::{Child, Command, Stdio};

use common::pg::{Pg, SUPER_PASSWORD};
use common::tmux::{Tmux, table_lines};
use common::{Home, Reap, skill_cmd};

fn ship(home: &Home, url: &str, host: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_vmware-audit"))
        .args(["ship", "--to", url, "--host-id", host])
        .env("OPS_HOME", home.path())
        .env("PGPASSWORD", SUPER_PASSWORD)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn host_of(line: &str) -> &str {
    line.split_whitespace().nth(2).unwrap_or("")
}

#[test]
fn two_hosts_arrive_live_and_the_host_picker_narrows() {
    let pg = Pg::start();
    pg.create_db("fleet");
    let url = pg.url("postgres", "fleet");
    let bin = env!("CARGO_BIN_EXE_vmware-audit");
    let out = Command::new(bin)
        .args(["ship", "--init-schema", "--to", &url])
        .env("PGPASSWORD", SUPER_PASSWORD)
        .output()
        .unwrap();
    assert!(out.status.success());
    let homes = [Home::new(), Home::new()];
    let mut children = Reap::default();
    for (home, host) in homes.iter().zip(["web-a", "web-b"]) {
        home.write_rules("deny: []\n");
        children.0.push(
            skill_cmd(
                home.path(),
                &[
                    "list_dfw_policies",
                    &format!("from={host}"),
                    "--repeat",
                    "600",
                    "--interval-ms",
                    "50",
                ],
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        );
        children.0.push(ship(home, &url, host));
    }
    let viewer = Home::new();
    let tmux = Tmux::start(
        viewer.path(),
        &format!("PGPASSWORD={SUPER_PASSWORD} {bin} --source {url} tui"),
    );
    let screen = tmux.wait("rows of both hosts", 20, |s| {
        let lines = table_lines(s);
        lines.iter().any(|l| host_of(l) == "web-a") && lines.iter().any(|l| host_of(l) == "web-b")
    });
    assert!(screen.contains("Host"), "{screen}");
    assert!(
        screen.contains("● LIVE") && screen.contains("db fleet postgres://"),
        "{screen}"
    );
    // Live: the newest row changes as the hosts keep writing.
    let newest = |s: &str| table_lines(s).last().map(|l| l.to_string());
    let before = newest(&screen);
    tmux.wait("new rows", 10, |s| newest(s) != before);
    // The host picker: H, type, Space, Enter.
    tmux.keys(&["H"]);
    tmux.wait("the host picker", 10, |s| s.contains("Filter by host"));
    tmux.keys(&["w", "e", "b", "-", "b", "Space", "Enter"]);
    let screen = tmux.wait("only web-b", 10, |s| {
        s.contains("host=web-b") && !table_lines(s).is_empty()
    });
    for line in table_lines(&screen) {
        assert_eq!(host_of(line), "web-b", "{line}");
    }
    // And stays so as rows keep arriving.
    let before = newest(&screen);
    let screen = tmux.wait("new web-b rows", 10, |s| newest(s) != before);
    for line in table_lines(&screen) {
        assert_eq!(host_of(line), "web-b", "{line}");
    }
    tmux.keys(&["q"]);
    tmux.wait("the exit", 10, |s| s.contains("EXITED:0"));
    drop(children);
}
