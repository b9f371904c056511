"""Ask the Python package what its CLI's `log` would list (AuditEngine.query,
the function `vmware-audit log` and `export` call) or what `stats` counts.
argv[1]: the database; argv[2]: JSON of keyword arguments, or "stats:<days>"."""
import json, sys, logging
logging.disable(logging.CRITICAL)
from vmware_policy.audit import AuditEngine

engine = AuditEngine(sys.argv[1])
if sys.argv[2].startswith("stats:"):
    json.dump(engine.stats(days=int(sys.argv[2][6:])), sys.stdout)
else:
    json.dump(engine.query(**json.loads(sys.argv[2])), sys.stdout, ensure_ascii=False)
