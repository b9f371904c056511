# Sourced by the bench scripts: sets $venv to the venv with the Python package
# the contract is written against (the same one `cargo test` makes), creating
# it on first use.
venv=target/pyvenv-vmware-policy-1.24.3
if [ ! -f "$venv/.ready" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check vmware-policy==1.24.3
  echo vmware-policy==1.24.3 > "$venv/.ready"
fi
