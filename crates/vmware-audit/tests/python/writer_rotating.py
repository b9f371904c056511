"""A Python skill process rotating at a small threshold, as the package does at
100 MiB: argv = tag, rows, threshold bytes, pad, archives kept. Prints the seq
of every row whose log() returned without reporting a loss (acknowledged)."""
import sys, logging
logging.disable(logging.CRITICAL)
import vmware_policy.audit as audit

tag, n, threshold, pad, keep = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
audit._MAX_DB_SIZE_BYTES = threshold
audit._MAX_ARCHIVES = keep
engine = audit.get_engine()
acked = []
for i in range(n):
    before = engine.lost_rows
    engine.log(skill="pyskill", tool="py_tool", params={"writer": tag, "seq": i, "pad": pad}, status="ok")
    if engine.lost_rows == before:
        acked.append(i)
print(" ".join(map(str, acked)))
