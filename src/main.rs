//! `vmware-audit`, the operator's binary. The headless commands and the terminal
//! UI arrive in their own issues; for now it runs the demo.

mod cli;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "vmware-audit",
    version,
    about = "Audit log and policy for AI agents operating VMware"
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run simulated agent calls through the real guard in a temporary home and show the rows.
    Demo,
}

fn main() {
    let args = Args::parse();
    let code = match args.command.unwrap_or(Command::Demo) {
        Command::Demo => cli::demo::run(),
    };
    std::process::exit(code);
}
