//! What every command shares: where the files are, how the terminal is, times,
//! filters from flags, and one clear line for each way reading can fail.

use std::io::IsTerminal;
use std::path::PathBuf;

use chrono::{DateTime, Duration, Local, NaiveDate, NaiveDateTime, Utc};
use vmware_policy::audit::{Filter, History, ReadError, python_ts};
use vmware_policy::home;

use super::args::{Cli, ColorChoice, FilterArgs};

/// Exit code for an operational error (1 is kept for "denied" and "invalid").
pub const EXIT_ERROR: i32 = 2;

pub struct Ctx {
    pub db: PathBuf,
    pub rules: PathBuf,
    pub local: bool,
    pub color: bool,
    pub tty: bool,
    /// Columns available for a table.
    pub width: usize,
    /// `--source`: the fleet's PostgreSQL instead of the local files.
    pub source: Option<String>,
}

impl Ctx {
    pub fn new(cli: &Cli) -> Ctx {
        let tty = std::io::stdout().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        let color = match cli.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => tty && !no_color && !dumb,
        };
        let width = if tty {
            crossterm::terminal::size()
                .map(|(w, _)| w as usize)
                .unwrap_or(100)
        } else {
            std::env::var("COLUMNS")
                .ok()
                .and_then(|c| c.parse().ok())
                .unwrap_or(120)
        };
        Ctx {
            db: cli.db.clone().unwrap_or_else(home::audit_db_path),
            rules: cli.rules.clone().unwrap_or_else(home::rules_path),
            local: cli.local,
            color,
            tty,
            width: width.max(40),
            source: cli.source.clone(),
        }
    }

    /// A row's time for display: `MM-DD HH:MM:SS`, UTC unless `--local`.
    pub fn show_time(&self, ts: &str) -> String {
        if self.local
            && let Ok(t) = DateTime::parse_from_rfc3339(ts)
        {
            return t.with_timezone(&Local).format("%m-%d %H:%M:%S").to_string();
        }
        ts.get(5..19)
            .map_or_else(|| ts.to_string(), |s| s.replace('T', " "))
    }

    /// Open the history to read, with one clear line for each failure.
    pub fn open_history(&self, archives: bool) -> Result<History, String> {
        let mut line = super::progress::ProgressLine::new(&self.db);
        History::open(&self.db, archives)
            .map(|h| h.indexed().with_progress(move |d, t| line.tell(d, t)))
            .map_err(|e| read_error(&e, &self.db))
    }
}

/// One line saying what is wrong with reading `db` and what to do.
pub fn read_error(e: &ReadError, db: &std::path::Path) -> String {
    let p = db.display();
    match e {
        ReadError::Missing(_) => format!(
            "no audit database at {p}: it is created by the first audited tool call. \
             Set OPS_HOME or pass --db PATH to read another (`vmware-audit demo` shows one)."
        ),
        ReadError::Sqlite(err) => sqlite_error(err, db),
        ReadError::NotAFile(_) => e.to_string(),
    }
}

pub fn sqlite_error(err: &rusqlite::Error, db: &std::path::Path) -> String {
    let p = db.display();
    let text = err.to_string();
    if text.contains("not a database") || text.contains("malformed") {
        format!("{p} is not a readable SQLite database ({text}); point --db at audit.db")
    } else if text.contains("locked") || text.contains("busy") {
        format!("{p} is locked by another process ({text}); try again in a moment")
    } else if text.contains("no such table") {
        format!("{p} is an SQLite database without an audit_log table; point --db at audit.db")
    } else if text.contains("unable to open") {
        format!("{p} cannot be opened ({text}); check its permissions")
    } else {
        format!("cannot read {p}: {text}")
    }
}

/// A time as `--since`/`--until` take it: `15m`, `2h`, `7d`, `1w` ago; an
/// RFC 3339 time (converted to UTC); or a date or naive time, kept as written
/// and compared as text, as the Python CLI does.
pub fn parse_when(s: &str, flag: &str) -> Result<String, String> {
    let t = s.trim();
    if let Some(n) = t
        .strip_suffix(['s', 'm', 'h', 'd', 'w'])
        .and_then(|n| n.parse::<i64>().ok())
    {
        let d = match t.chars().last() {
            Some('s') => Duration::try_seconds(n),
            Some('m') => Duration::try_minutes(n),
            Some('h') => Duration::try_hours(n),
            Some('d') => Duration::try_days(n),
            _ => Duration::try_weeks(n),
        };
        return d
            .and_then(|d| Utc::now().checked_sub_signed(d))
            .map(python_ts)
            .ok_or_else(|| {
                format!("{flag} {s:?} reaches outside the calendar (years -262143 to 262142); use a shorter span")
            });
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(python_ts(dt.with_timezone(&Utc)));
    }
    let naive_ok = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .any(|f| NaiveDateTime::parse_from_str(t, f).is_ok());
    if naive_ok || NaiveDate::parse_from_str(t, "%Y-%m-%d").is_ok() {
        return Ok(t.replace(' ', "T"));
    }
    Err(format!(
        "{flag} {s:?} is not a time: use 2026-11-21, 2026-11-21T20:00:00Z, or 15m, 2h, 7d (ago)"
    ))
}

