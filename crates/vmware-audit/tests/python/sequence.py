"""Run a sequence of tool calls through the Python package's @vmware_tool in
one process (the oracle for examples/sequence.rs; the same calls file).

usage: sequence.py CALLS.json
"""
import json
import sys
import time

from vmware_policy import vmware_tool

_tools = {}


def tool(skill, name, risk, sensitive, fails, work_ms):
    key = (skill, name, risk, tuple(sensitive), fails, work_ms)
    if key not in _tools:
        def fn(**kwargs):
            time.sleep(work_ms / 1000)
            if fails:
                raise RuntimeError("the NSX API answered 503")
            return {"done": True}

        fn.__name__ = fn.__qualname__ = name
        fn.__module__ = f"vmware_{skill}.tools"
        _tools[key] = vmware_tool(risk_level=risk, sensitive_params=list(sensitive) or None)(fn)
    return _tools[key]


for c in json.load(open(sys.argv[1])):
    f = tool(
        c.get("skill", "nsx_security"),
        c["tool"], c.get("risk", "low"), c.get("sensitive", []), bool(c.get("fails")),
        c.get("work_ms", 0),
    )
    for _ in range(c.get("repeat", 1)):
        try:
            f(**dict(c.get("params") or {}))
        except Exception:  # noqa: BLE001 — denials and failures are the point
            pass
    if c.get("sleep_ms"):
        time.sleep(c["sleep_ms"] / 1000)
