"""Drive the Rust example MCP skill with the Python MCP SDK (`mcp` on PyPI):
stdio_client + ClientSession, as an MCP host does. One JSON line per step.

usage: mcp_client.py SERVER_BIN SCENARIO [ARGS...]
  session          tools listed, a prod denial, a lab delete, a traced list,
                   a create, a cancelled slow list
  exit-mid-call    start a slow call, then exit without closing anything
  panic            call create_dfw_rule with MCP_SKILL_PANIC_TOOL set
  bench N [--no-guard]  N list calls, median round trip in microseconds
"""

import json
import os
import statistics
import sys
import time

import anyio
import mcp_types as types
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def out(step, **fields):
    print(json.dumps({"step": step, **fields}), flush=True)


def result_fields(r):
    text = "\n".join(c.text for c in r.content if getattr(c, "text", None) is not None)
    return {"is_error": bool(r.is_error), "structured": r.structured_content, "text": text}


async def main():
    server, scenario, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
    env = dict(os.environ)
    args = [a for a in rest if a.startswith("--")]
    if scenario == "panic":
        env["MCP_SKILL_PANIC_TOOL"] = "create_dfw_rule"
    params = StdioServerParameters(command=server, args=args, env=env)
    info = types.Implementation(name="pytest-mcp-host", version="1.0")
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write, client_info=info) as session:
            await session.initialize()
            if scenario == "session":
                tools = await session.list_tools()
                out("tools", names=sorted(t.name for t in tools.tools))
                r = await session.call_tool(
                    "delete_dfw_policy",
                    {"target": "nsx-prod", "policy_id": "web-tier", "password": "s3cret-prod"},
                )
                out("prod_delete", **result_fields(r))
                r = await session.call_tool(
                    "delete_dfw_policy",
                    {"target": "nsx-lab", "policy_id": "web-tier", "password": "s3cret-lab"},
                )
                out("lab_delete", **result_fields(r))
                r = await session.call_tool(
                    "list_dfw_policies",
                    {"target": "nsx-lab"},
                    meta={"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"},
                )
                out("traced_list", **result_fields(r))
                r = await session.call_tool("create_dfw_rule", {"target": "nsx-lab", "name": "r1"})
                out("create", **result_fields(r))
                started = time.monotonic()
                with anyio.move_on_after(0.4):
                    await session.call_tool(
                        "list_dfw_policies", {"target": "nsx-lab", "sleep_ms": 20000}
                    )
                out("cancelled_list", waited_ms=int((time.monotonic() - started) * 1000))
                # The server still answers after the cancellation.
                r = await session.call_tool("list_dfw_policies", {"target": "nsx-lab"})
                out("after_cancel", **result_fields(r))
            elif scenario == "exit-mid-call":
                async with anyio.create_task_group() as tg:
                    tg.start_soon(
                        session.call_tool,
                        "list_dfw_policies",
                        {"target": "nsx-lab", "sleep_ms": 20000},
                    )
                    await anyio.sleep(0.5)
                    out("exiting")
                    os._exit(0)
            elif scenario == "panic":
                r = await session.call_tool("create_dfw_rule", {"target": "nsx-lab", "name": "r9"})
                out("panic", **result_fields(r))
                r = await session.call_tool("list_dfw_policies", {"target": "nsx-lab"})
                out("after_panic", **result_fields(r))
            elif scenario == "bench":
                n = int(rest[0])
                times = []
                for i in range(n):
                    t0 = time.perf_counter()
                    r = await session.call_tool("list_dfw_policies", {"target": "nsx-lab"})
                    times.append(time.perf_counter() - t0)
                    assert not r.is_error, r
                out("bench", n=n, median_us=round(statistics.median(times) * 1e6, 1),
                    p95_us=round(sorted(times)[int(n * 0.95) - 1] * 1e6, 1))
            else:
                raise SystemExit(f"unknown scenario {scenario}")


anyio.run(main)
