-- The fleet's audit log in PostgreSQL: what `vmware-audit ship --init-schema`
-- runs (idempotent), or `psql -f fleet.sql` as the database's owner.
--
-- One row per audit row of every host: the audit columns of compat.md, and
-- where the row came from (host_id, db_uuid: the database file, row_id: its id
-- there). (host_id, db_uuid, row_id) is unique, so a batch sent twice lands
-- once. ingest_seq numbers rows in the order they were committed: shippers
-- take one transaction-level advisory lock around each batch, so a reader
-- following ingest_seq never passes a row that commits later.

CREATE TABLE IF NOT EXISTS vmware_audit_fleet (
    ingest_seq     BIGSERIAL PRIMARY KEY,
    host_id        TEXT NOT NULL,
    db_uuid        TEXT NOT NULL,
    row_id         BIGINT NOT NULL,
    ts             TEXT COLLATE "C" NOT NULL,
    skill          TEXT NOT NULL DEFAULT '',
    tool           TEXT NOT NULL DEFAULT '',
    params         TEXT NOT NULL DEFAULT '{}',
    result         TEXT NOT NULL DEFAULT '{}',
    status         TEXT NOT NULL DEFAULT 'ok',
    duration_ms    BIGINT NOT NULL DEFAULT 0,
    agent          TEXT NOT NULL DEFAULT 'unknown',
    workflow_id    TEXT NOT NULL DEFAULT '',
    "user"         TEXT NOT NULL DEFAULT 'unknown',
    risk_level     TEXT NOT NULL DEFAULT 'low',
    rationale      TEXT NOT NULL DEFAULT '',
    approved_by    TEXT NOT NULL DEFAULT '',
    risk_tier      TEXT NOT NULL DEFAULT '',
    surface        TEXT NOT NULL DEFAULT '',
    correlation_id TEXT NOT NULL DEFAULT '',
    role           TEXT NOT NULL DEFAULT '',
    ingested_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (host_id, db_uuid, row_id)
);

-- Keyset by time (log --since, a jump) and by host; by ingest is the key.
CREATE INDEX IF NOT EXISTS vmware_audit_fleet_ts ON vmware_audit_fleet (ts, ingest_seq);
CREATE INDEX IF NOT EXISTS vmware_audit_fleet_host ON vmware_audit_fleet (host_id, ingest_seq);

-- Rows a host lost before they were shipped (Python's retention deleted the
-- archive holding them): from_id..to_id of one database file, to_id NULL
-- when the end is unknown.
CREATE TABLE IF NOT EXISTS vmware_audit_gaps (
    host_id  TEXT NOT NULL,
    db_uuid  TEXT NOT NULL,
    from_id  BIGINT NOT NULL,
    to_id    BIGINT,
    reason   TEXT NOT NULL,
    found_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (host_id, db_uuid, from_id)
);

-- What readers query: the same column names as a local audit_log (id is the
-- ingest order, host the host_id), so one filter reads both.
CREATE OR REPLACE VIEW vmware_audit_log AS
SELECT ingest_seq AS id, host_id AS host, db_uuid, row_id, ts, skill, tool,
       params, result, status, duration_ms, agent, workflow_id, "user",
       risk_level, rationale, approved_by, risk_tier, surface, correlation_id,
       role, ingested_at
FROM vmware_audit_fleet;

-- A shipper's cursor: the last row of one database file that is committed
-- here. It is read from the rows themselves, so it can never disagree with
-- them; SECURITY DEFINER so the shipper's role needs no SELECT on the table.
CREATE OR REPLACE FUNCTION vmware_audit_cursor(p_host TEXT, p_db_uuid TEXT)
RETURNS BIGINT
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT COALESCE(MAX(row_id), 0) FROM public.vmware_audit_fleet
    WHERE host_id = p_host AND db_uuid = p_db_uuid
$$;

-- Roles, without LOGIN: grant them to each host's and each reader's login
-- role (CREATE ROLE web1 LOGIN PASSWORD '...' IN ROLE vmware_audit_ingest).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vmware_audit_ingest') THEN
        CREATE ROLE vmware_audit_ingest NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vmware_audit_reader') THEN
        CREATE ROLE vmware_audit_reader NOLOGIN;
    END IF;
END
$$;

-- A shipper can add rows and gaps, and read its own cursor: nothing else. It
-- cannot read other hosts' rows, change or delete any row.
REVOKE ALL ON vmware_audit_fleet, vmware_audit_gaps, vmware_audit_log FROM vmware_audit_ingest;
GRANT INSERT ON vmware_audit_fleet, vmware_audit_gaps TO vmware_audit_ingest;
GRANT USAGE ON SEQUENCE vmware_audit_fleet_ingest_seq_seq TO vmware_audit_ingest;
REVOKE ALL ON FUNCTION vmware_audit_cursor(TEXT, TEXT) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vmware_audit_cursor(TEXT, TEXT) TO vmware_audit_ingest;

-- A reader reads; it writes nothing.
GRANT SELECT ON vmware_audit_log, vmware_audit_fleet, vmware_audit_gaps TO vmware_audit_reader;
