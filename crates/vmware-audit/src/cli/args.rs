//! The command line, as data (clap derive). The flags of the Python CLI keep
//! their names and meaning; the rest extends them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exit status, environment and files: in `--help` and, as their own
/// sections, in the man page (`man` renders them from these constants).
pub const EXIT_STATUS: &str = "\
0  success (and, for `policy -o`, the call would be allowed)
1  a finding: `rules validate` found errors; `policy` with --exit-code: the call
   would be denied; `policy`/`rules show`: the rules file does not load (every
   call is denied)
2  the command could not do its job: a usage error (clap's), a value out of
   range, a missing, locked or unreadable database, an unresolvable home";

pub const ENVIRONMENT: &str = "\
OPS_HOME                home of audit.db and rules.yaml (default ~/.vmware; `~`
                        and `~user` expanded as Python does, from the passwd
                        entry when HOME is unset)
VMWARE_POLICY_DISABLED  1: policy bypassed (calls audited as *_bypassed)
NO_COLOR                no colour, whatever --color auto would choose
COLUMNS                 table width when output is not a terminal";

pub const FILES: &str = "\
$OPS_HOME/audit.db            the shared audit log (SQLite, WAL), 0600
$OPS_HOME/audit.*.db          rotated archives (ours: audit.<stamp>.rs[-N].db)
$OPS_HOME/rules.yaml          the shared rules, 0600
$OPS_HOME/rules.yaml.*.bak    the last 5 versions replaced by a save
$OPS_HOME/seal.key, seal.pub  the sealing key (0600) and its verifier key
$OPS_HOME/seal/               sealed leaves and signed checkpoints, per database file
$XDG_CONFIG_HOME/vmware-audit/config.toml  the TUI's keys, theme and saved filters
                              (default ~/.config/...; `vmware-audit config` shows it)";

#[derive(Parser)]
#[command(
    name = "vmware-audit",
    version,
    about = "Audit log and policy for AI agents operating VMware",
    max_term_width = 100,
    after_help = concat!(
        "Exit status:\n",
        "  0  success; 1  a finding (validate errors, a denial with --exit-code, rules that do not load);\n",
        "  2  could not do the job (usage error, value out of range, database or home unusable).\n",
        "Environment: OPS_HOME, VMWARE_POLICY_DISABLED, NO_COLOR, COLUMNS.  Files: $OPS_HOME/audit.db,\n",
        "$OPS_HOME/rules.yaml.  The man page (`vmware-audit man`) has EXIT STATUS, ENVIRONMENT and FILES in full."
    )
)]
pub struct Cli {
    /// The audit database [default: $OPS_HOME/audit.db, else ~/.vmware/audit.db]
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// The rules file [default: $OPS_HOME/rules.yaml, else ~/.vmware/rules.yaml]
    #[arg(long, global = true, value_name = "PATH")]
    pub rules: Option<PathBuf>,
    /// Show times in local time instead of UTC
    #[arg(long, global = true)]
    pub local: bool,
    /// Colour: auto (a terminal, and NO_COLOR unset), always, never
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Read the fleet instead of this host's files (log, export, stats, tui):
    /// postgres://user@host:5432/db[?sslmode=require&sslrootcert=CA.pem]; the
    /// password comes from PGPASSWORD or ~/.pgpass, never from here
    #[arg(long, global = true, env = "VMWARE_AUDIT_SOURCE", value_name = "URL")]
    pub source: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand)]
