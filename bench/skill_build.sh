#!/usr/bin/env bash
# What a skill author pays to link the library: a minimal skill crate that
# depends on crates/vmware-policy, built from clean (debug), its crate count
# from `cargo tree`; with and without the `rmcp` feature.
#   bench/skill_build.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for features in "" "rmcp"; do
  dir="$work/skill-${features:-plain}"
  mkdir -p "$dir/src"
  feat=""
  [ -n "$features" ] && feat=", features = [\"$features\"]"
  cat > "$dir/Cargo.toml" <<TOML
[package]
name = "demo-skill"
version = "0.1.0"
edition = "2024"

[dependencies]
vmware-policy = { path = "$root/crates/vmware-policy"$feat }
serde_json = "1"

[workspace]
TOML
  cat > "$dir/src/main.rs" <<'RS'
fn main() {
    let guard = vmware_policy::Guard::from_home();
    let tool = vmware_policy::Tool::new("demo", "ping");
    let out = guard.run(&tool, vmware_policy::Call::new(serde_json::json!({})), || Ok::<_, String>("pong"));
    println!("{out:?}");
}
RS
  cp "$root/Cargo.lock" "$dir/Cargo.lock"
  (cd "$dir" && cargo fetch -q)
  crates=$(cd "$dir" && cargo tree -e normal --prefix none | sed 's/ (\*)//' | sort -u | wc -l)
  start=$(date +%s.%N)
  (cd "$dir" && CARGO_TARGET_DIR="$dir/target" cargo build -q)
  end=$(date +%s.%N)
  printf 'features=%-5s crates=%s clean debug build %.1f s\n' "${features:-none}" "$crates" "$(echo "$end - $start" | bc)"
done