/// `now` minus `days` days, or a message naming `flag` when that is outside the calendar.
pub fn days_ago(now: DateTime<Utc>, days: u32, flag: &str) -> Result<DateTime<Utc>, String> {
    Duration::try_days(i64::from(days))
        .and_then(|d| now.checked_sub_signed(d))
        .ok_or_else(|| {
            format!("{flag} {days} reaches outside the calendar (years -262143 to 262142); use fewer days")
        })
}

/// Say on stderr (exit status unchanged, for scripts) when a status or risk
/// filter names a value the family never writes and no row has: `--status
/// denid` silently showing nothing reads as "nothing was denied".
pub fn warn_unknown_values(filter: &Filter, history: &History) {
    use vmware_policy::audit::{Field, status};
    let checks = filter
        .statuses
        .iter()
        .chain(&filter.not_statuses)
        .filter(|s| !status::is_known(s))
        .map(|s| (Field::Status, s, "status", status::KNOWN.join(", ")))
        .chain(
            filter
                .risks
                .iter()
                .filter(|r| !vmware_policy::policy::RISK_LEVELS.contains(&r.as_str()))
                .map(|r| {
                    (
                        Field::RiskLevel,
                        r,
                        "risk level",
                        vmware_policy::policy::RISK_LEVELS.join(", "),
                    )
                }),
        );
    for (field, value, what, known) in checks {
        let present = history
            .readers()
            .iter()
            .any(|r| r.has_value(field, value).unwrap_or(true));
        if !present {
            let hint = vmware_policy::policy::validate::did_you_mean(
                value,
                &known.split(", ").collect::<Vec<_>>(),
            )
            .map(|s| format!("; did you mean '{s}'?"))
            .unwrap_or_default();
            eprintln!(
                "vmware-audit: warning: no row has {what} '{}' and the skills do not write it (known: {known}){hint}",
                vmware_policy::safe_text::term_safe(value)
            );
        }
    }
}

impl FilterArgs {
    pub fn to_filter(&self) -> Result<Filter, String> {
        Ok(Filter {
            skills: self.skill.clone(),
            tools: self.tool.clone(),
            statuses: self.status.clone(),
            agents: self.agent.clone(),
            users: self.user.clone(),
            risks: self.risk.clone(),
            surfaces: self.surface.clone(),
            workflow_ids: self.workflow_id.clone(),
            correlation_ids: self.correlation_id.clone(),
            not_skills: self.not_skill.clone(),
            not_tools: self.not_tool.clone(),
            not_statuses: self.not_status.clone(),
            not_agents: self.not_agent.clone(),
            not_users: self.not_user.clone(),
            not_risks: self.not_risk.clone(),
            hosts: self.host.clone(),
            not_hosts: self.not_host.clone(),
            since: self
                .since
                .as_deref()
                .map(|s| parse_when(s, "--since"))
                .transpose()?,
            until: self
                .until
                .as_deref()
                .map(|s| parse_when(s, "--until"))
                .transpose()?,
            after_id: None,
            before_id: None,
            in_order: None,
            contains: self.search.clone().filter(|s| !s.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_for_since_and_until() {
        assert_eq!(parse_when("2026-11-21", "--since").unwrap(), "2026-11-21");
        assert_eq!(
            parse_when("2026-11-21 20:00", "--since").unwrap(),
            "2026-11-21T20:00"
        );
        assert_eq!(
            parse_when("2026-11-21T22:00:00+02:00", "--since").unwrap(),
            "2026-11-21T20:00:00+00:00"
        );
        assert!(parse_when("2h", "--since").unwrap().ends_with("+00:00"));
        let e = parse_when("yesterday", "--since").unwrap_err();
        assert!(e.contains("--since") && e.contains("not a time"), "{e}");
        assert!(parse_when("2026-13-40", "--since").is_err());
    }
}
