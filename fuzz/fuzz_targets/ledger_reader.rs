#![no_main]
//! See `tape_fuzz::ledger_reader`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| tape_fuzz::ledger_reader(data));
