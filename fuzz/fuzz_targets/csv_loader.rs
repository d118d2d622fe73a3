#![no_main]
//! See `tape_fuzz::csv_loader`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| tape_fuzz::csv_loader(data));
