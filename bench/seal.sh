#!/usr/bin/env bash
# Seal and verify on a 1M-row database (and 3M with ROWS=3000000): wall time
# and peak memory (max RSS) of each, with the release binary.
#   bench/seal.sh            # 1,000,000 rows
set -euo pipefail
ROWS=${ROWS:-1000000}
cd "$(dirname "$0")/.."
cargo build --release -q -p vmware-audit
BIN=$PWD/target/release/vmware-audit
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
export OPS_HOME=$DIR
"$BIN" generate --rows "$ROWS" >/dev/null
"$BIN" seal --init-key >/dev/null
measure() { # label, command...
  local label=$1; shift
  python3 - "$label" "$@" <<'PY'
import resource, subprocess, sys, time
label, cmd = sys.argv[1], sys.argv[2:]
t = time.perf_counter()
out = subprocess.run(cmd, capture_output=True, text=True)
dt = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"{label:<34} {dt:8.2f} s   max RSS {rss:6.1f} MB   exit {out.returncode}")
PY
}
echo "rows: $ROWS ($(du -h "$DIR/audit.db" | cut -f1) database)"
measure "seal (every row, first time)" "$BIN" seal
measure "seal again (nothing new)" "$BIN" seal
measure "verify" "$BIN" verify
echo "seal store: $(du -sh "$DIR/seal" | cut -f1)"
