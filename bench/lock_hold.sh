#!/usr/bin/env bash
# The longest hold of the shared file's write lock by each operation of ours
# on a large database (ROWS, default 3,000,000), seen from outside by
# bench/lock_hold.py (a process polling BEGIN IMMEDIATE every 0.2 ms, as a
# Python writer would wait on it):
# - our writer's first open of a file an earlier version indexed (it drops
#   the three indexes, one transaction each), at ROWS and at the size that
#   version rotated at (240,000 rows, just past 100 MiB);
# - `optimize` and a first `stats` and `log --search` (build the sidecar);
# - 200 guarded calls, the first of which rotates the file (over 100 MiB):
#   copy, cut, compact; and the same rotation of a file just past 100 MiB.
# Usage: bench/lock_hold.sh [> bench/results-lock-DATE.txt]
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${ROWS:-3000000}
. bench/venv.sh
cargo build --release --quiet --bin vmware-audit --example skill
ours=$PWD/target/release/vmware-audit
work=$(mktemp -d -p "${BENCH_TMP:-/tmp}")
trap 'rm -rf "$work"' EXIT
export OPS_HOME=$work
$ours generate --rows "$rows" --days 90 --seed 3 >/dev/null
# What version 2 left in the shared file.
v2_indexes() {
"$venv/bin/python" - "$work/audit.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executescript("""CREATE INDEX audit_log_ts ON audit_log(ts);
CREATE INDEX audit_log_status ON audit_log(status);
CREATE INDEX audit_log_tool ON audit_log(tool, skill);
PRAGMA wal_checkpoint(TRUNCATE);""")
PY
}
v2_indexes
echo "$rows rows, $(du -m "$work/audit.db" | cut -f1) MB, with version 2's three indexes; $(nproc) cores"
probe() { # label, command...
  local label=$1; shift
  rm -f "$work/stop"
  "$venv/bin/python" bench/lock_hold.py "$work/audit.db" "$work/stop" > "$work/probe" &
  local p=$!
  sleep 0.3
  "$@" >/dev/null 2>&1
  sleep 0.3
  touch "$work/stop"; wait $p
  printf "%-58s %s\n" "$label" "$(cat "$work/probe")"
}
probe "first open by our writer (drops the 3 indexes)" target/release/examples/skill list_dfw_policies --rotate-bytes 100000000000
probe "optimize (builds the sidecar's counts, every file)" $ours optimize
probe "log --search (builds the trigrams)" $ours log --search vm-4999
export VMWARE_RUNAWAY_MAX=0
probe "200 guarded calls, the first rotating the file" target/release/examples/skill list_dfw_policies --repeat 200
echo "live file after: $(du -m "$work/audit.db" | cut -f1) MB"
# The same rotation at its usual size: a live file just past 100 MiB.
rm -rf "$work"/*
$ours generate --rows 240000 --days 7 --seed 4 >/dev/null
v2_indexes
echo "$(du -m "$work/audit.db" | cut -f1) MB live file (240,000 rows: the size version 2 rotated at), with version 2's indexes"
probe "first open by our writer (drops the 3 indexes)" target/release/examples/skill list_dfw_policies --rotate-bytes 100000000000
probe "200 guarded calls, the first rotating the file" target/release/examples/skill list_dfw_policies --repeat 200
