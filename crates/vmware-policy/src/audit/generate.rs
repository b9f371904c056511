//! A deterministic generator of realistic audit databases: about a dozen skills
//! and 150 tools, ~93% ok, 4% denied, 2% error, the rest bypassed, dry runs and
//! interruptions, JSON params and results of realistic size. The same seed and
//! end time give the same rows. Tests use it small, benchmarks large.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::{conn, format, schema};

/// SplitMix64: small, fast, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const SKILLS: &[(&str, &[&str])] = &[
    ("aiops", &["vm", "host", "snapshot"]),
    ("nsx", &["segment", "gateway", "nat_rule"]),
    ("nsx_security", &["dfw_policy", "dfw_rule", "group"]),
    ("monitor", &["alarm", "event", "metric"]),
    ("storage", &["datastore", "volume", "vsan_disk"]),
    ("vks", &["supervisor", "namespace", "tkc"]),
    ("aria", &["deployment", "blueprint", "alert"]),
    ("avi", &["pool", "virtual_service", "health_monitor"]),
    ("pilot", &["workflow", "approval"]),
    ("debug", &["incident", "log_bundle"]),
    ("vdi", &["desktop_pool"]),
    ("hcx", &["migration"]),
];

const VERBS: &[(&str, &str)] = &[
    ("list", "low"),
    ("get", "low"),
    ("create", "medium"),
    ("update", "medium"),
    ("delete", "critical"),
];

const AGENTS: &[&str] = &[
    "claude", "claude", "claude", "codex", "codex", "local", "unknown",
];
const USERS: &[&str] = &[
    "alice",
    "bob",
    "carol",
    "svc-agent",
    "svc-agent",
    "token:ci-bot",
    "dave",
    "erin",
];
const SURFACES: &[&str] = &["mcp-stdio", "mcp-stdio", "mcp-https", "cli", "daemon", ""];
const ENVS: &[&str] = &["production", "prod-eu", "staging", "lab", ""];

/// Every (skill, tool, risk) the generator uses: 12 skills, 150 tools.
pub fn tools() -> Vec<(&'static str, String, &'static str)> {
    let mut out = Vec::new();
    for (skill, nouns) in SKILLS {
        for noun in nouns.iter() {
            for (verb, risk) in VERBS {
                let risk = if *verb == "delete" && noun.len() % 2 == 0 {
                    "high"
                } else {
                    risk
                };
                let name = if *verb == "list" {
                    format!("list_{noun}s")
                } else {
                    format!("{verb}_{noun}")
                };
                out.push((*skill, name, risk));
            }
        }
    }
    debug_assert_eq!(out.len(), 150);
    out
}

