"""Python's runaway breaker, measured as benches/budget.rs measures ours:
10,000 distinct argument sets in the window, then the median cost of one
check_and_record (each a repeat of one of the 10,000)."""
import statistics
import time

from vmware_policy.budget import BudgetTracker

t = BudgetTracker()
for i in range(10_000):
    t.check_and_record("get_vm", {"vm": f"vm-{i}", "fields": ["cpu", "mem"]})
samples = []
i = 0
for _ in range(20):
    t0 = time.perf_counter()
    for _ in range(200):
        i = (i + 1) % 10_000
        try:
            t.check_and_record("get_vm", {"vm": f"vm-{i}", "fields": ["cpu", "mem"]})
        except Exception:  # noqa: BLE001 — a trip is a result too
            pass
    samples.append((time.perf_counter() - t0) / 200)
print(f"python budget/check_10k_distinct_in_window: {statistics.median(samples) * 1e6:.1f} us")