pub enum Command {
    /// Show recent audit log entries (oldest first, newest at the bottom)
    Log(LogArgs),
    /// Export audit rows (JSON array by default; streamed, whatever the count)
    Export(ExportArgs),
    /// Totals by status, skill, tool, agent and risk, and calls over time
    Stats(StatsArgs),
    /// Which rules are in force, and what they do to an operation
    Policy(PolicyArgs),
    /// Validate, create or show the rules file
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Build the sidecar index of the database and its archives ahead of the
    /// first `stats` (never holds the database's write lock)
    Optimize,
    /// Write a realistic, deterministic database (for trying things out and benchmarks)
    Generate(GenerateArgs),
    /// Print the TUI's effective configuration (config.toml: keys, theme, saved
    /// filters), where it is read from, and what is wrong in it (exit 1)
    Config,
    /// Seal the audit log: extend each file's Merkle tree with the rows added
    /// since the last seal and sign a checkpoint of it (C2SP signed note)
    Seal(SealArgs),
    /// Check every sealed row against its signed checkpoints; exit 1 naming the
    /// first row changed, deleted or inserted, or the checkpoint that is wrong
    Verify(VerifyArgs),
    /// Send this host's audit rows (live file and archives) to the fleet's
    /// PostgreSQL, exactly once; runs until SIGTERM (or --once)
    Ship(ShipArgs),
    /// Print shell completions
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff)
    Man,
    /// The interactive terminal UI: live audit stream, filters, stats, detail
    Tui(TuiArgs),
    /// See it live: a temporary home, demo rules, simulated agents calling tools
    /// through the real guard, and the TUI on it (without a terminal: the rows)
    Demo,
}

#[derive(Args, Clone, Default)]
pub struct TuiArgs {
    /// Run on a temporary demo home with simulated agents (as `vmware-audit demo`)
    #[arg(long)]
    pub demo: bool,
    /// Open the rule editor at once
    #[arg(long)]
    pub edit: bool,
    /// Start with these filters (the same flags as `log`)
    #[command(flatten)]
    pub filter: FilterArgs,
}

/// Which rows; a flag given twice means either value. Also what a saved
/// filter in config.toml holds, under the same names (`not_agent`).
#[derive(Args, Clone, Default, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FilterArgs {
    /// Only this skill (repeatable)
    #[arg(long, value_name = "NAME")]
    pub skill: Vec<String>,
    /// Only this tool (repeatable)
    #[arg(long, value_name = "NAME")]
    pub tool: Vec<String>,
    /// Only this status: ok, denied, error, dry_run, interrupted, ... (repeatable)
    #[arg(long, value_name = "STATUS")]
    pub status: Vec<String>,
    /// Only this workflow id (repeatable)
    #[arg(long = "workflow-id", value_name = "ID")]
    pub workflow_id: Vec<String>,
    /// Entries at or after this time: 2026-11-21, 2026-11-21T20:00:00Z, or 15m / 2h / 7d ago
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Entries before this time (same forms as --since)
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,
    /// Only this entry point: mcp-stdio, mcp-https, mcp-http-loopback, cli, daemon (repeatable)
    #[arg(long, value_name = "SURFACE")]
    pub surface: Vec<String>,
    /// Only this caller trace id (repeatable)
    #[arg(long = "correlation-id", value_name = "ID")]
    pub correlation_id: Vec<String>,
    /// Only this agent: claude, codex, local, deerflow, unknown (repeatable)
    #[arg(long, value_name = "NAME")]
    pub agent: Vec<String>,
    /// Only this user (repeatable)
    #[arg(long, value_name = "NAME")]
    pub user: Vec<String>,
    /// Only this risk level (repeatable)
    #[arg(long, value_name = "LEVEL")]
    pub risk: Vec<String>,
    /// Leave out this status (repeatable)
    #[arg(long = "not-status", value_name = "STATUS")]
    pub not_status: Vec<String>,
    /// Leave out this skill (repeatable)
    #[arg(long = "not-skill", value_name = "NAME")]
    pub not_skill: Vec<String>,
    /// Leave out this tool (repeatable)
    #[arg(long = "not-tool", value_name = "NAME")]
    pub not_tool: Vec<String>,
    /// Leave out this agent (repeatable)
    #[arg(long = "not-agent", value_name = "NAME")]
    pub not_agent: Vec<String>,
    /// Leave out this user (repeatable)
    #[arg(long = "not-user", value_name = "NAME")]
    pub not_user: Vec<String>,
    /// Leave out this risk level (repeatable)
    #[arg(long = "not-risk", value_name = "LEVEL")]
    pub not_risk: Vec<String>,
    /// Only rows shipped from this host (repeatable; with --source postgres://)
    #[arg(long, value_name = "HOST_ID")]
    pub host: Vec<String>,
    /// Leave out this host (repeatable; with --source postgres://)
    #[arg(long = "not-host", value_name = "HOST_ID")]
    pub not_host: Vec<String>,
    /// Only entries whose tool, params or result contain this text (ASCII case ignored)
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,
    /// Read the rotated archives too, with the live database, as one history
    #[arg(long)]
    pub archives: bool,
}

