//! The fuzz targets' bodies, shared with the regression test that replays the kept inputs
//! (tests/hostile_inputs.rs includes this file by path, so a crash found here is replayed
//! by `cargo test` through exactly the same calls).
//!
//! Each function feeds arbitrary bytes to a public API and returns normally whatever the
//! bytes are: an `Err` is the right answer to hostile input, a panic is a bug.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tape_engine::ledger::frame::{
    decode_event, decode_seal, decode_trailer, frame_is_intact, FrameHeader,
};
use tape_engine::ledger::{Header, LedgerReader};
use tape_scenarios::loader::files::{FileFormat, FileMarket, FileSpec};
use tape_scenarios::loader::table::TimeFormat;
use tape_scenarios::Scenario;

/// Reads `data` as a whole ledger: header, every frame, every event decoded, the summary.
pub fn ledger_reader(data: &[u8]) {
    let Ok(mut reader) = LedgerReader::new(Cursor::new(data)) else {
        return;
    };
    loop {
        match reader.next_event() {
            Ok(Some(frame)) => {
                let _ = frame.kind();
                let _ = frame.decode();
            }
            Ok(None) => {
                let _ = reader.summary();
                return;
            }
            Err(e) => {
                let _ = e.to_string();
                let _ = reader.tail_state();
                return;
            }
        }
    }
}

/// Decodes `data` as one frame of every kind, and as a header.
pub fn frame_decoder(data: &[u8]) {
    if let Some(header) = FrameHeader::parse(data) {
        let _ = header.len_is_plausible();
        let _ = frame_is_intact(data, header.salt);
    }
    let _ = decode_event(data);
    let _ = decode_seal(data);
    let _ = decode_trailer(data);
    let _ = Header::decode(data);
    if let Some(prefix) = data.get(..16).and_then(|p| <&[u8; 16]>::try_from(p).ok()) {
        let _ = Header::parse_prefix(prefix);
    }
}

/// Parses `data` (as UTF-8, when it is) as a scenario file.
pub fn scenario_toml(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(scenario) = Scenario::from_toml(text, "fuzz.toml") {
            let _ = format!("{scenario:?}");
        }
    }
}

/// Loads `data` as a CSV bar file: plain, or (first byte odd) with a symbol column named
/// `symbol`. Every row goes through the data guard, as `tape run` does before it starts.
pub fn csv_loader(data: &[u8]) {
    let (flags, body) = data.split_first().unwrap_or((&0, data));
    let symbol_column = (flags & 1 == 1).then(|| "symbol".to_string());
    let time_format = match flags >> 1 & 3 {
        0 => TimeFormat::Auto,
        1 => TimeFormat::Date,
        2 => TimeFormat::Datetime,
        _ => TimeFormat::EpochS,
    };
    load(FileFormat::Csv, "AAA.csv", body, symbol_column, time_format);
}

/// Loads `data` as a Parquet bar file, as [`csv_loader`] does a CSV one. The loader turns a
/// panic of the arrow/parquet crates into an error (as `tape` does, its hook is wrapped so
/// that such a contained panic does not abort); any other panic still ends the run.
#[cfg(feature = "parquet")]
pub fn parquet_loader(data: &[u8]) {
    static HOOK: OnceLock<()> = OnceLock::new();
    HOOK.get_or_init(tape_scenarios::loader::parquet::silence_contained_panics);
    load(
        FileFormat::Parquet,
        "AAA.parquet",
        data,
        None,
        TimeFormat::Auto,
    );
    load(
        FileFormat::Parquet,
        "AAA.parquet",
        data,
        Some("symbol".to_string()),
        TimeFormat::Auto,
    );
}

fn load(
    kind: FileFormat,
    name: &str,
    bytes: &[u8],
    symbol_column: Option<String>,
    time_format: TimeFormat,
) {
    let dir = scratch_dir();
    if std::fs::write(dir.join(name), bytes).is_err() {
        return;
    }
    let mut spec = FileSpec::new(kind, vec![name.to_string()]);
    spec.symbol_column = symbol_column;
    spec.time_format = time_format;
    if let Ok(market) = FileMarket::open(&spec, dir) {
        for source in market.sources() {
            for item in source {
                if item.is_err() {
                    break;
                }
            }
        }
    }
}

/// One directory per process for the file under test.
fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("tape-fuzz-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        dir
    })
}
