//! vmware_policy: audit log, policy engine and tool guard for AI agents that
//! operate VMware.
pub mod home;
pub mod policy;
pub mod sanitize;

pub use sanitize::sanitize;
