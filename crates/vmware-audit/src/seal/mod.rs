//! Tamper evidence for the audit log: a Merkle tree (RFC 6962) over each
//! database file's rows in id order, checkpoints of it in the C2SP
//! tlog-checkpoint format signed as C2SP signed notes (Ed25519), and a
//! verifier that names the first row changed, deleted or inserted.
//!
//! It works after the fact, on rows anyone wrote (the Python package's
//! included), and never on the write path.
//!
//! What cannot be detected: rows appended after the newest checkpoint and
//! removed before the next seal; and anyone holding `seal.key` can rewrite
//! rows and re-seal them. Checkpoints copied off the host (and a pinned
//! `--trust` key) narrow both: a rewrite then disagrees with a checkpoint the
//! attacker cannot reach.

pub mod check;
pub mod db;
pub mod frontier;
pub mod key;
pub mod leaf;
pub mod note;
pub mod run;
pub mod status;
pub mod store;
