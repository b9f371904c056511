#!/usr/bin/env bash
# One command, one table: this crate against the Python package
# vmware-policy==1.24.3 on this machine, in one run. Builds in release mode,
# makes the venv, generates the same one-million-row database for both, and
# measures: policy check, guarded call, audit append (one process and eight),
# `log` with each filter, `stats`, `export` (time and peak memory), and the
# TUI's first frame and memory (the Python package has no TUI). Then the
# adoption path beside it: the same commands on a database the Python package
# made and wrote, never opened by our writer (bench/adoption.sh; its sizes
# from ADOPTION_SIZES, default "1000000"; the growth table runs it with
# "100000 1000000 3000000"). PYTHONUNBUFFERED is unset for the peer: set, it
# slows Python's output 2.5x.
# Usage: bench/compare.sh [> bench/results-compare-DATE.txt]
set -euo pipefail
cd "$(dirname "$0")/.."
unset PYTHONUNBUFFERED
. bench/venv.sh
cargo build --release --quiet --bin vmware-audit --example skill
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $(df -T . | awk 'NR==2 {print $2}'); date: $(date -u +%Y-%m-%dT%H:%MZ)" | tee "$tmp/head"

echo "== core hot paths (criterion and the Python equivalents)" >&2
bash bench/core_vs_python.sh > "$tmp/core" 2>&1
echo "== commands on one million rows" >&2
bash bench/cli_vs_python.sh > "$tmp/cli" 2>&1
echo "== eight writer processes" >&2
per=2000
h=$(mktemp -d -p "$tmp")
s=$(date +%s%N)
for w in 1 2 3 4 5 6 7 8; do OPS_HOME=$h target/release/examples/skill list_dfw_policies --seq --repeat $per "writer=$w" >/dev/null & done
wait
e=$(date +%s%N)
ours8=$(awk -v s="$s" -v e="$e" -v n=$((8 * per)) 'BEGIN { printf "%.0f", n / ((e - s) / 1e9) }')
h=$(mktemp -d -p "$tmp")
s=$(date +%s%N)
for w in 1 2 3 4 5 6 7 8; do OPS_HOME=$h "$venv/bin/python" tests/python/write_many.py "p$w" $per & done
wait
e=$(date +%s%N)
theirs8=$(awk -v s="$s" -v e="$e" -v n=$((8 * per)) 'BEGIN { printf "%.0f", n / ((e - s) / 1e9) }')
echo "== the TUI on one million rows" >&2
bash bench/tui_metrics.sh > "$tmp/tui" 2>&1
echo "== the adoption path: a database the Python package wrote" >&2
SIZES=${ADOPTION_SIZES:-1000000} bash bench/adoption.sh > "$tmp/adoption" 2>&1

crit() { # bench name -> median in µs (criterion prints "time: [low median high]")
  awk -v b="$1" '$1 == b { found = 1 } found && /time:/ {
      s = substr($0, index($0, "[") + 1); split(s, t, " "); v = t[3]; u = t[4];
      if (u ~ /^ns/) v /= 1000; else if (u ~ /^ms/) v *= 1000; else if (u ~ /^s/) v *= 1e6;
      printf "%.2f", v; exit }' "$tmp/core"
}
thrpt() { # bench name -> median elements/s
  awk -v b="$1" '$1 == b { found = 1 } found && /thrpt:/ {
      s = substr($0, index($0, "[") + 1); split(s, t, " "); v = t[3]; u = t[4];
      if (u ~ /^Kelem/) v *= 1000; else if (u ~ /^Melem/) v *= 1e6;
      printf "%.0f", v; exit }' "$tmp/core"
}
py() { awk -v b="python $1:" 'index($0, b) == 1 { print $(NF - 1); exit }' "$tmp/core"; }
cli() { awk -v l="$1" 'index($0, l) == 1 { n = split($0, f, " "); print f[n - 2], f[n - 1]; exit }' "$tmp/cli"; }
row() { # label ours theirs unit better(lower|higher)
  awk -v l="$1" -v a="$2" -v b="$3" -v u="$4" -v d="$5" 'BEGIN {
    r = (d == "lower") ? b / a : a / b;
    printf "| %s | %s %s | %s %s | %.0f× |\n", l, a, u, b, u, r }'
}
{
  echo
  echo "| measure | vmware-audit (Rust) | vmware-policy 1.24.3 (Python) | ours is |"
  echo "|---|---|---|---|"
  row "policy check, 100 deny rules, none matches" "$(crit policy_check/100_rules_no_match)" "$(py policy_check/100_rules_no_match)" µs lower
  row "guarded call, auditing off" "$(crit guard/noop_auditing_off)" "$(py guard/noop_auditing_off)" µs lower
  row "guarded call with its durable audit row" "$(crit durable/guard_noop_with_durable_row)" "$(py durable/guard_noop_with_durable_row)" µs lower
  row "audit append, 8 threads of one process" "$(thrpt eight_threads/guarded_calls_group_commit)" "$(py eight_threads/guarded_calls)" rows/s higher
  row "audit append, 8 processes" "$ours8" "$theirs8" rows/s higher
  for l in "log --last 20" "log --status denied --last 50" "log --skill avi --tool delete_pool --last 20" \
    "log --since <1 hour ago> --last 50" "log --surface cli --last 20" "log --workflow-id <one id>" \
    "log --correlation-id <one id>" "stats --days 7" "stats --days 30"; do
    set -- $(cli "$l")
    row "\`$l\` (1M rows)" "$1" "$2" s lower
  done
  ours_x=$(awk '/ours:/ {print $2; exit}' "$tmp/cli"); theirs_x=$(awk '/python:/ {print $2; exit}' "$tmp/cli")
  ours_m=$(awk '/ours:/ {printf "%.0f", $6/1024; exit}' "$tmp/cli"); theirs_m=$(awk '/python:/ {printf "%.0f", $6/1024; exit}' "$tmp/cli")
  row "\`export\` of 1M rows, time" "$ours_x" "$theirs_x" s lower
  row "\`export\` of 1M rows, peak memory" "$ours_m" "$theirs_m" MB lower
  echo "| TUI first frame with rows (1M rows) | $(awk '/first frame/ {print $7, $8}' "$tmp/tui") | no TUI | |"
  echo "| TUI resident memory after load / peak | $(awk '/after load/ {print $5, $6}' "$tmp/tui") / $(awk '/peak/ {print $(NF-1), $NF}' "$tmp/tui") | no TUI | |"
} | tee "$tmp/table"
echo
echo "the adoption path (a database the Python package made and wrote; ours never wrote it):"
cat "$tmp/adoption"
echo
echo "raw outputs:"; for f in core cli tui; do echo "--- $f"; cat "$tmp/$f"; done
