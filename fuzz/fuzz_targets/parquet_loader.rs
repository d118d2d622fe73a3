#![no_main]
//! See `tape_fuzz::parquet_loader`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| tape_fuzz::parquet_loader(data));
