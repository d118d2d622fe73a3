//! The fuzz targets' inputs, replayed by `cargo test`: every file under
//! `fuzz/regressions/<target>/` (an input that once crashed a decoder or loader, kept after
//! the fix) and under `fuzz/corpus/<target>/` (the small seed corpus) goes through the very
//! function the fuzz target calls, so a fixed crash stays fixed without cargo-fuzz or nightly.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod targets;

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut n = 0;
    for kind in ["regressions", "corpus"] {
        let Ok(entries) = std::fs::read_dir(root.join(kind).join(target)) else {
            continue;
        };
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            let bytes = std::fs::read(&path).expect("the kept input is readable");
            // A panic here names the input through the test's output.
            eprintln!("{}", path.display());
            run(&bytes);
            n += 1;
        }
    }
    n
}

#[test]
fn kept_inputs_of_the_ledger_reader_are_refused_without_a_panic() {
    assert!(replay("ledger_reader", targets::ledger_reader) > 0);
}

#[test]
fn kept_inputs_of_the_frame_decoder_are_refused_without_a_panic() {
    assert!(replay("frame_decoder", targets::frame_decoder) > 0);
}

#[test]
fn kept_inputs_of_the_csv_loader_are_refused_without_a_panic() {
    assert!(replay("csv_loader", targets::csv_loader) > 0);
}

#[test]
fn kept_inputs_of_the_scenario_parser_are_refused_without_a_panic() {
    assert!(replay("scenario_toml", targets::scenario_toml) > 0);
}

#[cfg(feature = "parquet")]
#[test]
fn kept_inputs_of_the_parquet_loader_are_refused_without_a_panic() {
    replay("parquet_loader", targets::parquet_loader);
}
