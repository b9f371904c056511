"""Where the Python package puts rules.yaml under this environment; prints
`RuntimeError` when it cannot resolve the home."""
try:
    from vmware_policy.paths import ops_path
    print(ops_path("rules.yaml"))
except RuntimeError:
    print("RuntimeError")
