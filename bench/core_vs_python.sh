#!/usr/bin/env bash
# Measure the core hot paths of this crate and of the Python package
# (vmware-policy==1.24.3) on this machine, in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/venv.sh
echo "== Rust (criterion, median of the estimate in the middle column)"
cargo bench --bench hot_paths -- --noplot 2>&1 | grep -E "^[a-z_/]+|time:|thrpt:"
echo "== Python vmware-policy 1.24.3"
"$venv/bin/python" bench/python_core.py
