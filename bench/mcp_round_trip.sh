#!/usr/bin/env bash
# An MCP round trip from the Python MCP SDK (stdio_client + ClientSession) to
# the example skill, with and without the guard: 200 `list_dfw_policies`
# calls each, medians and p95, the two runs interleaved 3 times.
#   bench/mcp_round_trip.sh [calls]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/venv.sh
n="${1:-200}"
cargo build -q --release -p vmware-policy --example mcp_skill --features rmcp
bin=target/release/examples/mcp_skill
home="$(mktemp -d)"
trap 'rm -rf "$home"' EXIT
printf 'deny:\n  - name: no-delete-in-prod\n    operations: ["delete_*"]\n    environments: [production]\n' > "$home/rules.yaml"
for round in 1 2 3; do
  for mode in guarded --no-guard; do
    args=()
    [ "$mode" = --no-guard ] && args=(--no-guard)
    printf 'round %s %-9s ' "$round" "$mode"
    OPS_HOME="$home" "$venv/bin/python" crates/vmware-audit/tests/python/mcp_client.py "$bin" bench "$n" "${args[@]}"
  done
done
echo "rows written by the guarded runs: $(sqlite3 "$home/audit.db" 'select count(*) from audit_log' 2>/dev/null || echo '?')"
