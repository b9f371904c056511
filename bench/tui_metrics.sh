#!/usr/bin/env bash
# The TUI on a one-million-row database, measured in a real terminal (tmux,
# 120x40): time to the first frame with rows, resident memory, latency from a
# row's commit (in another process) to its first frame, CPU while idle, and
# the time from a filter key to the frame with its result. The TUI writes its
# own timings when VMWARE_AUDIT_TUI_TRACE names a file; this script reads them.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${ROWS:-1000000}
cargo build --release --quiet --bin vmware-audit --example skill
bin=$PWD/target/release/vmware-audit
skill=$PWD/target/release/examples/skill
home=$(mktemp -d)
trace=$home/trace
export OPS_HOME=$home
echo "generating $rows rows in $home ..."
$bin generate --rows "$rows" --days 30 --seed 1 >/dev/null
ls -l "$home"/audit.db | awk '{printf "database: %.0f MB\n", $5/1048576}'
s=vmware-audit-bench
tmux kill-session -t $s 2>/dev/null || true
sync
us() { date +%s%6N; }
waitfor() { # pattern: wait until the trace has it
  for _ in $(seq 1 300); do grep -q "$1" "$trace" 2>/dev/null && return 0; sleep 0.05; done
  echo "timed out waiting for $1" >&2; return 1
}
t0=$(us)
tmux new-session -d -s $s -x 120 -y 40 "VMWARE_AUDIT_TUI_TRACE=$trace OPS_HOME=$home $bin tui"
tmux set -t $s escape-time 0
waitfor first_rows
first=$(awk '/first_rows/ {print $1; exit}' "$trace")
echo "time to first frame with rows: $(( (first - t0) / 1000 )) ms (launch to frame, cold process)"
pid=$(pgrep -f "$bin tui" | head -1)
sleep 1
echo "resident memory after load: $(awk '/VmRSS/ {printf "%.1f MB", $2/1024}' /proc/$pid/status)"

ticks() { awk '{print $14 + $15}' /proc/$pid/stat; }
hz=$(getconf CLK_TCK)
a=$(ticks); sleep 30; b=$(ticks)
awk -v a="$a" -v b="$b" -v hz="$hz" 'BEGIN { printf "CPU while idle (30 s): %.2f%%\n", (b - a) / hz / 30 * 100 }'

# Latency: 40 rows written 250 ms apart by another process; each commit time
# (when `append` returned) against the first frame that showed that row.
# (No rotation: the generated file is far past the 100 MiB threshold.)
$skill list_dfw_policies --repeat 40 --interval-ms 250 --rotate-bytes 100000000000 \
  --committed "$home/committed" >/dev/null
sleep 1
awk 'NR == FNR { if ($2 == "newest") shown[$3] = $1; next }
     { c[$1] = $2 }
     END { for (id in c) { best = ""; for (s in shown) if (s + 0 >= id + 0 && (best == "" || shown[s] + 0 < best + 0)) best = shown[s];
             if (best != "") printf "%.1f\n", (best - c[id]) / 1000 } }' "$trace" "$home/committed" | sort -n > "$home/lat"
awk '{a[NR] = $1} END { printf "commit to screen (%d rows): median %.1f ms, p95 %.1f ms, max %.1f ms\n", NR, a[int((NR + 1) / 2)], a[int(NR * 0.95 + 0.5)], a[NR] }' "$home/lat"

key() { tmux send-keys -t $s "$@"; }
filt() { # label, keys...
  local label=$1; shift
  local n; n=$(grep -c filter_frame "$trace" || true)
  for k in "$@"; do key "$k"; sleep 0.05; done
  for _ in $(seq 1 600); do [ "$(grep -c filter_frame "$trace")" -gt "$n" ] && break; sleep 0.05; done
  printf "filter %-34s %s ms\n" "$label" "$(grep filter_frame "$trace" | tail -1 | awk '{print $3}')"
}
filt "denied only (d)" d
filt "all statuses again (d)" d
filt "skill avi (s, type, Enter)" s a v i Enter
filt "tool delete_pool (t, type, Enter)" t d e l e t e _ p o o l Enter
filt "clear (c)" c
filt "range 1h (r)" r
filt "range 24h (r)" r
filt "range all (r r r)" r r r
filt "search 'team-31' (common; / ... Enter)" / t e a m - 3 1 Enter
filt "clear (c)" c
filt "search 'bundle-4709' (rare: reads all)" / b u n d l e - 4 7 0 9 Enter
filt "clear (c)" c
stats() { # label: Tab to the stats pane, time it, Tab back
  local n; n=$(grep -c stats_frame "$trace" || true)
  key Tab
  for _ in $(seq 1 600); do [ "$(grep -c stats_frame "$trace")" -gt "$n" ] && break; sleep 0.05; done
  printf "stats pane, %-27s %s ms\n" "$1" "$(grep stats_frame "$trace" | tail -1 | awk '{print $3}')"
  key Tab
}
stats "all rows (rollups)"
filt "denied only (d)" d
stats "denied only (scan)"
filt "clear (c)" c
for _ in $(seq 1 100); do key PageUp; done
sleep 1
rss=$(awk '/VmRSS/ {printf "%.1f", $2/1024}' /proc/$pid/status)
peak=$(awk '/VmHWM/ {printf "%.1f", $2/1024}' /proc/$pid/status)
echo "after 100 pages back and the filters above: RSS $rss MB, peak $peak MB"
key q
sleep 0.5
tmux kill-session -t $s 2>/dev/null || true
[ -n "${KEEP:-}" ] && echo "kept $home" || rm -rf "$home"
