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
