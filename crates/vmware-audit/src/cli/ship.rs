//! `vmware-audit ship`: the flags, then the shipper (`fleet::ship`).

use super::args::ShipArgs;
use super::common::Ctx;
use super::output;
use crate::fleet::connect::Target;
use crate::fleet::ship::{self, state::State};

pub fn run(ctx: &Ctx, a: &ShipArgs) -> i32 {
    if a.forget {
        let path = State::path(&ctx.db);
        return match std::fs::remove_file(&path) {
            Ok(()) => {
                println!(
                    "forgot {}: archives are no longer held for shipping",
                    path.display()
                );
                0
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => output::fail(&format!("cannot remove {}: {e}", path.display())),
        };
    }
    let target = match Target::parse(a.to.as_deref().unwrap_or_default()) {
        Ok(t) => t,
        Err(e) => return output::fail(&e),
    };
    if a.init_schema {
        return match target
            .connect()
            .and_then(|mut c| crate::fleet::schema::init(&mut c))
        {
            Ok(()) => {
                println!(
                    "fleet schema ready at {} (tables vmware_audit_fleet, vmware_audit_gaps; \
                     roles vmware_audit_ingest, vmware_audit_reader)",
                    target.shown
                );
                0
            }
            Err(e) => output::fail(&format!("--init-schema: {e}")),
        };
    }
    let host_id = a
        .host_id
        .clone()
        .unwrap_or_else(crate::seal::key::host_name);
    if !valid_host_id(&host_id) {
        return output::fail(&format!(
            "--host-id {host_id:?}: use 1 to 64 letters, digits, '.', '-' or '_'"
        ));
    }
    ship::run(ship::Options {
        db: ctx.db.clone(),
        target,
        host_id,
        once: a.once,
    })
}

fn valid_host_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}
