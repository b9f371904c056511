"""A Python skill process writing N rows tagged writer=<tag>, seq=<i>.
Optional third argument: a rotation threshold in bytes (patched, as tests do)."""
import sys, logging
logging.disable(logging.CRITICAL)
import vmware_policy.audit as audit

tag, n = sys.argv[1], int(sys.argv[2])
if len(sys.argv) > 3:
    audit._MAX_DB_SIZE_BYTES = int(sys.argv[3])
pad = sys.argv[4] if len(sys.argv) > 4 else ""
engine = audit.get_engine()
for i in range(n):
    engine.log(skill="pyskill", tool="py_tool", params={"writer": tag, "seq": i, "pad": pad}, status="ok")
if engine.lost_rows:
    print(f"lost {engine.lost_rows}", file=sys.stderr)
    sys.exit(3)
