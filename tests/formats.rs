//! `tape run` on the same bars stored as CSV, Parquet and DBN writes the same events, and
//! `tape verify` passes on each ledger. Needs a `tape` built with `--features formats`
//! (`cargo test --workspace --all-features` builds one).
#![cfg(feature = "formats")]

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{Field, Schema};
use dbn::encode::{DbnEncoder, EncodeRecord};
use dbn::{
    rtype, MappingInterval, Metadata, OhlcvMsg, RecordHeader, SType, Schema as DbnSchema,
    SymbolMapping, UNDEF_PRICE,
};
use parquet::arrow::ArrowWriter;
use serde_json::Value;
use tape_engine::fixed::{Price, PRICE_SCALE, QTY_SCALE};
use tape_engine::sequencer::Sequencer;
use tape_engine::time::{civil_from_days, NANOS_PER_DAY};
use tape_scenarios::loader::files::{FileMarket, FileSpec};
use tape_tests::{scratch, tape};

/// One daily bar; `open: None` is a missing price (NaN, or DBN's `UNDEF_PRICE`).
struct Line {
    symbol: String,
    day: i64,
    open: Option<Price>,
    high: Price,
    low: Price,
    close: Price,
    volume: u64,
}

/// A price as the f64 its decimal text parses as.
fn decimal(p: Price) -> f64 {
    p.to_string().parse().expect("a decimal")
}

/// A price in DBN's units of 1e-9.
fn nanos(p: Price) -> i64 {
    p.raw() * (1_000_000_000 / PRICE_SCALE)
}

/// AAPL and IBM, 2004–2006, from the shipped data, with one IBM open missing.
fn shipped_lines() -> Vec<Line> {
    let spec: FileSpec = serde_json::from_value(serde_json::json!({
        "kind": "csv",
        "files": ["builtin:stocks.csv.gz"],
        "symbols": ["AAPL", "IBM"],
        "start": "2004-01-01",
        "end": "2007-01-01",
    }))
    .expect("a valid [market] table");
    let market = FileMarket::open(&spec, Path::new(".")).expect("the shipped data loads");
    let mut lines: Vec<Line> = Sequencer::new(market.sources())
        .map(|r| r.expect("valid data"))
        .filter_map(|t| {
            let b = *t.bar()?;
            assert_eq!(b.volume.raw() % QTY_SCALE, 0, "whole shares");
            Some(Line {
                symbol: market.symbols()[b.symbol.0 as usize].clone(),
                day: t.ts.day(),
                open: Some(b.open),
                high: b.high,
                low: b.low,
                close: b.close,
                volume: (b.volume.raw() / QTY_SCALE) as u64,
            })
        })
        .collect();
    assert!(lines.len() > 1_400, "{} bars", lines.len());
    let bad = lines
        .iter()
        .position(|l| l.symbol == "IBM" && l.day > lines[0].day + 400)
        .expect("IBM trades in 2005");
    lines[bad].open = None;
    lines
}

fn write_csv(path: &Path, lines: &[Line]) {
    let mut text = String::from("symbol,date,open,high,low,close,volume\n");
    for l in lines {
        let (y, m, d) = civil_from_days(l.day);
        let open = l.open.map_or("NaN".to_string(), |p| p.to_string());
        text.push_str(&format!(
            "{},{y:04}-{m:02}-{d:02},{open},{},{},{},{}\n",
            l.symbol, l.high, l.low, l.close, l.volume
        ));
    }
    std::fs::write(path, text).expect("written");
}

fn write_parquet(path: &Path, lines: &[Line]) {
    let price = |f: &dyn Fn(&Line) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(lines.iter().map(f)))
    };
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "symbol",
            Arc::new(StringArray::from_iter_values(
                lines.iter().map(|l| l.symbol.as_str()),
            )),
        ),
        (
            "date",
            Arc::new(Date32Array::from_iter_values(
                lines.iter().map(|l| l.day as i32),
            )),
        ),
        ("open", price(&|l| l.open.map_or(f64::NAN, decimal))),
        ("high", price(&|l| decimal(l.high))),
        ("low", price(&|l| decimal(l.low))),
        ("close", price(&|l| decimal(l.close))),
        (
            "volume",
            Arc::new(Int64Array::from_iter_values(
                lines.iter().map(|l| l.volume as i64),
            )),
        ),
    ];
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(name, a)| Field::new(*name, a.data_type().clone(), false))
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .expect("a consistent batch");
    let mut writer =
        ArrowWriter::try_new(File::create(path).expect("create"), schema, None).expect("writer");
    writer.write(&batch).expect("written");
    writer.close().expect("closed");
}

