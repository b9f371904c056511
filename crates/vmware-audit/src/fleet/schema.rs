//! The central schema (`sql/fleet.sql`), created by `ship --init-schema`.

/// The SQL, as shipped in the crate (also documented for `psql -f`).
pub const SQL: &str = include_str!("../../sql/fleet.sql");

/// Create (or bring up to date) the schema; idempotent.
pub fn init(client: &mut postgres::Client) -> Result<(), String> {
    client
        .batch_execute(SQL)
        .map_err(|e| super::connect::explain(&e))
}
