//! A real terminal for the TUI tests: tmux at 120x40 running a command in a
//! home, keys sent and the screen read back as an operator would see it.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux server of its own (`-L`), killed on drop.
pub struct Tmux {
    pub name: String,
}

impl Tmux {
    pub fn start(home: &Path, cmd: &str) -> Tmux {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("vmware-audit-test-{}-{n}", std::process::id());
        let ok = Command::new("tmux")
            .args([
                "-L",
                &name,
                "new-session",
                "-d",
                "-s",
                &name,
                "-x",
                "120",
                "-y",
                "40",
            ])
            .arg(format!(
                "cd {} && {cmd}; echo EXITED:$?; sleep 600",
                home.display()
            ))
            .env("OPS_HOME", home)
            .env("TERM", "xterm-256color")
            .status()
            .unwrap_or_else(|e| panic!("tmux is needed for this test (apt-get install tmux): {e}"));
        assert!(ok.success());
        let t = Tmux { name };
        t.cmd(&["set", "-g", "escape-time", "0"]);
        t
    }

    pub fn cmd(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.name])
            .args(args)
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.cmd(&["send-keys", "-t", &self.name, k]);
            std::thread::sleep(Duration::from_millis(80));
        }
    }

    pub fn screen(&self) -> String {
        self.cmd(&["capture-pane", "-p", "-t", &self.name])
    }

    /// Wait until `pred` holds for the screen; panics with the screen after `secs`.
    pub fn wait(&self, what: &str, secs: u64, pred: impl Fn(&str) -> bool) -> String {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            assert!(
                Instant::now() < end,
                "timed out waiting for {what}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.name, "kill-server"])
            .status();
    }
}

/// The data lines of the stream table (between its column header and the bottom border).
pub fn table_lines(screen: &str) -> Vec<&str> {
    screen
        .lines()
        .skip_while(|l| !l.starts_with("Time (UTC)"))
        .skip(1)
        .take_while(|l| !l.starts_with('─'))
        .filter(|l| !l.trim().is_empty())
        .collect()
}