/// Daily bars as Databento serves them: zstd, stamped at midnight (the bar's open), with
/// instrument ids named by the symbology in the metadata.
fn write_dbn(path: &Path, lines: &[Line]) {
    let id = |symbol: &str| if symbol == "AAPL" { 14 } else { 9 };
    let (first, end) = (lines[0].day, lines[lines.len() - 1].day + 1);
    let metadata = |start_day: i64, mappings: Vec<SymbolMapping>| -> Metadata {
        Metadata::builder()
            .dataset("XNAS.ITCH")
            .schema(Some(DbnSchema::Ohlcv1D))
            .start((start_day * NANOS_PER_DAY) as u64)
            .stype_in(Some(SType::RawSymbol))
            .stype_out(SType::InstrumentId)
            .symbols(mappings.iter().map(|m| m.raw_symbol.clone()).collect())
            .mappings(mappings)
            .build()
    };
    // Dates made by the dbn crate itself, so this test needs no date crate of its own.
    let date = |day: i64| metadata(day, Vec::new()).start().date();
    let mapping = |symbol: &str| SymbolMapping {
        raw_symbol: symbol.to_string(),
        intervals: vec![MappingInterval {
            start_date: date(first),
            end_date: date(end),
            symbol: id(symbol).to_string(),
        }],
    };
    let meta = metadata(first, vec![mapping("AAPL"), mapping("IBM")]);
    let file = BufWriter::new(File::create(path).expect("create"));
    let mut encoder = DbnEncoder::with_zstd(file, &meta).expect("an encoder");
    for l in lines {
        let bar = OhlcvMsg {
            hd: RecordHeader::new::<OhlcvMsg>(
                rtype::OHLCV_1D,
                2,
                id(&l.symbol),
                (l.day * NANOS_PER_DAY) as u64,
            ),
            open: l.open.map_or(UNDEF_PRICE, nanos),
            high: nanos(l.high),
            low: nanos(l.low),
            close: nanos(l.close),
            volume: l.volume,
        };
        encoder.encode_record(&bar).expect("encoded");
    }
    encoder.flush().expect("flushed");
}

fn scenario(kind: &str, file: &str) -> String {
    format!(
        r#"name = "formats"
description = "AAPL and IBM 2004-2006 from a {kind} file, one bar with a missing open"
seed = 0

[market]
kind = "{kind}"
files = ["{file}"]

[market.guard]
invalid_price = "quarantine"

[account]
cash = 100000.0

[strategy]
kind = "sma_cross"
fast = 10
slow = 30
quantity = 50.0
"#
    )
}

/// A run's events as `tape show --json` prints them, without what names the run's inputs
/// (the configuration's digest), and the data notes' rows apart.
fn events(dir: &Path, ledger: &str) -> (Vec<Value>, Vec<u64>) {
    let show = tape(dir, &["show", ledger, "--json"]);
    let mut rows = Vec::new();
    let events = show
        .expect_code(0)
        .stdout
        .lines()
        .map(|line| {
            let mut v: Value = serde_json::from_str(line).expect("each line is JSON");
            let object = v.as_object_mut().expect("an event is an object");
            object.remove("config_digest");
            if let Some(row) = object.remove("row") {
                rows.push(row.as_u64().expect("a row number"));
            }
            v
        })
        .collect();
    (events, rows)
}

#[test]
fn csv_parquet_and_dbn_files_run_to_identical_events() {
    let dir = scratch();
    let d = dir.path();
    let lines = shipped_lines();
    write_csv(&d.join("bars.csv"), &lines);
    write_parquet(&d.join("bars.parquet"), &lines);
    write_dbn(&d.join("bars.dbn.zst"), &lines);

    let mut runs = Vec::new();
    for (kind, file) in [
        ("csv", "bars.csv"),
        ("parquet", "bars.parquet"),
        ("dbn", "bars.dbn.zst"),
    ] {
        let toml = format!("{kind}.toml");
        std::fs::write(d.join(&toml), scenario(kind, file)).expect("written");
        let ledger = format!("{kind}.tape");
        let run = tape(d, &["run", &toml, "--out", &ledger, "--json"]);
        assert!(
            !run.stderr.contains("--features"),
            "this test needs a tape built with `--features formats`: {}",
            run.stderr
        );
        let summary = run.expect_code(0).json();
        let verify = tape(d, &["verify", &ledger]);
        assert!(
            verify.expect_code(0).stdout.starts_with("OK "),
            "{kind}: {}",
            verify.stdout
        );
        let (events, rows) = events(d, &ledger);
        runs.push((kind, summary, events, rows));
    }

    let (_, csv_summary, csv_events, csv_rows) = &runs[0];
    assert_eq!(csv_summary["bars"], lines.len() as u64 - 1);
    assert_eq!(csv_summary["data"]["quarantined"], 1);
    assert!(csv_summary["fills"].as_u64().expect("a count") > 0);
    assert!(!csv_rows.is_empty(), "the missing open is a recorded note");
    for (kind, summary, events, rows) in &runs[1..] {
        for key in ["events", "bars", "fills", "orders", "final_equity", "data"] {
            assert_eq!(summary[key], csv_summary[key], "{kind}: {key}");
        }
        assert_eq!(events.len(), csv_events.len(), "{kind}");
        for (got, expected) in events.iter().zip(csv_events) {
            assert_eq!(got, expected, "{kind} differs from csv");
        }
        // A CSV's header is its row 1; Parquet and DBN count from the first bar.
        let shifted: Vec<u64> = rows.iter().map(|r| r + 1).collect();
        assert_eq!(&shifted, csv_rows, "{kind}: data notes' rows");
    }
}
