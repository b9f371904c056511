#!/usr/bin/env bash
# The rule editor, measured through the real TUI in tmux:
#  - replay of 100,000 rows (the newest of a generated database) under the
#    rules in force and the buffer;
#  - from a save in the TUI (here the emergency freeze, F9 y, and its undoing)
#    to the first call of another process that obeys it: a skill calls a tool
#    every 5 ms and logs when each call's row was committed.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin vmware-audit --example skill
bin=$PWD/target/release/vmware-audit
skill=$PWD/target/release/examples/skill
home=$(mktemp -d)
trace=$home/trace
export OPS_HOME=$home
$bin generate --rows 200000 --days 1 --seed 3 >/dev/null
cat > "$home/rules.yaml" <<'YAML'
deny:
  - name: no-prod-deletes
    operations: ["delete_*"]
    environments: [production]
YAML
s=vmware-audit-editor-bench
tmux kill-session -t $s 2>/dev/null || true
tmux new-session -d -s $s -x 140 -y 45 "VMWARE_AUDIT_TUI_TRACE=$trace OPS_HOME=$home $bin tui --edit"
tmux set -t $s escape-time 0
key() { tmux send-keys -t $s "$@"; sleep 0.1; }
for _ in $(seq 1 100); do grep -q first_rows "$trace" 2>/dev/null && break; sleep 0.05; done
sleep 0.5
# The buffer denies every delete (not only in production); replay the newest 100,000 calls.
key C-f; for c in e n v i r o n; do key $c; done; key Enter; key Escape
key C-a; key C-k; key C-k
key F3; key Tab; key Tab; key Enter
for _ in $(seq 1 600); do grep -q "^[0-9]* replay" "$trace" && break; sleep 0.05; done
grep "^[0-9]* replay" "$trace" | tail -1 | awk '{printf "replay of %d rows under both rule sets: %d ms (in the TUI'"'"'s data worker)\n", $3, $4}'
tmux capture-pane -p -t $s | grep -E "calls in|newly" | head -3
key Escape; key C-z; key C-z; key C-z

# Save -> first obeying call, 10 freezes and 10 unfreezes.
$skill list_dfw_policies --repeat 100000 --interval-ms 5 --rotate-bytes 100000000000 \
  --committed "$home/committed" >/dev/null 2>&1 &
loop=$!
sleep 1
for i in $(seq 1 10); do
  key F9; key y; sleep 0.7
  key F9; key y; sleep 0.7
done
kill $loop; wait $loop 2>/dev/null || true
python3 - "$home" <<'PY'
import sqlite3, sys
home = sys.argv[1]
saves = [int(l.split()[0]) for l in open(f"{home}/trace") if l.rstrip().endswith(" saved")]
commit = dict(tuple(map(int, l.split())) for l in open(f"{home}/committed"))
rows = sqlite3.connect(f"{home}/audit.db").execute(
    "SELECT id, status FROM audit_log WHERE tool = 'list_dfw_policies' ORDER BY id").fetchall()
calls = [(commit[i], st) for i, st in rows if i in commit]
delays = []
for n, t in enumerate(saves):
    want_denied = n % 2 == 0          # freeze, unfreeze, freeze, ...
    after = [(c, st) for c, st in calls if c > t]
    first = next((c for c, st in after if (st == "denied") == want_denied), None)
    if first is not None:
        delays.append((first - t) / 1000)
delays.sort()
if delays:
    print(f"save -> first call that obeys it, in another process ({len(delays)} saves): "
          f"median {delays[len(delays)//2]:.0f} ms, max {delays[-1]:.0f} ms (calls every 5 ms)")
PY
key q
tmux kill-session -t $s 2>/dev/null || true
rm -rf "$home"
