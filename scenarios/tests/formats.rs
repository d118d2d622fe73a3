//! The same bars stored as CSV, gzip CSV, Parquet and DBN, in one long file or one file per
//! symbol, become the same inputs; typed Parquet columns and DBN intraday bars read as
//! documented; files the loaders cannot use get clear errors.
#![cfg(all(feature = "parquet", feature = "dbn"))]

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, DictionaryArray, Float32Array,
    Float64Array, Int32Array, Int64Array, LargeStringArray, RecordBatch, StringArray,
    TimestampNanosecondArray, UInt64Array,
};
use arrow_schema::{Field, Schema};
use dbn::encode::{DbnEncoder, EncodeRecord};
use dbn::{
    rtype, MappingInterval, Metadata, OhlcvMsg, RecordHeader, SType, Schema as DbnSchema,
    SymbolMapping, TradeMsg, UNDEF_PRICE,
};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use tape_engine::fixed::{Price, Quantity, PRICE_SCALE, QTY_SCALE};
use tape_engine::sequencer::{Sequencer, SourcedInput, TimedBar, TimedInput};
use tape_engine::time::{civil_from_days, Ts, NANOS_PER_DAY, NANOS_PER_MINUTE};
use tape_scenarios::loader::files::{FileFormat, FileMarket, FileSpec};

/// A `[market]` table of `kind` over `files`, missing prices quarantined rather than
/// rejected. (Parsed as a scenario's table is, so every other key keeps its default.)
fn spec(kind: FileFormat, files: &[&str]) -> FileSpec {
    let files: Vec<String> = files.iter().map(|f| format!("{f:?}")).collect();
    toml::from_str(&format!(
        "kind = \"{}\"\nfiles = [{}]\n[guard]\ninvalid_price = \"quarantine\"\n",
        kind.name(),
        files.join(", ")
    ))
    .expect("a valid [market] table")
}

fn open(kind: FileFormat, files: &[&str], dir: &Path) -> FileMarket {
    FileMarket::open(&spec(kind, files), dir).unwrap_or_else(|e| panic!("{files:?}: {e}"))
}

fn inputs(market: &FileMarket) -> Vec<TimedInput> {
    Sequencer::new(market.sources())
        .map(|r| r.expect("valid data"))
        .collect()
}

fn bars(market: &FileMarket) -> Vec<TimedBar> {
    inputs(market)
        .into_iter()
        .filter_map(|t| t.bar().map(|&bar| TimedBar { ts: t.ts, bar }))
        .collect()
}

/// The data notes' (quarantined, row) in delivery order.
fn note_rows(market: &FileMarket) -> Vec<(bool, u64)> {
    inputs(market)
        .into_iter()
        .filter_map(|t| match t.input {
            SourcedInput::Data { quarantined, note } => Some((quarantined, note.row)),
            _ => None,
        })
        .collect()
}

/// Inputs with what legitimately differs between file layouts cleared: a data note's file
/// (its index among the market's files) and its row in that file.
fn layout_free(market: &FileMarket) -> Vec<TimedInput> {
    inputs(market)
        .into_iter()
        .map(|mut t| {
            if let SourcedInput::Data { note, .. } = &mut t.input {
                note.input = 0;
                note.row = 0;
            }
            t
        })
        .collect()
}

/// One bar as every file stores it. `open: None` is a missing price: NaN in text and floats,
/// `UNDEF_PRICE` in DBN.
#[derive(Clone, Debug)]
struct Line {
    symbol: String,
    /// Days since 1970-01-01.
    day: i64,
    open: Option<Price>,
    high: Price,
    low: Price,
    close: Price,
    volume: Quantity,
}

impl Line {
    fn date(&self) -> String {
        let (y, m, d) = civil_from_days(self.day);
        format!("{y:04}-{m:02}-{d:02}")
    }

    fn open_f64(&self) -> f64 {
        self.open.map_or(f64::NAN, decimal)
    }

    fn open_text(&self) -> String {
        self.open.map_or("NaN".to_string(), |p| p.to_string())
    }

    fn volume_u64(&self) -> u64 {
        assert_eq!(self.volume.raw() % QTY_SCALE, 0, "whole shares");
        (self.volume.raw() / QTY_SCALE) as u64
    }
}

