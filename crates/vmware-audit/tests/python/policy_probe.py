"""The Python package's engine as a reader under load: check one operation in a
loop, print each rule it sees change to, stop at argv[2] (or after a minute)."""
import logging, sys, time
from pathlib import Path

logging.disable(logging.CRITICAL)
from vmware_policy.policy import PolicyEngine

path, stop = Path(sys.argv[1]), sys.argv[2]
engine = PolicyEngine(path)
print("ready", flush=True)
last, end, n = "", time.time() + 60, 0
while time.time() < end:
    n += 1
    try:
        rule = str(engine.check_allowed("probe").rule)
    except Exception as exc:  # Python raising on a malformed read
        rule = "RAISED " + type(exc).__name__
    if rule != last:
        print("python", rule, flush=True)
        last = rule
    if rule == stop:
        print(f"done after {n} checks", flush=True)
        sys.exit(0)
print(f"timeout after {n} checks", flush=True)
sys.exit(3)
