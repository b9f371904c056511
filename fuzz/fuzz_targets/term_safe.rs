//! Fuzz target: see `checks::term_safe_text` for the properties checked.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::term_safe_text(data));
