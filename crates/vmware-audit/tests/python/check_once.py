"""Decide one operation with the Python package's engine: prints allowed and rule."""
import logging, sys
from pathlib import Path

logging.disable(logging.CRITICAL)
from vmware_policy.policy import PolicyEngine

r = PolicyEngine(Path(sys.argv[1])).check_allowed(sys.argv[2], env=sys.argv[3] if len(sys.argv) > 3 else "")
print(r.allowed, r.rule)
