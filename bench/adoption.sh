#!/usr/bin/env bash
# Issue 14's adoption path: a database the Python package (1.24.3) made and
# wrote, never opened by our writer (no indexes, no rollups, no sidecar: what
# an operator's audit.db looks like), at each size in $SIZES (default
# 100000 1000000 3000000). The package creates the file and writes its first
# 500 rows through its own AuditEngine; the rest are the rows of our
# deterministic generator, copied in by Python's sqlite3 (writing millions of
# rows one connection each would take hours). Then, in one run, Python's CLI
# against ours: `stats` (our first run builds the sidecar's counts, later runs
# read them), every `log` form, `export` (time and peak memory), a substring
# search matching almost nothing, and the TUI's first frame. Median of runs;
# PYTHONUNBUFFERED unset for the peer (set, it slows Python's output 2.5x).
# Usage: bench/adoption.sh [> bench/results-adoption-DATE.txt]
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${SIZES:-100000 1000000 3000000}
. bench/venv.sh
unset PYTHONUNBUFFERED
cargo build --release --quiet --bin vmware-audit
ours=$PWD/target/release/vmware-audit
theirs=$PWD/$venv/bin/vmware-audit
py=$PWD/$venv/bin/python
work=$(mktemp -d -p "${BENCH_TMP:-/tmp}")
trap 'tmux kill-session -t vmware-audit-adoption 2>/dev/null || true; rm -rf "$work"' EXIT
echo "machine: $(nproc) cores, $(uname -sr), $(df -T "$work" | awk 'NR==2 {print $2}'); date: $(date -u +%Y-%m-%dT%H:%MZ)"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
once() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f\n", (e - s) / 1e9 }'; }
row() { awk -v l="$1" -v p="$2" -v o="$3" 'BEGIN { printf "%-44s %9.3fs %9.3fs %7.1fx\n", l, p, o, p / o }'; }
for rows in $sizes; do
  home=$work/h$rows; gen=$work/gen$rows
  mkdir -p "$home" "$gen"
  export OPS_HOME=$home
  OPS_HOME=$gen $ours generate --rows "$rows" --days 30 --seed 1 >/dev/null
  "$py" - "$home/audit.db" "$gen/audit.db" <<'PY'
import logging, sqlite3, sys
logging.disable(logging.CRITICAL)
from vmware_policy.audit import AuditEngine
db, gen = sys.argv[1], sys.argv[2]
e = AuditEngine(db)
for i in range(500):
    e.log(skill="aiops", tool="list_vms", params={"i": i}, status="ok")
