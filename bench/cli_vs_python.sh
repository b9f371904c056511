#!/usr/bin/env bash
# The headless commands on a one-million-row database: this crate's
# `vmware-audit` against the Python package's (vmware-policy==1.24.3), same
# machine, same run. Wall time is the median of 5 runs; export also peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
# Set, it slows Python's output 2.5x (the export figure measured it so once).
unset PYTHONUNBUFFERED
rows=${ROWS:-1000000}
. bench/venv.sh
cargo build --release --quiet
ours=target/release/vmware-audit
theirs=$venv/bin/vmware-audit
home=$(mktemp -d)
export OPS_HOME=$home
echo "generating $rows rows over 30 days in $home ..."
$ours generate --rows "$rows" --days 30 --seed 1 >/dev/null
ls -l "$home"/audit.db | awk '{printf "database: %.0f MB\n", $5/1048576}'

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
timeit() { # command... -> median seconds over 5 runs
  for _ in 1 2 3 4 5; do
    s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N)
    awk -v s="$s" -v e="$e" 'BEGIN { printf "%.4f\n", (e - s) / 1e9 }'
  done | median
}
printf "%-44s %10s %10s %8s\n" "command" "ours (s)" "python (s)" "ratio"
row() {
  local label=$1; shift
  local a b
  a=$(timeit $ours "$@"); b=$(timeit $theirs "$@")
  awk -v l="$label" -v a="$a" -v b="$b" 'BEGIN { printf "%-44s %10s %10s %7.0fx\n", l, a, b, b / a }'
}
row "log --last 20" log --last 20
row "log --status denied --last 50" log --status denied --last 50
row "log --skill avi --tool delete_pool --last 20" log --skill avi --tool delete_pool --last 20
since=$(date -u -d '1 hour ago' +%Y-%m-%dT%H:%M:%S)
row "log --since <1 hour ago> --last 50" log --since "$since" --last 50
row "log --surface cli --last 20" log --surface cli --last 20
# A workflow and a correlation id that occur in the generated rows.
wf=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT workflow_id FROM audit_log WHERE workflow_id != '' LIMIT 1\").fetchone()[0])" "$home/audit.db")
cid=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT correlation_id FROM audit_log WHERE correlation_id != '' LIMIT 1\").fetchone()[0])" "$home/audit.db")
row "log --workflow-id <one id>" log --workflow-id "$wf"
row "log --correlation-id <one id>" log --correlation-id "$cid"
row "stats --days 7" stats --days 7
row "stats --days 30" stats --days 30
echo "export of all $rows rows (JSON): time and peak memory"
/usr/bin/time -f "  ours:   %e s, peak RSS %M KB" $ours export --limit 0 >/dev/null
/usr/bin/time -f "  python: %e s, peak RSS %M KB" $theirs export --limit "$rows" >/dev/null
rm -rf "$home"
