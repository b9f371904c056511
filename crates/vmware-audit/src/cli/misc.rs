//! The small commands: shell completions, the man page, generating a database,
//! building the derived structures of a large one.

use clap::CommandFactory;
use std::io::Write;
use vmware_policy::audit::{History, conn, generate, sidecar};

use super::args::{Cli, GenerateArgs};
use super::common::Ctx;
use super::output;

pub fn completions(shell: clap_complete::Shell) -> i32 {
    clap_complete::generate(
        shell,
        &mut Cli::command(),
        "vmware-audit",
        &mut std::io::stdout(),
    );
    0
}

pub fn man() -> i32 {
    let mut page = Vec::new();
    let rendered = clap_mangen::Man::new(Cli::command()).render(&mut page);
    if let Err(e) = rendered {
        return output::fail(&format!("cannot write the man page: {e}"));
    }
    for (title, body) in [
        ("EXIT STATUS", super::args::EXIT_STATUS),
        ("ENVIRONMENT", super::args::ENVIRONMENT),
        ("FILES", super::args::FILES),
    ] {
        page.extend_from_slice(format!(".SH \"{title}\"\n.nf\n").as_bytes());
        for line in body.lines() {
            // roff: a line starting with . or ' is a request; \ escapes.
            let line = line.replace('\\', "\\e");
            let line = if line.starts_with(['.', '\'']) {
                format!("\\&{line}")
            } else {
                line
            };
            page.extend_from_slice(line.as_bytes());
            page.push(b'\n');
        }
        page.extend_from_slice(b".fi\n");
    }
    match std::io::stdout().write_all(&page) {
        Ok(()) => 0,
        Err(e) => output::fail(&format!("cannot write the man page: {e}")),
    }
}

pub fn generate(ctx: &Ctx, a: &GenerateArgs) -> i32 {
    let end = match &a.end {
        None => chrono::Utc::now(),
        Some(s) => match chrono::DateTime::parse_from_rfc3339(s) {
            Ok(t) => t.with_timezone(&chrono::Utc),
            Err(e) => return output::fail(&format!("--end {s:?} is not an RFC 3339 time ({e})")),
        },
    };
    match generate::generate(&ctx.db, a.rows, a.days, a.seed, end) {
        Ok(()) => {
            println!(
                "wrote {} rows over {} days to {}",
                a.rows,
                a.days,
                ctx.db.display()
            );
            0
        }
        Err(e) => output::fail(&format!("cannot generate into {}: {e}", ctx.db.display())),
    }
}

/// Bring the sidecar index of the live file and of every archive up to date
/// (what the first `stats` would do), and drop what older versions derived in
/// the shared file. Never holds the shared file's write lock for longer than
/// that one short drop.
pub fn optimize(ctx: &Ctx) -> i32 {
    if !ctx.db.exists() {
        return output::fail(&format!("no audit database at {}", ctx.db.display()));
    }
    let legacy = conn::open_writer(&ctx.db, conn::Durability::Full);
    if let Err(e) = legacy {
        return output::fail(&format!("cannot optimize {}: {e}", ctx.db.display()));
    }
    let history = match History::open(&ctx.db, true) {
        Ok(h) => h,
        Err(e) => return output::fail(&format!("cannot read {}: {e}", ctx.db.display())),
    };
    let mut built = 0;
    for reader in history.readers() {
        let mut line = super::progress::ProgressLine::new(reader.path());
        if sidecar::Sidecar::refreshed(reader, &mut |d, t| line.tell(d, t)).is_some() {
            built += 1;
        }
    }
    println!(
        "{}: sidecar index up to date for {built} of {} files in {}",
        ctx.db.display(),
        history.readers().len(),
        sidecar::dir_for(&ctx.db).display()
    );
    0
}