#[derive(Args)]
pub struct LogArgs {
    /// Number of recent entries to show
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub last: usize,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Keep printing new entries as they are written (Ctrl-C ends)
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// One JSON document (an array, oldest first)
    #[arg(long, conflicts_with = "jsonl")]
    pub json: bool,
    /// One JSON object per line, streamed
    #[arg(long)]
    pub jsonl: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum ExportFormat {
    Json,
    Jsonl,
    Csv,
}

#[derive(Args)]
pub struct ExportArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
    pub format: ExportFormat,
    /// Max entries to export (newest first); 0 for all
    #[arg(long, default_value_t = 10000, value_name = "N")]
    pub limit: usize,
    #[command(flatten)]
    pub filter: FilterArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum By {
    Minute,
    Hour,
    Day,
}

#[derive(Args)]
pub struct StatsArgs {
    /// Number of days to analyze
    #[arg(long, default_value_t = 7, value_name = "N")]
    pub days: u32,
    /// How many tools to list
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub top: usize,
    /// Bucket of the calls-over-time chart [default: hour up to 2 days, else day]
    #[arg(long, value_enum)]
    pub by: Option<By>,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// One JSON document
    #[arg(long, conflicts_with = "jsonl")]
    pub json: bool,
    /// One JSON object per line (one per series bucket, then the totals)
    #[arg(long)]
    pub jsonl: bool,
}

#[derive(Args)]
pub struct PolicyArgs {
    /// Tool name to explain, e.g. delete_vm
    #[arg(long, short = 'o', default_value = "", value_name = "TOOL")]
    pub operation: String,
    /// Target environment, e.g. production
    #[arg(long, short = 'e', default_value = "", value_name = "ENV")]
    pub env: String,
    /// Risk level the tool declares
    #[arg(long, short = 'r', default_value = "medium", value_name = "LEVEL")]
    pub risk: String,
    /// Skill the tool belongs to: its 2.0 renames are matched (without it, every skill's old names)
    #[arg(long, short = 's', default_value = "", value_name = "SKILL")]
    pub skill: String,
    /// Evaluate as this authenticated network caller
    #[arg(long, value_name = "NAME")]
    pub client: Option<String>,
    /// Evaluate with this caller role
    #[arg(long, value_name = "ROLE")]
    pub role: Option<String>,
    /// One JSON document: allowed, rule, reason, source, and the explanation
    #[arg(long)]
    pub json: bool,
    /// Exit 1 when the operation is denied
    #[arg(long = "exit-code")]
    pub exit_code: bool,
}

#[derive(Subcommand)]
pub enum RulesCommand {
    /// Check a rules file: every problem as path:line:column: severity: message (exit 1 on errors)
    Validate {
        /// The file [default: the rules path]
        path: Option<PathBuf>,
        /// One JSON document
        #[arg(long)]
        json: bool,
    },
    /// Write the packaged baseline to the rules path, to edit (never overwrites)
    Init,
    /// Print the rule set in force
    Show {
        /// One JSON document
        #[arg(long)]
        json: bool,
    },
    /// Make a key pair for signing rules: PREFIX.key (0600; keep it off the
    /// hosts) and PREFIX.pub (what hosts trust)
    Keygen {
        /// Where to write: PREFIX.key and PREFIX.pub
        prefix: PathBuf,
        /// The key's name [default: vmware-audit-rules/<hostname>]
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
    },
    /// Sign a rules file: FILE.sig, a signed note over its SHA-256, a revision
    /// and an expiry (the file must validate)
    Sign {
        /// The rules file to sign
        file: PathBuf,
        /// The signing key (from `rules keygen`)
        #[arg(long, value_name = "PATH")]
        key: PathBuf,
        /// The revision: hosts install only a revision newer than theirs
        #[arg(long)]
        revision: u64,
        /// When the signature stops being accepted: a duration (30d, 12h) or an RFC 3339 time
        #[arg(long, default_value = "30d", value_name = "WHEN")]
        expires: String,
        /// Where to write the signature [default: FILE.sig]
        #[arg(long, value_name = "PATH")]
        out: Option<PathBuf>,
    },
    /// Fetch a signed rules file, verify, validate and install it (every skill
    /// hot-reloads it); on any failure the file in force stays
    Pull {
        /// The rules file's URL (http or https)
        url: String,
        /// The signature's URL [default: URL.sig]
        #[arg(long, value_name = "URL")]
        sig_url: Option<String>,
        /// Trust this verifier key (or a file of them), besides
        /// rules-trusted.pub beside the rules file
        #[arg(long, value_name = "KEY")]
        trust: Vec<String>,
        /// Pull again at this interval (60s, 5m, 1h) until stopped
        #[arg(long, value_name = "INTERVAL")]
        every: Option<String>,
    },
}

#[derive(Args)]
pub struct SealArgs {
    /// Make the sealing key pair (seal.key, 0600, and seal.pub beside the
    /// database) and exit; never replaces a key
    #[arg(long)]
    pub init_key: bool,
    /// The key's name, with --init-key [default: vmware-audit-seal/<hostname>]
    #[arg(long, value_name = "NAME", requires = "init_key")]
    pub key_name: Option<String>,
    /// Seal the live file only, not its archives
    #[arg(long)]
    pub live_only: bool,
    /// Seal again at this interval (10s, 5m) until stopped, so new rows stay
    /// unsealed only that long
    #[arg(long, value_name = "INTERVAL", conflicts_with = "init_key")]
    pub every: Option<String>,
    /// One JSON object per file sealed
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// Verify the archives' rows too (they are always located, to find a
    /// sealed file that is gone)
    #[arg(long)]
    pub archives: bool,
    /// Also trust this verifier key (`name+id+key`, or a file of them);
    /// `seal.pub` is trusted when present
    #[arg(long, value_name = "KEY")]
    pub trust: Vec<String>,
    /// One JSON object per file
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct GenerateArgs {
    /// Rows to write
    #[arg(long, default_value_t = 10_000)]
    pub rows: u64,
    /// Spread over the last N days
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// Seed: the same seed and --end give the same rows
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// End of the period (RFC 3339) [default: now]
    #[arg(long)]
    pub end: Option<String>,
}

#[derive(Args)]
pub struct ShipArgs {
    /// The fleet's PostgreSQL: postgres://user@host:5432/db[?sslmode=require&sslrootcert=CA.pem]
    /// (the password from PGPASSWORD or ~/.pgpass, never in the URL)
    #[arg(
        long,
        env = "VMWARE_AUDIT_SHIP_TO",
        value_name = "URL",
        required_unless_present = "forget"
    )]
    pub to: Option<String>,
    /// This host's name in the fleet [default: the host name]
    #[arg(long = "host-id", value_name = "ID")]
    pub host_id: Option<String>,
    /// Ship what there is now and exit (exit 1 if the server stays unreachable)
    #[arg(long)]
    pub once: bool,
    /// Create the central schema and roles (idempotent), then exit
    #[arg(long = "init-schema")]
    pub init_schema: bool,
    /// Forget this host's shipping state (our retention stops holding unshipped
    /// archives), then exit
    #[arg(long, conflicts_with_all = ["once", "init_schema"])]
    pub forget: bool,
}
