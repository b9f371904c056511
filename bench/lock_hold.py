"""Longest hold of the shared file's write lock, seen from outside: polls
`BEGIN IMMEDIATE` (no busy wait) every 0.2 ms on argv[1] until the file
argv[2] exists, and prints the longest stretch during which every attempt
found the lock taken (what a Python writer with its 5 s busy timeout would
have waited). Each successful attempt is rolled back at once."""
import os, sqlite3, sys, time

db, stop = sys.argv[1], sys.argv[2]
c = sqlite3.connect(db, timeout=0, isolation_level=None)
longest, since, tries, busy = 0.0, None, 0, 0
while not os.path.exists(stop):
    tries += 1
    try:
        c.execute("BEGIN IMMEDIATE")
        c.execute("ROLLBACK")
        if since is not None:
            longest = max(longest, time.perf_counter() - since)
            since = None
    except sqlite3.OperationalError:
        busy += 1
        if since is None:
            since = time.perf_counter()
    time.sleep(0.0002)
if since is not None:
    longest = max(longest, time.perf_counter() - since)
print(f"longest write-lock hold seen: {longest * 1000:.0f} ms ({busy} of {tries} attempts busy)")
