//! A build without the `parquet` or `dbn` feature says how to get one that reads the file.
#![cfg(not(all(feature = "parquet", feature = "dbn")))]

use tape_scenarios::loader::files::{FileFormat, FileMarket, FileSpec};

fn error(kind: FileFormat, file: &str) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join(file), b"PAR1").expect("written");
    let spec: FileSpec =
        toml::from_str(&format!("kind = \"{}\"\nfiles = [\"{file}\"]", kind.name()))
            .expect("a valid [market] table");
    FileMarket::open(&spec, dir.path())
        .expect_err("this build reads no such file")
        .to_string()
}

#[cfg(not(feature = "parquet"))]
#[test]
fn a_parquet_file_needs_the_parquet_feature() {
    let message = error(FileFormat::Parquet, "AAPL.parquet");
    assert!(
        message.contains("AAPL.parquet")
            && message.contains("reads no parquet files")
            && message.contains("build it with `cargo build --release --features parquet`"),
        "{message}"
    );
}

#[cfg(not(feature = "dbn"))]
#[test]
fn a_dbn_file_needs_the_dbn_feature() {
    let message = error(FileFormat::Dbn, "bars.dbn.zst");
    assert!(
        message.contains("bars.dbn.zst")
            && message.contains("reads no dbn files")
            && message.contains("--features dbn"),
        "{message}"
    );
}
