//! One signed rule set for every host: `rules sign` (the fleet's signing key,
//! kept off the hosts) and `rules pull` (each host, trusting configured
//! verifier keys), on the same C2SP signed notes as the seal's checkpoints.
//!
//! The signature is detached (`rules.yaml.sig` beside `rules.yaml` on the
//! server) and covers the file's SHA-256, a revision that only goes up and an
//! expiry: a host installs nothing older than what it has, nothing stale,
//! nothing altered, and keeps the last good file whenever anything fails.

pub mod envelope;
pub mod fetch;
pub mod pull;
pub mod state;
