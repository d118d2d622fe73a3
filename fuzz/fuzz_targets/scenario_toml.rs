#![no_main]
//! See `tape_fuzz::scenario_toml`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| tape_fuzz::scenario_toml(data));
