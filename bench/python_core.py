"""The Python package (vmware-policy 1.24.3) on the same hot paths as
benches/hot_paths.rs, on this machine, in this run. Prints one line a figure."""
import json, os, statistics, sqlite3, sys, tempfile, threading, time, logging
from pathlib import Path

logging.disable(logging.CRITICAL)
home = tempfile.mkdtemp()
os.environ["OPS_HOME"] = home
# The runaway breaker would stop a benchmark loop of identical calls (0 disables it).
os.environ["VMWARE_RUNAWAY_MAX"] = "0"

def hundred_rules():
    s = "deny:\n"
    for i in range(100):
        k = i % 4
        if k == 0:
            s += f'  - name: r{i}\n    operations: ["delete_thing{i}_*", "*_op{i}"]\n'
        elif k == 1:
            s += f'  - name: r{i}\n    operations: ["create_x{i}"]\n    environments: ["prod-{i}", "production"]\n'
        elif k == 2:
            s += f'  - name: r{i}\n    operations: ["vm_*_{i}"]\n    min_risk_level: high\n'
        else:
            s += f'  - name: r{i}\n    operations: ["reboot_[ab]{i}"]\n    clients: ["ci-*"]\n'
    return s

Path(home, "rules.yaml").write_text(hundred_rules())

from vmware_policy.policy import PolicyEngine
from vmware_policy import vmware_tool
import vmware_policy.decorators as decorators

def per_call_us(fn, n):
    samples = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - t) / n * 1e6)
    return statistics.median(samples)

engine = PolicyEngine(Path(home, "rules.yaml"))
assert engine.check_allowed("list_vms", env="production", risk_level="high").rule == "default_allow"
print(f"python policy_check/100_rules_no_match: {per_call_us(lambda: engine.check_allowed('list_vms', env='production', risk_level='high'), 2000):.1f} us")

def list_dfw_policies(limit: int = 10, target: str = ""):
    return 1
list_dfw_policies.__module__ = "vmware_nsx_security.tools"
tool = vmware_tool(list_dfw_policies)

real_audit = decorators.audit_call
decorators.audit_call = lambda *a, **k: None
print(f"python guard/noop_auditing_off: {per_call_us(lambda: tool(limit=10), 2000):.1f} us")
decorators.audit_call = real_audit
os.remove(Path(home, "rules.yaml"))  # the durable figures: no rules, as in the Rust bench

conn = sqlite3.connect(Path(home, "raw.db"), isolation_level=None)
conn.execute("PRAGMA journal_mode=WAL"); conn.execute("PRAGMA synchronous=FULL")
from vmware_policy.audit import _CREATE_TABLE, _INSERT
conn.execute(_CREATE_TABLE)
row = ("2026-11-21T20:18:00.123456+00:00", "nsx_security", "list_dfw_policies", '{"limit": 10}', "1", "ok", 0, "unknown", "", "root", "low", "", "", "", "", "", "")
print(f"python durable/sqlite_one_row_commit_wal_full: {per_call_us(lambda: conn.execute(_INSERT, row), 300):.1f} us")
print(f"python durable/guard_noop_with_durable_row: {per_call_us(lambda: tool(limit=10), 300):.1f} us")

PER_THREAD = 200
def eight(fn):
    t = time.perf_counter()
    threads = [threading.Thread(target=lambda: [fn() for _ in range(PER_THREAD)]) for _ in range(8)]
    for th in threads: th.start()
    for th in threads: th.join()
    return 8 * PER_THREAD / (time.perf_counter() - t)
print(f"python eight_threads/guarded_calls: {eight(lambda: tool(limit=10)):.0f} rows/s")
