"""Does our derived structures (indexes, rollup triggers) slow the Python
package's writes? Takes a database made by our writer (argv[1]), copies it with
and without them, and times vmware-policy 1.24.3's AuditEngine.log (a
connection, an insert and a commit per row) on each, interleaved."""
import os, shutil, sqlite3, statistics, sys, tempfile, time, logging
logging.disable(logging.CRITICAL)
from vmware_policy.audit import AuditEngine

src, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 200
tmp = tempfile.mkdtemp()
with_db, without_db = os.path.join(tmp, "with.db"), os.path.join(tmp, "without.db")
c = sqlite3.connect(src); c.execute("PRAGMA wal_checkpoint(TRUNCATE)"); c.close()
shutil.copy(src, with_db); shutil.copy(src, without_db)
c = sqlite3.connect(without_db)
c.executescript("""DROP TRIGGER IF EXISTS audit_rollup_insert; DROP INDEX IF EXISTS audit_log_ts;
DROP INDEX IF EXISTS audit_log_status; DROP INDEX IF EXISTS audit_log_tool;
DROP TABLE IF EXISTS audit_rollup_status; DROP TABLE IF EXISTS audit_rollup_tool;
DROP TABLE IF EXISTS audit_rollup_agent; DROP TABLE IF EXISTS audit_meta;""")
c.close()
params = {"target": "vc1.corp.example", "name": "vm-0042", "filters": {"folder": "/dc1/vm/team-7"}, "limit": 50}
engines = {"without": AuditEngine(without_db), "with": AuditEngine(with_db)}
runs = {"without": [], "with": []}
for _ in range(5):
    for name, engine in engines.items():
        t = time.perf_counter()
        for i in range(n):
            engine.log(skill="avi", tool="delete_pool", params=params, result={"deleted": i}, agent="claude", risk_level="critical")
        runs[name].append((time.perf_counter() - t) / n * 1e6)
a, b = statistics.median(runs["without"]), statistics.median(runs["with"])
print(f"python write cost per row: {a:.0f} us without our indexes and rollups, {b:.0f} us with them ({(b / a - 1) * 100:+.1f}%)")
shutil.rmtree(tmp)