/// Write `rows` rows spread over the `days` before `end` into `path` (created,
/// schema and all, or appended to), in one transaction.
pub fn generate(
    path: &Path,
    rows: u64,
    days: u32,
    seed: u64,
    end: DateTime<Utc>,
) -> Result<(), String> {
    let span_ms = i64::from(days.max(1)) * 86_400_000;
    let start = end
        .checked_sub_signed(Duration::milliseconds(span_ms))
        .ok_or_else(|| {
            format!("{days} days before {end} is outside the calendar; use fewer days")
        })?;
    let mut c = conn::open_writer(path, conn::Durability::Normal)?;
    let tools = tools();
    // Popular tools are called far more often: weight by a simple power law.
    let weights: Vec<u64> = (0..tools.len() as u64)
        .map(|i| 1000 / ((i * 7) % 37 + 1))
        .collect();
    let total_weight: u64 = weights.iter().sum();
    let mut rng = Rng(seed);
    let step = span_ms as f64 / rows.max(1) as f64;
    let tx = c.transaction().map_err(|e| e.to_string())?;
    {
        let mut stmt = tx.prepare(schema::INSERT).map_err(|e| e.to_string())?;
        for i in 0..rows {
            let mut w = rng.below(total_weight);
            let mut t = 0;
            while w >= weights[t] {
                w -= weights[t];
                t += 1;
            }
            let (skill, tool, risk) = &tools[t];
            let jitter = rng.below(step.max(1.0) as u64) as i64;
            let ts = start
                + Duration::milliseconds((i as f64 * step) as i64 + jitter)
                + Duration::microseconds((rng.below(1000)) as i64);
            let roll = rng.below(1000);
            let status = match roll {
                0..=929 => "ok",
                930..=969 => "denied",
                970..=989 => "error",
                990..=994 => "dry_run",
                995..=997 => "ok_bypassed",
                _ => "interrupted",
            };
            let env = *rng.pick(ENVS);
            let target = format!("vc{}.corp.example", rng.below(6) + 1);
            let params = json!({
                "target": target,
                "env": env,
                "name": format!("{}-{:04}", tool.split('_').next_back().unwrap_or("obj"), rng.below(5000)),
                "filters": {"folder": format!("/dc{}/vm/team-{}", rng.below(3), rng.below(40)), "tags": ["managed", "tier-2"]},
                "limit": 50,
                "dry_run": status == "dry_run",
            });
            let result = match status {
                "denied" => {
                    json!({"error": "Destructive operations are not allowed in production", "rule": "no-delete-in-prod"})
                }
                "error" => {
                    json!({"error": format!("HTTP 503 from {target}: service unavailable, retry later"), "traceback": "Traceback (most recent call last):\n  File \"client.py\", line 88, in call\nConnectionError"})
                }
                _ => json!({
                    "items": (0..(rng.below(4) + 1)).map(|k| json!({"id": format!("obj-{}", rng.below(100_000)), "name": format!("item-{k}"), "state": "green"})).collect::<Vec<_>>(),
                    "total": rng.below(500),
                }),
            };
            let agent = *rng.pick(AGENTS);
            let workflow = if rng.below(10) == 0 {
                format!("wf-{:06}", rng.below(1_000_000))
            } else {
                String::new()
            };
            let correlation = if rng.below(4) == 0 {
                format!(
                    "{:032x}",
                    u128::from(rng.next()) << 64 | u128::from(rng.next())
                )
            } else {
                String::new()
            };
            stmt.execute(rusqlite::params![
                format::python_ts(ts),
                skill,
                tool,
                format::python_json(&params),
                format::python_json(&result),
                status,
                rng.below(3000) as i64,
                agent,
                workflow,
                rng.pick(USERS),
                risk,
                "",
                "",
                "",
                rng.pick(SURFACES),
                correlation,
                "",
            ])
            .map_err(|e| e.to_string())?;
        }
    }
    tx.commit().map_err(|e| e.to_string())?;
    // Leave no large WAL behind for readers to scan.
    c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_database_and_the_mix_is_realistic() {
        let dir = tempfile::tempdir().unwrap();
        let end = DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
        generate(&a, 5000, 30, 7, end).unwrap();
        generate(&b, 5000, 30, 7, end).unwrap();
        let dump = |p: &Path| -> Vec<String> {
            let c = rusqlite::Connection::open(p).unwrap();
            let mut s = c.prepare("SELECT ts || skill || tool || params || result || status FROM audit_log ORDER BY id").unwrap();
            s.query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        assert_eq!(dump(&a), dump(&b));
        let c = rusqlite::Connection::open(&a).unwrap();
        let share = |status: &str| -> f64 {
            let n: i64 = c
                .query_row(
                    "SELECT COUNT(*) FROM audit_log WHERE status = ?",
                    [status],
                    |r| r.get(0),
                )
                .unwrap();
            n as f64 / 5000.0
        };
        assert!((0.90..0.96).contains(&share("ok")), "{}", share("ok"));
        assert!((0.03..0.05).contains(&share("denied")));
        assert!((0.01..0.03).contains(&share("error")));
        assert_eq!(tools().len(), 150);
        let skills: i64 = c
            .query_row("SELECT COUNT(DISTINCT skill) FROM audit_log", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(skills, 12);
    }
}