/// A price as the f64 its decimal text parses as.
fn decimal(p: Price) -> f64 {
    p.to_string().parse().expect("a decimal")
}

/// A price in DBN's units of 1e-9.
fn nanos(p: Price) -> i64 {
    p.raw() * (1_000_000_000 / PRICE_SCALE)
}

/// AAPL and IBM from the shipped data (more rows than one Parquet batch), with one IBM open
/// made missing for the data guard to catch. Returns the lines, in time then symbol order,
/// and the index of the bad one.
fn shipped_lines() -> (Vec<Line>, usize) {
    let mut s = spec(FileFormat::Csv, &["builtin:stocks.csv.gz"]);
    s.symbols = vec!["AAPL".to_string(), "IBM".to_string()];
    let market = FileMarket::open(&s, Path::new(".")).expect("the shipped data loads");
    let names = market.symbols().to_vec();
    let mut lines: Vec<Line> = bars(&market)
        .iter()
        .map(|b| Line {
            symbol: names[b.bar.symbol.0 as usize].clone(),
            day: b.ts.day(),
            open: Some(b.bar.open),
            high: b.bar.high,
            low: b.bar.low,
            close: b.bar.close,
            volume: b.bar.volume,
        })
        .collect();
    assert!(lines.len() > 6_000, "{} lines", lines.len());
    let bad_day = Ts::parse("2005-06-01").expect("a date").day();
    let bad = lines
        .iter()
        .position(|l| l.symbol == "IBM" && l.day >= bad_day)
        .expect("IBM trades in 2005");
    lines[bad].open = None;
    (lines, bad)
}

fn write_csv(path: &Path, lines: &[Line], with_symbol: bool) {
    let mut text = String::new();
    text.push_str(if with_symbol {
        "symbol,date,open,high,low,close,volume\n"
    } else {
        "Date,Open,High,Low,Close,Volume\n"
    });
    for l in lines {
        if with_symbol {
            text.push_str(&l.symbol);
            text.push(',');
        }
        text.push_str(&format!(
            "{},{},{},{},{},{}\n",
            l.date(),
            l.open_text(),
            l.high,
            l.low,
            l.close,
            l.volume
        ));
    }
    if path.extension().is_some_and(|e| e == "gz") {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(
            File::create(path).expect("create"),
            flate2::Compression::default(),
        );
        gz.write_all(text.as_bytes()).expect("write");
        gz.finish().expect("finish");
    } else {
        std::fs::write(path, text).expect("write");
    }
}

fn write_parquet(path: &Path, columns: Vec<(&str, ArrayRef)>) {
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(name, a)| Field::new(*name, a.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .expect("a consistent batch");
    // Small row groups, so the reader crosses them as well as its own batches.
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(1_000))
        .build();
    let mut writer = ArrowWriter::try_new(File::create(path).expect("create"), schema, Some(props))
        .expect("a writer");
    writer.write(&batch).expect("written");
    writer.close().expect("closed");
}

fn price_columns(lines: &[Line]) -> Vec<(&'static str, ArrayRef)> {
    let column = |f: fn(&Line) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(lines.iter().map(f)))
    };
    vec![
        ("open", column(Line::open_f64)),
        ("high", column(|l| decimal(l.high))),
        ("low", column(|l| decimal(l.low))),
        ("close", column(|l| decimal(l.close))),
    ]
}

/// A long file: symbol text, `Date32` dates, `Float64` prices, `Int64` volumes.
fn write_long_parquet(path: &Path, lines: &[Line]) {
    let mut columns: Vec<(&str, ArrayRef)> = vec![
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
    ];
    columns.extend(price_columns(lines));
    columns.push((
        "volume",
        Arc::new(Int64Array::from_iter_values(
            lines.iter().map(|l| l.volume_u64() as i64),
        )),
    ));
    write_parquet(path, columns);
}

/// A file of one symbol: dates as text, volumes as `Float64`.
fn write_symbol_parquet(path: &Path, lines: &[Line]) {
    let mut columns: Vec<(&str, ArrayRef)> = vec![(
        "Date",
        Arc::new(StringArray::from_iter_values(lines.iter().map(Line::date))),
    )];
    columns.extend(price_columns(lines));
    columns.push((
        "Volume",
        Arc::new(Float64Array::from_iter_values(
            lines.iter().map(|l| l.volume_u64() as f64),
        )),
    ));
    write_parquet(path, columns);
}

