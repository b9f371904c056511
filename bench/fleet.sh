#!/usr/bin/env bash
# The fleet's figures on this machine, against a real PostgreSQL of its own:
#   1. ship throughput: `ship --once` of a 200,000-row database;
#   2. lag at 1,000 rows/s offered (a paced writer, the shipper running):
#      from the row's time on its host to its batch's transaction centrally,
#      p50 and p99;
#   3. `log --last 20` and `stats` on 10,000,000 central rows (50 hosts, 7 days).
# Needs PostgreSQL's server (apt-get install postgresql-15). Run as root or as
# a user who may run initdb. Release build.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p vmware-audit -p vmware-policy --examples --bins
BIN=$PWD/target/release/vmware-audit
WRITER=$PWD/target/release/examples/paced_writer
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort | tail -1)
W=$(mktemp -d /tmp/fleet-bench.XXXX)
PORT=55499
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$W"
echo bench > "$W/pw"; [ "$(id -u)" = 0 ] && chown postgres "$W/pw"
as_pg "$PGBIN/initdb" -D "$W/data" -U postgres --auth=scram-sha-256 --pwfile "$W/pw" --locale=C.UTF-8 >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$W/data" -l "$W/log" -w -o "-p $PORT -k $W -c listen_addresses=127.0.0.1 -c shared_buffers=1GB -c max_wal_size=4GB" start >/dev/null
trap 'as_pg "$PGBIN/pg_ctl" -D "$W/data" -m immediate stop >/dev/null; rm -rf "$W"' EXIT
export PGPASSWORD=bench
URL=postgres://postgres@127.0.0.1:$PORT/postgres
psql() { command psql -X -q -t -A -h 127.0.0.1 -p $PORT -U postgres postgres "$@"; }
$BIN ship --init-schema --to $URL >/dev/null
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $($PGBIN/postgres --version)"

echo "== 1. ship throughput (200,000 rows, one host, release)"
H1=$W/h1; mkdir -p $H1
OPS_HOME=$H1 $BIN generate --rows 200000 --days 7 >/dev/null
/usr/bin/time -f "   wall %e s, max RSS %M KB" env OPS_HOME=$H1 $BIN ship --once --to $URL --host-id bulk 2>&1 | sed 's/^/   /'
psql -c "SELECT '   central rows: ' || COUNT(*) FROM vmware_audit_fleet WHERE host_id = 'bulk'"

echo "== 2. lag at 1,000 rows/s offered for 30 s (shipper polling every 200 ms)"
H2=$W/h2; mkdir -p $H2
OPS_HOME=$H2 $BIN ship --to $URL --host-id paced 2>/dev/null &
SHIP=$!
OPS_HOME=$H2 $WRITER 1000 30 | sed 's/^/   writer: /'
sleep 2
kill -TERM $SHIP; wait $SHIP || true
psql -c "SELECT '   rows ' || COUNT(*) || ', lag p50 ' || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY l)::numeric, 1) || ' ms, p99 ' || round(percentile_cont(0.99) WITHIN GROUP (ORDER BY l)::numeric, 1) || ' ms, max ' || round(max(l)::numeric, 1) || ' ms' FROM (SELECT extract(epoch FROM ingested_at - ts::timestamptz) * 1000 AS l FROM vmware_audit_fleet WHERE host_id = 'paced') x"

echo "== 3. 10,000,000 central rows (50 hosts, 7 days)"
START=$(date +%s)
psql -c "INSERT INTO vmware_audit_fleet (host_id, db_uuid, row_id, ts, skill, tool, params, result, status, duration_ms, agent, \"user\", risk_level, surface)
SELECT 'host-' || (g % 50), 'bench-' || (g % 50), g,
       to_char(now() AT TIME ZONE 'UTC' - interval '7 days' + g * interval '60 ms', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"'),
       (ARRAY['vsphere','nsx','avi','aria'])[1 + g % 4],
       (ARRAY['list_vms','delete_vm','get_host','create_rule','delete_pool','power_off_vm'])[1 + g % 6],
       '{\"target\": \"vm-' || (g % 997) || '\"}', '{}',
       CASE WHEN g % 23 = 0 THEN 'denied' WHEN g % 41 = 0 THEN 'error' ELSE 'ok' END,
       g % 3000, (ARRAY['claude','codex','local'])[1 + g % 3], 'user' || (g % 7),
       (ARRAY['low','medium','high','critical'])[1 + g % 4], 'mcp-stdio'
FROM generate_series(1, 10000000) g"
psql -c "VACUUM ANALYZE vmware_audit_fleet"
echo "   loaded in $(( $(date +%s) - START )) s; table $(psql -c "SELECT pg_size_pretty(pg_total_relation_size('vmware_audit_fleet'))")"
t() { local s=$(date +%s%N); "$@" >/dev/null; echo $(( ($(date +%s%N) - s) / 1000000 )); }
for i in 1 2 3; do t $BIN --source $URL log --last 20; done | sort -n | head -1 | sed 's/^/   log --last 20: /; s/$/ ms (best of 3)/'
for i in 1 2 3; do t $BIN --source $URL log --last 20 --host host-7 --status denied; done | sort -n | head -1 | sed 's/^/   log --last 20 --host host-7 --status denied: /; s/$/ ms/'
for i in 1 2; do t $BIN --source $URL stats --days 1; done | sort -n | head -1 | sed 's/^/   stats --days 1 (1.4M rows): /; s/$/ ms/'
for i in 1 2; do t $BIN --source $URL stats --days 7; done | sort -n | head -1 | sed 's/^/   stats --days 7 (all 10M rows): /; s/$/ ms/'
