"""Decide calls with the Python engine over rules files written byte for byte.
argv: a directory of rules files, a JSON file of cases [[op, env, risk], ...].
Prints {file name: {"source": ..., "decisions": [{"allowed", "rule"} | {"raised"}]}}."""
import json, logging, os, sys

logging.disable(logging.CRITICAL)
from vmware_policy.policy import PolicyEngine

directory, cases = sys.argv[1], json.load(open(sys.argv[2], encoding="utf-8"))
out = {}
for name in sorted(os.listdir(directory)):
    engine = PolicyEngine(os.path.join(directory, name))
    decisions = []
    for op, env, risk in cases:
        try:
            r = engine.check_allowed(op, env=env, risk_level=risk)
            decisions.append({"allowed": r.allowed, "rule": str(r.rule)})
        except Exception as exc:  # the tool call fails: for us, denied
            decisions.append({"raised": type(exc).__name__})
    out[name] = {"source": engine.active_rules_source(), "decisions": decisions}
json.dump(out, sys.stdout)
