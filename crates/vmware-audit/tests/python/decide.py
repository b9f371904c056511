"""Decide every case of a corpus with the Python engine; print JSON results.
Input: a JSON file [{"rules": text, "cases": [[op, env, risk, [aliases]], ...]}, ...]."""
import json, os, sys, tempfile, logging
from pathlib import Path

logging.disable(logging.CRITICAL)
from vmware_policy.policy import PolicyEngine

corpus = json.load(open(sys.argv[1], encoding="utf-8"))
out = []
with tempfile.TemporaryDirectory() as d:
    for i, entry in enumerate(corpus):
        p = Path(d) / f"rules{i}.yaml"
        p.write_text(entry["rules"], encoding="utf-8")
        engine = PolicyEngine(p)
        results = []
        for op, env, risk, aliases in entry["cases"]:
            try:
                r = engine.check_allowed(op, env=env, risk_level=risk, aliases=tuple(aliases))
                results.append({"allowed": r.allowed, "rule": str(r.rule)})
            except Exception as exc:  # Python fails the tool call here
                results.append({"raised": type(exc).__name__})
        out.append(results)
json.dump(out, sys.stdout)
