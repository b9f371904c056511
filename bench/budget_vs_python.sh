#!/usr/bin/env bash
# The runaway breaker's cost per call, ours and Python's, in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/venv.sh
cargo bench -q -p vmware-policy --bench budget 2>&1 | grep -E "^budget|time:"
"$venv/bin/python" bench/python_budget.py