fn metadata(schema: Option<DbnSchema>, start: u64, mappings: Vec<SymbolMapping>) -> Metadata {
    Metadata::builder()
        .dataset("XNAS.ITCH")
        .schema(schema)
        .start(start)
        .stype_in(Some(SType::RawSymbol))
        .stype_out(SType::InstrumentId)
        .symbols(mappings.iter().map(|m| m.raw_symbol.clone()).collect())
        .mappings(mappings)
        .build()
}

/// `symbol` is instrument `id` over days `[first, end)`. (The dates are made by the dbn crate
/// itself, so this test needs no date crate of its own.)
fn mapping(symbol: &str, id: u32, first: i64, end: i64) -> SymbolMapping {
    let date = |day: i64| {
        metadata(None, (day * NANOS_PER_DAY) as u64, vec![])
            .start()
            .date()
    };
    SymbolMapping {
        raw_symbol: symbol.to_string(),
        intervals: vec![MappingInterval {
            start_date: date(first),
            end_date: date(end),
            symbol: id.to_string(),
        }],
    }
}

fn ohlcv(rtype: u8, id: u32, ts_event: u64, prices: [i64; 4], volume: u64) -> OhlcvMsg {
    OhlcvMsg {
        hd: RecordHeader::new::<OhlcvMsg>(rtype, 2, id, ts_event),
        open: prices[0],
        high: prices[1],
        low: prices[2],
        close: prices[3],
        volume,
    }
}

/// Writes `records` after `metadata`, zstd-compressed for a `.zst` name.
fn write_dbn<R: dbn::encode::DbnEncodable>(path: &Path, metadata: &Metadata, records: &[R]) {
    let file = BufWriter::new(File::create(path).expect("create"));
    if path.extension().is_some_and(|e| e == "zst") {
        let mut encoder = DbnEncoder::with_zstd(file, metadata).expect("an encoder");
        encoder.encode_records(records).expect("encoded");
        encoder.flush().expect("flushed");
    } else {
        let mut encoder = DbnEncoder::new(file, metadata).expect("an encoder");
        encoder.encode_records(records).expect("encoded");
        encoder.flush().expect("flushed");
    }
}

/// Daily bars as Databento serves them: stamped at the day's midnight (the bar's open), with
/// instrument ids named by the metadata's symbology.
fn write_daily_dbn(path: &Path, lines: &[Line]) {
    let id = |symbol: &str| if symbol == "AAPL" { 14 } else { 9 };
    let (first, last) = (lines[0].day, lines[lines.len() - 1].day);
    let meta = metadata(
        Some(DbnSchema::Ohlcv1D),
        (first * NANOS_PER_DAY) as u64,
        vec![
            mapping("AAPL", 14, first, last + 1),
            mapping("IBM", 9, first, last + 1),
        ],
    );
    let records: Vec<OhlcvMsg> = lines
        .iter()
        .map(|l| {
            ohlcv(
                rtype::OHLCV_1D,
                id(&l.symbol),
                (l.day * NANOS_PER_DAY) as u64,
                [
                    l.open.map_or(UNDEF_PRICE, nanos),
                    nanos(l.high),
                    nanos(l.low),
                    nanos(l.close),
                ],
                l.volume_u64(),
            )
        })
        .collect();
    write_dbn(path, &meta, &records);
}

