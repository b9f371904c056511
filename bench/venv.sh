# Sourced by the bench scripts: sets $venv to the venv with the Python package
# the contract is written against and the Python MCP SDK (the same one
# `cargo test` makes, marked the same way), creating it on first use.
venv=target/pyvenv-vmware-policy-1.24.3
wanted="vmware-policy==1.24.3 mcp==2.3.0"
if [ "$(cat "$venv/.ready" 2>/dev/null)" != "$wanted" ]; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check $wanted
  printf '%s' "$wanted" > "$venv/.ready"
fi