cols = "ts, skill, tool, params, result, status, duration_ms, agent, workflow_id, user, risk_level, rationale, approved_by, risk_tier, surface, correlation_id, role"
c = sqlite3.connect(db)
c.execute("ATTACH ? AS gen", (gen,))
c.execute(f"INSERT INTO audit_log ({cols}) SELECT {cols} FROM gen.audit_log ORDER BY id LIMIT -1 OFFSET 500")
c.commit()
c.execute("DETACH gen")
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
names = [r[0] for r in c.execute("SELECT name FROM sqlite_master")]
assert names == ["audit_log", "sqlite_sequence"], names
PY
  rm -rf "$gen"
  echo
  echo "== $rows rows, $(du -m "$home/audit.db" | cut -f1) MB, made and written by the Python package"
  printf "%-44s %10s %10s %8s\n" "command" "python" "ours" "ratio"
  for days in 30 7; do
    p=$(for _ in 1 2 3; do once $theirs stats --days $days; done | median)
    first=$(for _ in 1 2 3; do rm -rf "$home/.vmware-audit-index"; once $ours stats --days $days; done | median)
    later=$(for _ in 1 2 3 4 5; do once $ours stats --days $days; done | median)
    row "stats --days $days, our first run" "$p" "$first"
    row "stats --days $days, later runs" "$p" "$later"
  done
  wf=$("$py" -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT workflow_id FROM audit_log WHERE workflow_id != '' LIMIT 1 OFFSET 5000\").fetchone()[0])" "$home/audit.db")
  cid=$("$py" -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT correlation_id FROM audit_log WHERE correlation_id != '' LIMIT 1 OFFSET 5000\").fetchone()[0])" "$home/audit.db")
  rare=$("$py" -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT tool FROM audit_log GROUP BY tool ORDER BY COUNT(*), tool LIMIT 1\").fetchone()[0])" "$home/audit.db")
  hour=$(date -u -d '1 hour ago' +%Y-%m-%dT%H:%M:%S)
  lrow() { local label=$1; shift
    local p o
    o=$(once $ours "$@") # a first run builds what this form needs
    p=$(for _ in 1 2 3; do once $theirs "$@"; done | median)
    o=$(for _ in 1 2 3 4 5; do once $ours "$@"; done | median)
    row "$label" "$p" "$o"
  }
  lrow "log --last 20" log --last 20
  lrow "log --since <none after>" log --since 2099-01-01
  lrow "log --since <1 hour ago> --last 50" log --since "$hour" --last 50
  lrow "log --status interrupted --last 20" log --status interrupted --last 20
  lrow "log --tool <rarest> --status denied" log --tool "$rare" --status denied
  lrow "log --workflow-id <one>" log --workflow-id "$wf"
  lrow "log --correlation-id <one>" log --correlation-id "$cid"
  lrow "log --skill avi --status error --last 50" log --skill avi --status error --last 50
  # Export: all rows, JSON, time and peak memory.
  pe=$( { /usr/bin/time -f "%e %M" $theirs export --limit "$rows" >/dev/null; } 2>&1 | tail -1)
  oe=$( { /usr/bin/time -f "%e %M" $ours export --limit 0 >/dev/null; } 2>&1 | tail -1)
  row "export, all rows (JSON)" "${pe% *}" "${oe% *}"
  echo "  peak memory: python $(( ${pe#* } / 1024 )) MB, ours $(( ${oe#* } / 1024 )) MB"
  # A search matching almost nothing: first (builds the trigrams), then later.
  for q in "vm-4999" "no-such-text-anywhere" "${cid:3:12}"; do
    first=$(rm -f "$home"/.vmware-audit-index/*.sqlite*; once $ours log --search "$q" --last 20)
    later=$(for _ in 1 2 3 4 5; do once $ours log --search "$q" --last 20; done | median)
    scan=$(for _ in 1 2 3; do VMWARE_AUDIT_NO_INDEX=1 once $ours log --search "$q" --last 20; done | median)
    grepf=$(for _ in 1 2 3; do once grep -cF "$q" "$home/audit.db"; done | median)
    printf "%-44s first (builds) %6.3fs, later %6.3fs (scan %6.3fs, grep -F of the file %6.3fs)\n" "log --search '$q' --last 20" "$first" "$later" "$scan" "$grepf"
  done
  echo "sidecar: $(du -sh "$home/.vmware-audit-index" | cut -f1)"
  # The TUI's first frame with rows, first launch (no sidecar yet), in tmux.
  rm -rf "$home/.vmware-audit-index"
  trace=$home/trace; rm -f "$trace"
  s=vmware-audit-adoption
  tmux kill-session -t $s 2>/dev/null || true
  t0=$(date +%s%6N)
  tmux new-session -d -s $s -x 120 -y 40 "VMWARE_AUDIT_TUI_TRACE=$trace OPS_HOME=$home $ours tui"
  for _ in $(seq 1 600); do grep -q first_rows "$trace" 2>/dev/null && break; sleep 0.01; done
  first=$(awk '/first_rows/ {print $1; exit}' "$trace")
  echo "TUI first frame with rows, first launch: $(( (first - t0) / 1000 )) ms"
  sleep 2
  tmux kill-session -t $s
  rm -rf "$home"
done
# A Python writer's rate on a database we touched (our writer, stats, search,
# optimize) against its rate on its own, paired row by row.
cargo build --release --quiet --example skill
echo
"$py" bench/python_write_cost.py "$PWD/target/release/examples/skill" "$ours" 20000 3000