#[test]
fn every_format_and_layout_gives_identical_inputs() {
    let (lines, bad) = shipped_lines();
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let of = |symbol: &str| -> Vec<Line> {
        lines
            .iter()
            .filter(|l| l.symbol == symbol)
            .cloned()
            .collect()
    };
    write_csv(&d.join("long.csv"), &lines, true);
    write_csv(&d.join("long.csv.gz"), &lines, true);
    write_long_parquet(&d.join("long.parquet"), &lines);
    write_daily_dbn(&d.join("bars.dbn.zst"), &lines);
    write_daily_dbn(&d.join("bars.dbn"), &lines);
    for symbol in ["AAPL", "IBM"] {
        write_csv(&d.join(format!("{symbol}.csv")), &of(symbol), false);
        write_symbol_parquet(&d.join(format!("{symbol}.parquet")), &of(symbol));
    }

    let reference = open(FileFormat::Csv, &["long.csv"], d);
    assert_eq!(reference.symbols(), ["AAPL", "IBM"]);
    let expected = layout_free(&reference);
    // The reference itself: every good line is a bar at its date's close, the bad one a
    // quarantined note.
    let bars: Vec<(String, Ts)> = expected
        .iter()
        .filter_map(|t| {
            t.bar()
                .map(|b| (reference.symbols()[b.symbol.0 as usize].clone(), t.ts))
        })
        .collect();
    let close = 21 * 60 * NANOS_PER_MINUTE;
    let want: Vec<(String, Ts)> = lines
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != bad)
        .map(|(_, l)| (l.symbol.clone(), Ts(l.day * NANOS_PER_DAY + close)))
        .collect();
    assert_eq!(bars, want);
    let notes = note_rows(&reference);
    assert!(
        notes.contains(&(true, bad as u64 + 2)),
        "the missing open is CSV row {}: {notes:?}",
        bad + 2
    );

    let markets = [
        (FileFormat::Csv, vec!["long.csv.gz"]),
        (FileFormat::Csv, vec!["IBM.csv", "AAPL.csv"]),
        (FileFormat::Parquet, vec!["long.parquet"]),
        (FileFormat::Parquet, vec!["AAPL.parquet", "IBM.parquet"]),
        (FileFormat::Dbn, vec!["bars.dbn.zst"]),
        (FileFormat::Dbn, vec!["bars.dbn"]),
    ];
    for (kind, files) in &markets {
        let market = open(*kind, files, d);
        assert_eq!(market.symbols(), reference.symbols(), "{files:?}");
        assert_eq!(market.report().rows, reference.report().rows, "{files:?}");
        let got = layout_free(&market);
        if let Some(i) = (0..got.len().max(expected.len())).find(|&i| got.get(i) != expected.get(i))
        {
            panic!(
                "{files:?} differs from long.csv at input {i} of {}:\n  got      {:?}\n  expected {:?}",
                expected.len(),
                got.get(i),
                expected.get(i)
            );
        }
    }

    // Row numbers, the one thing layouts change: CSV counts its header as row 1; Parquet and
    // DBN count from the first bar.
    let rows = |kind, files: &[&str]| note_rows(&open(kind, files, d));
    let shift = |notes: Vec<(bool, u64)>| -> Vec<(bool, u64)> {
        notes.into_iter().map(|(n, r)| (n, r + 1)).collect()
    };
    assert_eq!(shift(rows(FileFormat::Parquet, &["long.parquet"])), notes);
    assert_eq!(shift(rows(FileFormat::Dbn, &["bars.dbn.zst"])), notes);
    assert_eq!(
        shift(rows(FileFormat::Parquet, &["AAPL.parquet", "IBM.parquet"])),
        rows(FileFormat::Csv, &["AAPL.csv", "IBM.csv"])
    );
}

