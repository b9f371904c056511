"""Run a sequence of tool calls through the Python package's @vmware_tool in
one process (the oracle for examples/sequence.rs; the same calls file).

usage: sequence.py CALLS.json
"""
import json
import sys
import time

import typer
from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from vmware_policy import report_tool_failure, vmware_tool
from vmware_policy.cli_guard import guarded
from vmware_policy.guard import audit_call
from vmware_policy.surface import SURFACES, use_surface

_tools = {}


def tool(skill, name, risk, sensitive, fails, work_ms, reports, declines, cli):
    key = (skill, name, risk, tuple(sensitive), fails, work_ms, reports, declines, cli)
    if key not in _tools:
        def fn(**kwargs):
            time.sleep(work_ms / 1000)
            if declines:
                raise typer.Abort()  # the operator answered no
            if reports:
                report_tool_failure("the NSX API answered 503")
            if fails:
                raise RuntimeError("the NSX API answered 503")
            return {"done": True}

        fn.__name__ = fn.__qualname__ = name
        fn.__module__ = f"vmware_{skill}.tools"
        wrap = guarded if cli else vmware_tool
        _tools[key] = wrap(risk_level=risk, sensitive_params=list(sensitive) or None)(fn)
    return _tools[key]


for c in json.load(open(sys.argv[1])):
    f = tool(
        c.get("skill", "nsx_security"),
        c["tool"], c.get("risk", "low"), c.get("sensitive", []), bool(c.get("fails")),
        c.get("work_ms", 0), bool(c.get("reports_failure")), bool(c.get("declines")),
        bool(c.get("cli")),
    )
    client = c.get("client")
    for _ in range(c.get("repeat", 1)):
        # A network caller, as the SDK's auth middleware marks one.
        user = AuthenticatedUser(AccessToken(token="t", client_id=client, scopes=[])) if client else None
        token = auth_context_var.set(user)
        surface = c.get("surface")
        try:
            if surface in SURFACES:
                with use_surface(surface):
                    f(**dict(c.get("params") or {}))
            elif surface is not None:
                # use_surface refuses an unknown value; the audit call files it.
                audit_call(c.get("skill", "nsx_security"), c["tool"], params=c.get("params") or {},
                           result={"done": True}, status="ok", risk_level=c.get("risk", "low"),
                           surface=surface)
            else:
                f(**dict(c.get("params") or {}))
        except Exception:  # noqa: BLE001 — denials and failures are the point
            pass
        finally:
            auth_context_var.reset(token)
    if c.get("sleep_ms"):
        time.sleep(c["sleep_ms"] / 1000)
