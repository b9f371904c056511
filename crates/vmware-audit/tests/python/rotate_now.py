"""Run the Python package's own rotation procedure once, now (threshold 0)."""
import logging, sys
logging.disable(logging.CRITICAL)
import vmware_policy.audit as audit

audit._MAX_DB_SIZE_BYTES = 0
engine = audit.get_engine()
before = sorted(p.name for p in engine._path.parent.glob("audit.*.db"))
engine._maybe_rotate()
after = sorted(p.name for p in engine._path.parent.glob("audit.*.db"))
print(len(after) - len(before))
