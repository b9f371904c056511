//! `vmware-audit`, the operator's binary: headless commands over the audit log
//! and the rules, shared with the terminal UI through the library.

mod cli;
mod config;
mod fleet;
mod seal;
mod signed_rules;
mod tui;

use clap::Parser;
use cli::args::{Cli, Command};
use cli::common::Ctx;

fn main() {
    // `vmware-audit log | head`: a reader that goes away ends the command
    // quietly, as for any Unix filter, instead of a "Broken pipe" panic.
    // SAFETY: setting a signal disposition at start-up, before any thread.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    vmware_policy::redact::install_panic_hook();
    // `change_limits` is shown by the TUI's header and `rules validate`; a
    // stderr line would land on the TUI's screen.
    vmware_policy::policy::set_load_notices(false);
    let cli = Cli::parse();
    // A home that cannot be resolved (`OPS_HOME=~nobody/x`) is not guessed at:
    // the skills deny every call on it, and nothing here should read or
    // create files under a literal `~nobody`.
    let needs_home = !matches!(
        cli.command,
        Command::Completions { .. } | Command::Man | Command::Demo | Command::Config
    ) && !matches!(&cli.command, Command::Tui(a) if a.demo)
        && (cli.db.is_none() || cli.rules.is_none());
    if needs_home && let Err(why) = vmware_policy::home::try_ops_home() {
        eprintln!("vmware-audit: {why} (or pass --db and --rules)");
        std::process::exit(2);
    }
    let ctx = Ctx::new(&cli);
    let code = match &cli.command {
        Command::Log(a) => cli::log::run(&ctx, a),
        Command::Export(a) => cli::export::run(&ctx, a),
        Command::Stats(a) => cli::stats::run(&ctx, a),
        Command::Policy(a) => cli::policy::run(&ctx, a),
        Command::Rules(c) => cli::rules::run(&ctx, c),
        Command::Optimize => cli::misc::optimize(&ctx),
        Command::Generate(a) => cli::misc::generate(&ctx, a),
        Command::Config => cli::config::run(),
        Command::Seal(a) => cli::seal::seal(&ctx, a),
        Command::Verify(a) => cli::seal::verify(&ctx, a),
        Command::Ship(a) => cli::ship::run(&ctx, a),
        Command::Completions { shell } => cli::misc::completions(*shell),
        Command::Man => cli::misc::man(),
        Command::Tui(a) if a.demo => cli::demo::run(&ctx, cli.db.clone(), cli.rules.clone()),
        Command::Tui(a) => match tui_filter(a)
            .and_then(|f| ctx.local_filter(&f).map(|_| f))
            .and_then(|f| Ok((f, ctx.fleet_target()?)))
        {
            Ok((filter, source)) => tui::run(tui::Options {
                db: ctx.db.clone(),
                rules: ctx.rules.clone(),
                color: ctx.color,
                edit: a.edit,
                filter,
                archives: a.filter.archives,
                source,
            }),
            Err(e) => cli::output::fail(&e),
        },
        Command::Demo => cli::demo::run(&ctx, cli.db.clone(), cli.rules.clone()),
    };
    std::process::exit(code);
}

/// `tui`'s start-up filters, from the flags `log` takes.
fn tui_filter(a: &cli::args::TuiArgs) -> Result<vmware_policy::audit::Filter, String> {
    a.filter.to_filter()
}