#[test]
fn typed_parquet_columns_read_as_the_csv_they_came_from() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    std::fs::write(
        d.join("bars.csv"),
        "symbol,time,open,high,low,close,volume\n\
         AAA,2020-01-02T14:31:00Z,150.12,150.5,149.87,150.33,1200\n\
         BBB,2020-01-02T14:31:00Z,20.1,20.2,19.95,20.05,300\n\
         AAA,2020-01-02T14:32:00Z,150.33,151.01,150.3,150.99,900\n",
    )
    .expect("written");
    let symbols = ["AAA", "BBB", "AAA"];
    let minute =
        |m: i64| Ts::parse("2020-01-02T14:00:00Z").expect("a time").0 + m * NANOS_PER_MINUTE;
    let times = [minute(31), minute(31), minute(32)];
    let prices: [[&str; 4]; 3] = [
        ["150.12", "150.5", "149.87", "150.33"],
        ["20.1", "20.2", "19.95", "20.05"],
        ["150.33", "151.01", "150.3", "150.99"],
    ];
    let names = ["open", "high", "low", "close"];

    // Nanosecond timestamps in a time zone, a dictionary of symbols, Float32 prices, UInt64
    // volumes.
    let mut columns: Vec<(&str, ArrayRef)> = vec![
        (
            "timestamp",
            Arc::new(
                TimestampNanosecondArray::from(times.to_vec()).with_timezone("America/New_York"),
            ),
        ),
        (
            "Symbol",
            Arc::new(symbols.into_iter().collect::<DictionaryArray<Int32Type>>()),
        ),
    ];
    for (j, name) in names.iter().enumerate() {
        let values = prices
            .iter()
            .map(|p| p[j].parse::<f32>().expect("a number"));
        columns.push((name, Arc::new(Float32Array::from_iter_values(values))));
    }
    columns.push(("volume", Arc::new(UInt64Array::from(vec![1200, 300, 900]))));
    write_parquet(&d.join("typed.parquet"), columns);

    // Epoch seconds as Int64, large strings, decimal prices, Int32 volumes, and a null
    // adjusted close (which is as absent as an empty CSV cell).
    let mut columns: Vec<(&str, ArrayRef)> = vec![
        (
            "time",
            Arc::new(Int64Array::from_iter_values(
                times.iter().map(|t| t / 1_000_000_000),
            )),
        ),
        ("ticker", Arc::new(LargeStringArray::from(symbols.to_vec()))),
    ];
    for (j, name) in names.iter().enumerate() {
        let values = prices.iter().map(|p| {
            let (whole, frac) = p[j].split_once('.').expect("a decimal point");
            format!("{whole}{frac:0<4}")
                .parse::<i128>()
                .expect("digits")
        });
        let array = Decimal128Array::from_iter_values(values)
            .with_precision_and_scale(12, 4)
            .expect("a valid decimal type");
        columns.push((name, Arc::new(array)));
    }
    columns.push(("volume", Arc::new(Int32Array::from(vec![1200, 300, 900]))));
    columns.push((
        "adj_close",
        Arc::new(Float64Array::from(vec![None::<f64>; 3])),
    ));
    write_parquet(&d.join("epoch.parquet"), columns);

    let csv = bars(&open(FileFormat::Csv, &["bars.csv"], d));
    assert_eq!(csv.len(), 3);
    assert_eq!(csv[0].ts.to_string(), "2020-01-02T14:31:00Z");
    assert_eq!(csv[0].bar.open.to_string(), "150.12");
    for file in ["typed.parquet", "epoch.parquet"] {
        assert_eq!(bars(&open(FileFormat::Parquet, &[file], d)), csv, "{file}");
    }
}

#[test]
fn dbn_minute_bars_are_stamped_at_their_close_and_old_versions_upgrade() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let open_at = |hh_mm: &str| {
        Ts::parse(&format!("2020-01-02T{hh_mm}:00Z"))
            .expect("a time")
            .0 as u64
    };
    let day = Ts::parse("2020-01-02").expect("a date").day();
    let px = |v: i64| [v, v + 1_000_000_000, v - 1_000_000_000, v + 250_000_000];
    let records = [
        ohlcv(
            rtype::OHLCV_1M,
            1,
            open_at("14:30"),
            px(150_120_000_000),
            100,
        ),
        ohlcv(rtype::OHLCV_1M, 7, open_at("14:30"), px(20_000_000_000), 5),
        ohlcv(
            rtype::OHLCV_1M,
            1,
            open_at("14:31"),
            px(150_370_000_000),
            200,
        ),
    ];
    // Instrument 7 is missing from the symbology: it is named by its id.
    let mut meta = metadata(
        Some(DbnSchema::Ohlcv1M),
        open_at("14:30"),
        vec![mapping("AAA", 1, day, day + 1)],
    );
    // Version 2: decoded by upgrading to the current version.
    meta.version = 2;
    write_dbn(&d.join("minutes.dbn.zst"), &meta, &records);

    let market = open(FileFormat::Dbn, &["minutes.dbn.zst"], d);
    assert_eq!(market.symbols(), ["7", "AAA"]);
    let got: Vec<(u32, String, String)> = bars(&market)
        .iter()
        .map(|b| (b.bar.symbol.0, b.ts.to_string(), b.bar.open.to_string()))
        .collect();
    assert_eq!(
        got,
        [
            (0, "2020-01-02T14:31:00Z".to_string(), "20.00".to_string()),
            (1, "2020-01-02T14:31:00Z".to_string(), "150.12".to_string()),
            (1, "2020-01-02T14:32:00Z".to_string(), "150.37".to_string()),
        ],
        "a bar that opens at ts_event is stamped one minute later, when it closes"
    );
}

