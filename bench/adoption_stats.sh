#!/usr/bin/env bash
# Issue 14's adoption path for `stats`: a one-million-row database with none
# of our derived data (the schema the Python package makes, no indexes, no
# rollups, no trigger: what an operator's existing audit.db looks like), and
# `stats` by the Python package (1.24.3) and by us: our first run (building
# the sidecar index), our later runs (reading it), and our plain scan
# (VMWARE_AUDIT_NO_INDEX=1). Median of runs; PYTHONUNBUFFERED unset.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${ROWS:-1000000}
. bench/venv.sh
unset PYTHONUNBUFFERED
cargo build --release --quiet --bin vmware-audit
ours=$PWD/target/release/vmware-audit
theirs=$PWD/$venv/bin/vmware-audit
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
export OPS_HOME=$home
$ours generate --rows "$rows" --days 30 --seed 1 >/dev/null
"$venv/bin/python" - "$home/audit.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executescript("""PRAGMA wal_checkpoint(TRUNCATE);
DROP TRIGGER IF EXISTS audit_rollup_insert; DROP INDEX IF EXISTS audit_log_ts;
DROP INDEX IF EXISTS audit_log_status; DROP INDEX IF EXISTS audit_log_tool;
DROP TABLE IF EXISTS audit_rollup_status; DROP TABLE IF EXISTS audit_rollup_tool;
DROP TABLE IF EXISTS audit_rollup_agent; DROP TABLE IF EXISTS audit_meta; VACUUM;""")
PY
echo "$rows rows, $(du -m "$home/audit.db" | cut -f1) MB, no derived data; $(nproc) cores"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
once() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f\n", (e - s) / 1e9 }'; }
printf "%-16s %10s %12s %12s %12s %14s\n" "command" "python" "ours, first" "ours, later" "ours, scan" "python/later"
for days in 30 7; do
  py=$(for _ in 1 2 3; do once $theirs stats --days $days; done | median)
  first=$(for _ in 1 2 3; do rm -rf "$home/.vmware-audit-index"; once $ours stats --days $days; done | median)
  later=$(for _ in 1 2 3 4 5; do once $ours stats --days $days; done | median)
  scan=$(for _ in 1 2 3; do VMWARE_AUDIT_NO_INDEX=1 once $ours stats --days $days; done | median)
  awk -v d="$days" -v p="$py" -v f="$first" -v l="$later" -v s="$scan" 'BEGIN {
    printf "%-16s %9.3fs %11.3fs %11.3fs %11.3fs %13.0fx\n", "stats --days " d, p, f, l, s, p / l }'
done
echo "sidecar: $(du -sh "$home/.vmware-audit-index" | cut -f1)"

# The TUI's first frame with rows, first launch (no sidecar yet), in tmux.
rm -rf "$home/.vmware-audit-index"
trace=$home/trace
s=vmware-audit-adoption
tmux kill-session -t $s 2>/dev/null || true
t0=$(date +%s%6N)
tmux new-session -d -s $s -x 120 -y 40 "VMWARE_AUDIT_TUI_TRACE=$trace OPS_HOME=$home $ours tui"
for _ in $(seq 1 600); do grep -q first_rows "$trace" 2>/dev/null && break; sleep 0.01; done
first=$(awk '/first_rows/ {print $1; exit}' "$trace")
echo "TUI first frame with rows, first launch: $(( (first - t0) / 1000 )) ms"
sleep 8
tmux kill-session -t $s
# log forms through the sidecar (built above), against Python.
wf=$("$venv/bin/python" -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT workflow_id FROM audit_log WHERE workflow_id != '' LIMIT 1 OFFSET 5000\").fetchone()[0])" "$home/audit.db")
cid=$("$venv/bin/python" -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT correlation_id FROM audit_log WHERE correlation_id != '' LIMIT 1 OFFSET 5000\").fetchone()[0])" "$home/audit.db")
future=2099-01-01
hour=$(date -u -d '1 hour ago' +%Y-%m-%dT%H:%M:%S)
printf "%-40s %10s %10s %8s\n" "command" "python" "ours" "ratio"
lrow() { local label=$1; shift
  local p o
  p=$(for _ in 1 2 3; do once $theirs "$@"; done | median)
  o=$(for _ in 1 2 3 4 5; do once $ours "$@"; done | median)
  awk -v l="$label" -v p="$p" -v o="$o" 'BEGIN { printf "%-40s %9.3fs %9.3fs %7.0fx\n", l, p, o, p / o }'
}
lrow "log --since <no rows after>" log --since $future
lrow "log --since <1 hour ago> --last 50" log --since "$hour" --last 50
lrow "log --workflow-id <one id>" log --workflow-id "$wf"
lrow "log --correlation-id <one id>" log --correlation-id "$cid"
lrow "log --last 20" log --last 20
