"""Write rows through the Python package (its decorator and its engine), then
print every row as Python's sqlite3 reads it, as JSON."""
import json, os, sqlite3, sys
from pathlib import Path

from vmware_policy import vmware_tool
from vmware_policy.audit import get_engine


def tool(fn, **kw):
    fn.__module__ = "vmware_compat_skill.tools"
    return vmware_tool(**kw)(fn)


def list_things(target: str = "", limit: int = 10):
    return {"items": ["a", "b"], "note": "ünïcödé ✓ \"quoted\""}

def delete_thing(name: str, password: str = "", env: str = ""):
    return {"deleted": name, "token": "abc"}

def fails(x: int = 1):
    raise RuntimeError("connect failed: password=hunter2 at https://admin:pw@vc.local/sdk")

def previews(confirm: bool = False):
    return {"action": "preview", "would": "delete"}

list_things = tool(list_things)
delete_thing = tool(delete_thing, risk_level="critical", sensitive_params=["password"])
fails = tool(fails, risk_level="medium")
previews = tool(previews, risk_level="high")

def change(name: str, dry_run: bool = False):
    return {"changed": name}

change = tool(change, risk_level="medium")

list_things(target="vc1", limit=5)
delete_thing("web", password="s3cret")
try:
    fails(3)
except RuntimeError:
    pass
previews()
change("web", dry_run=True)
e = get_engine()
e.log(skill="raw", tool="odd", params={"nested": {"api_key": "k", "list": [1, 2.5, None, True]}},
      result=None, status="interrupted", duration_ms=7, agent="codex", workflow_id="wf-1",
      user="alice", risk_level="high", rationale="why", approved_by="bob", surface="mcp-https",
      correlation_id="0af7651916cd43dd8448eb211c80319c", role="operator")
e.log(skill="raw", tool="ctl\x1b[31m", params={"text": "\u202e bidi \x00 nul"}, status="budget_exceeded")

db = Path(os.environ["OPS_HOME"]) / "audit.db"
conn = sqlite3.connect(db)
conn.row_factory = sqlite3.Row
rows = [dict(r) for r in conn.execute("SELECT * FROM audit_log ORDER BY id")]
json.dump(rows, sys.stdout, ensure_ascii=False)