#[test]
fn unusable_dbn_and_parquet_files_get_clear_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let error = |kind: FileFormat, file: &str| -> String {
        FileMarket::open(&spec(kind, &[file]), d)
            .expect_err(file)
            .to_string()
    };
    let check = |message: String, parts: &[&str]| {
        for part in parts {
            assert!(message.contains(part), "'{part}' in: {message}");
        }
    };

    let trade = TradeMsg {
        hd: RecordHeader::new::<TradeMsg>(rtype::MBP_0, 2, 1, 1_577_977_200_000_000_000),
        price: 150_000_000_000,
        size: 10,
        ..Default::default()
    };
    write_dbn(
        &d.join("trades.dbn"),
        &metadata(Some(DbnSchema::Trades), 0, vec![]),
        std::slice::from_ref(&trade),
    );
    check(
        error(FileFormat::Dbn, "trades.dbn"),
        &["trades.dbn", "schema trades", "ohlcv-1d"],
    );

    // A file of mixed schemas: the bar is read, the trade after it refused by its number.
    let path = d.join("mixed.dbn");
    {
        let meta = metadata(None, 0, vec![]);
        let mut encoder =
            DbnEncoder::new(BufWriter::new(File::create(&path).expect("create")), &meta)
                .expect("an encoder");
        let bar = ohlcv(rtype::OHLCV_1D, 1, 1_577_923_200_000_000_000, [1; 4], 1);
        encoder.encode_record(&bar).expect("encoded");
        encoder.encode_record(&trade).expect("encoded");
        encoder.flush().expect("flushed");
    }
    check(
        error(FileFormat::Dbn, "mixed.dbn"),
        &[
            "mixed.dbn, row 2",
            "a record of type mbp-0, not an OHLCV bar",
        ],
    );
    let mut adjusted = spec(FileFormat::Dbn, &["mixed.dbn"]);
    adjusted.adjust = true;
    check(
        FileMarket::open(&adjusted, d)
            .expect_err("DBN has no adjusted close")
            .to_string(),
        &["mixed.dbn", "no adjusted close", "set adjust = false"],
    );

    // Version 4 widens the record header; read as version 3 its bars would be garbage.
    let mut bytes = std::fs::read(&path).expect("written above");
    assert_eq!(&bytes[..4], b"DBN\x03", "an uncompressed version 3 file");
    bytes[3] = 4;
    std::fs::write(d.join("v4.dbn"), bytes).expect("written");
    check(
        error(FileFormat::Dbn, "v4.dbn"),
        &["v4.dbn: not a readable DBN file"],
    );

    write_parquet(
        &d.join("flags.parquet"),
        vec![
            ("date", Arc::new(StringArray::from(vec!["2020-01-02"]))),
            ("halted", Arc::new(BooleanArray::from(vec![false]))),
        ],
    );
    check(
        error(FileFormat::Parquet, "flags.parquet"),
        &[
            "flags.parquet",
            "column 'halted'",
            "Boolean",
            "does not read",
        ],
    );

    // Metadata naming a column chunk at a negative offset (an input the fuzzer found; the
    // parquet crate asserts on it): refused by name, never a panic.
    let kept = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions/parquet_loader/negative-column-range");
    std::fs::copy(&kept, d.join("damaged.parquet")).expect("the kept input");
    check(
        error(FileFormat::Parquet, "damaged.parquet"),
        &[
            "damaged.parquet",
            "row group 0",
            "outside the",
            "write it again",
        ],
    );

    // Pages whose null bitmap runs past its buffer: the arrow crate asserts while decoding
    // (another kept fuzz input); the loader contains the panic and names the file.
    let kept = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions/parquet_loader/bitmap-past-buffer");
    std::fs::copy(&kept, d.join("bitmap.parquet")).expect("the kept input");
    check(
        error(FileFormat::Parquet, "bitmap.parquet"),
        &[
            "bitmap.parquet",
            "the Parquet decoder failed on it",
            "write it again",
        ],
    );

    std::fs::write(d.join("text.parquet"), "date,open\n").expect("written");
    std::fs::write(d.join("text.dbn"), "date,open\n").expect("written");
    check(
        error(FileFormat::Parquet, "text.parquet"),
        &["text.parquet", "not a readable Parquet file"],
    );
    check(
        error(FileFormat::Dbn, "text.dbn"),
        &["text.dbn", "not a readable DBN file"],
    );
    check(
        error(FileFormat::Parquet, "builtin:stocks.csv.gz"),
        &["built-in data files are CSV"],
    );
    check(
        error(FileFormat::Dbn, "missing.dbn"),
        &["missing.dbn", "no such file"],
    );
}

