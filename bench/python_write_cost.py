"""Does a database we have touched slow the Python package's writes? Makes a
database with vmware-policy 1.24.3 alone (argv[3] rows), copies it, lets our
side touch the copy (argv[1], the example skill, writes rows through the
guard; argv[2], vmware-audit, runs stats, log --search and optimize, which
build the sidecar beside it), then times the package's AuditEngine.log (a
connection, an insert and a commit per row) on both in pairs: each round one
row to each file, the order alternating, argv[4] rounds (default 3000). The
figure is the median over rounds of touched/own, with a 95% interval from the
order statistics: this VM's fsync latency drifts too much between blocks of
rows for block medians to show a few percent."""
import os, shutil, sqlite3, statistics, subprocess, sys, tempfile, time, logging
logging.disable(logging.CRITICAL)
from vmware_policy.audit import AuditEngine

skill, ours, n = sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 20000
tmp = tempfile.mkdtemp()
own, touched = os.path.join(tmp, "own"), os.path.join(tmp, "touched")
os.makedirs(own); os.makedirs(touched)
e = AuditEngine(os.path.join(own, "audit.db"))
params = {"target": "vc1.corp.example", "name": "vm-0042", "filters": {"folder": "/dc1/vm/team-7"}, "limit": 50}
c = sqlite3.connect(os.path.join(own, "audit.db"))
for i in range(n):
    e.log(skill="avi", tool="list_pools", params=params, result={"i": i}, agent="claude")
c.execute("PRAGMA wal_checkpoint(TRUNCATE)"); c.close()
shutil.copy(os.path.join(own, "audit.db"), os.path.join(touched, "audit.db"))
env = dict(os.environ, OPS_HOME=touched, VMWARE_RUNAWAY_MAX="0")
subprocess.run([skill, "list_dfw_policies", "--repeat", "500"], env=env, check=True, capture_output=True)
for args in (["stats", "--days", "30"], ["log", "--search", "vm-0042"], ["optimize"]):
    subprocess.run([ours, *args], env=env, check=True, capture_output=True)
# Closed at once: a connection left open would keep each Python write from
# being the last one to close the file (no checkpoint and WAL delete on close),
# and make the touched file look 2.6x faster to write.
probe = sqlite3.connect(os.path.join(touched, "audit.db"))
schema = [r[0] for r in probe.execute("SELECT name FROM sqlite_master")]
probe.close()
engines = {"own": AuditEngine(os.path.join(own, "audit.db")), "touched": AuditEngine(os.path.join(touched, "audit.db"))}
rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3000
def one(engine, i):
    t = time.perf_counter()
    engine.log(skill="avi", tool="delete_pool", params=params, result={"deleted": i}, agent="claude", risk_level="critical")
    return time.perf_counter() - t
for i in range(100):  # warm both files' caches
    one(engines["own"], i); one(engines["touched"], i)
times = {"own": [], "touched": []}
ratios = []
for i in range(rounds):
    order = ["own", "touched"] if i % 2 == 0 else ["touched", "own"]
    t = {name: one(engines[name], i) for name in order}
    times["own"].append(t["own"]); times["touched"].append(t["touched"])
    ratios.append(t["touched"] / t["own"])
ratios.sort()
half = int(0.98 * len(ratios) ** 0.5)
mid = len(ratios) // 2
a, b = statistics.median(times["own"]) * 1e6, statistics.median(times["touched"]) * 1e6
print(f"python write cost per row, {rounds} paired rounds: {a:.0f} us on its own database, {b:.0f} us on one we touched; "
      f"touched/own paired median {ratios[mid]:.3f} [{ratios[mid - half]:.3f} {ratios[mid + half]:.3f}]; "
      f"schema of the touched file: {', '.join(schema)}")
shutil.rmtree(tmp)
