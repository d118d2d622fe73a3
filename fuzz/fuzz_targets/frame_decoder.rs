#![no_main]
//! See `tape_fuzz::frame_decoder`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| tape_fuzz::frame_decoder(data));