#[test]
fn a_float32_price_is_the_decimal_it_displays_as() {
    // 150.12 has no exact f32; widening it would give 150.1199951171875.
    let dir = tempfile::tempdir().expect("temp dir");
    let v = 150.12_f32;
    assert_ne!(f64::from(v), 150.12);
    write_parquet(
        &dir.path().join("X.parquet"),
        vec![
            ("date", Arc::new(StringArray::from(vec!["2020-01-02"]))),
            ("open", Arc::new(Float32Array::from(vec![v]))),
            ("high", Arc::new(Float32Array::from(vec![v]))),
            ("low", Arc::new(Float32Array::from(vec![v]))),
            ("close", Arc::new(Float32Array::from(vec![v]))),
            ("volume", Arc::new(Float32Array::from(vec![1.0]))),
        ],
    );
    let got = bars(&open(FileFormat::Parquet, &["X.parquet"], dir.path()));
    assert_eq!(got[0].bar.close.to_string(), "150.12");
}

#[test]
fn a_parquet_feature_table_gives_the_csv_one_s_features() {
    use tape_scenarios::loader::features::{FeatureSet, FeatureSpec};
    let dir = tempfile::tempdir().expect("temp dir");
    let rows = [
        ("2024-01-03", "AAA", "score", 1.5),
        ("2024-01-05", "AAA", "surprise", -0.25),
        ("2024-01-04", "BBB", "score", 0.5),
    ];
    let mut csv = "available_at,symbol,name,value\n".to_string();
    for (at, symbol, name, value) in rows {
        csv.push_str(&format!("{at},{symbol},{name},{value}\n"));
    }
    std::fs::write(dir.path().join("f.csv"), csv).expect("write");
    // The same rows with typed columns: dates as Date32, values as Float64.
    let day = |t: &str| (Ts::parse(t).expect("date").0 / NANOS_PER_DAY) as i32;
    let text = |column: usize| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| {
            if column == 1 {
                r.1
            } else {
                r.2
            }
        })))
    };
    write_parquet(
        &dir.path().join("f.parquet"),
        vec![
            (
                "available_at",
                Arc::new(Date32Array::from_iter_values(rows.iter().map(|r| day(r.0)))) as ArrayRef,
            ),
            ("symbol", text(1)),
            ("name", text(2)),
            (
                "value",
                Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.3))) as ArrayRef,
            ),
        ],
    );
    let symbols = ["AAA".to_string(), "BBB".to_string()];
    let delivered = |file: &str| -> Vec<TimedInput> {
        let spec = FeatureSpec {
            files: vec![file.to_string()],
            time_format: tape_scenarios::loader::table::TimeFormat::Auto,
            available_time: "13:00".to_string(),
        };
        let set = FeatureSet::open(&spec, dir.path(), &symbols, 0).expect("valid");
        assert_eq!(set.names(), ["score", "surprise"]);
        Sequencer::new(set.sources())
            .map(|r| r.expect("valid"))
            .map(|mut t| {
                // Row numbers differ by CSV's header row; everything else must not.
                if let SourcedInput::Feature(f) = &mut t.input {
                    f.row = 0;
                }
                t
            })
            .collect()
    };
    let from_csv = delivered("f.csv");
    assert_eq!(from_csv.len(), 3);
    assert_eq!(delivered("f.parquet"), from_csv);
}
