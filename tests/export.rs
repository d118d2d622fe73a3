//! `tape export`: one table per event kind, one row per event, exact values. Every expectation
//! is computed here from the ledger itself (through the engine's reader), not from the
//! exporter's code.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tape_engine::event::{Event, EventBody, EventKind, Side};
use tape_engine::ledger::{Header, LedgerReader};
use tape_engine::time::Ts;
use tape_tests::every_kind::every_kind_ledger;
use tape_tests::{scratch, tape};

/// Runs a built-in scenario into `dir/<name>.tape`.
fn run_builtin(dir: &Path, name: &str) -> PathBuf {
    let out = format!("{name}.tape");
    tape(dir, &["run", name, "--out", &out, "--json"]).expect_code(0);
    dir.join(out)
}

/// Every event of a ledger, read by the engine's reader.
fn events(ledger: &Path) -> (Header, Vec<Event>) {
    let mut reader = LedgerReader::open(ledger).expect("a readable ledger");
    let header = reader.header().clone();
    let mut out = Vec::new();
    while let Some(frame) = reader.next_event().expect("an intact ledger") {
        out.push(frame.decode().expect("a decodable event"));
    }
    (header, out)
}

fn counts(events: &[Event]) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for e in events {
        *counts.entry(e.body.kind().name().to_string()).or_insert(0) += 1;
    }
    counts
}

/// The file names in a directory, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("a directory")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// A CSV table: its header and its rows by seq (the first column).
struct Csv {
    columns: Vec<String>,
    rows: BTreeMap<u64, Vec<String>>,
    lines: u64,
}

impl Csv {
    fn read(path: &Path) -> Self {
        let mut reader = csv::Reader::from_path(path).expect("a CSV file");
        let columns = reader
            .headers()
            .expect("a header row")
            .iter()
            .map(str::to_string)
            .collect();
        let mut rows = BTreeMap::new();
        let mut lines = 0;
        for record in reader.records() {
            let record: Vec<String> = record
                .expect("a CSV row")
                .iter()
                .map(str::to_string)
                .collect();
            let seq = record[0].parse().expect("seq is an integer");
            rows.insert(seq, record);
            lines += 1;
        }
        Self {
            columns,
            rows,
            lines,
        }
    }

    fn get(&self, seq: u64, column: &str) -> &str {
        let i = self
            .columns
            .iter()
            .position(|c| c == column)
            .unwrap_or_else(|| panic!("no column {column} in {:?}", self.columns));
        &self.rows[&seq][i]
    }
}

/// The raw fixed-point integer of exact decimal text with `places` places, parsed here
/// digit by digit (not through the engine's formatting).
fn raw_of(text: &str, places: u32) -> i64 {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    assert!(
        frac.len() as u32 <= places,
        "{text} has more than {places} places"
    );
    let mut raw: i128 = int.parse().expect("integer part");
    for i in 0..places as usize {
        let d = frac.as_bytes().get(i).map_or(0, |b| i128::from(b - b'0'));
        raw = raw * 10 + d;
    }
    i64::try_from(if negative { -raw } else { raw }).expect("fits an i64")
}

/// Checks the CSV time form: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`, and that it reads back as `ts`.
fn assert_csv_time(text: &str, ts: Ts) {
    let b = text.as_bytes();
    assert_eq!(b.len(), 30, "{text}: nine fraction digits and a Z");
    assert_eq!(
        (b[4], b[10], b[19], b[29]),
        (b'-', b'T', b'.', b'Z'),
        "{text}"
    );
    assert!(b[20..29].iter().all(u8::is_ascii_digit), "{text}");
    assert_eq!(Ts::parse(text).expect("RFC 3339"), ts, "{text}");
}

fn causes_text(event: &Event) -> String {
    let seqs: Vec<String> = event
        .causes
        .as_slice()
        .iter()
        .map(|s| s.0.to_string())
        .collect();
    seqs.join(" ")
}

#[test]
fn every_kind_of_a_crash_run_becomes_a_csv_table_with_one_row_per_event() {
    let dir = scratch();
    let ledger = run_builtin(dir.path(), "crash");
    let (_, events) = events(&ledger);
    let counts = counts(&events);
    assert!(
        counts.contains_key("order_amended") && counts.contains_key("circuit_breaker_tripped"),
        "the crash scenario amends orders and trips its breaker: {counts:?}"
    );
    let export = tape(
        dir.path(),
        &[
            "export",
            "crash.tape",
            "--format",
            "csv",
            "--out",
            "tables",
            "--json",
        ],
    );
    let summary = export.expect_code(0).json();

    // Exactly one file per kind present, and nothing else (no temporary files left).
    let expected: Vec<String> = counts.keys().map(|k| format!("{k}.csv")).collect();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    assert_eq!(listing(&dir.path().join("tables")), expected_sorted);

    for (kind, &n) in &counts {
        let path = dir.path().join("tables").join(format!("{kind}.csv"));
        let table = Csv::read(&path);
        assert_eq!(table.lines, n, "{kind}: one row per event");
        assert_eq!(table.rows.len() as u64, n, "{kind}: one row per seq");
        assert_eq!(&table.columns[..3], ["seq", "ts", "causes"], "{kind}");
    }
    // The summary says the same, and the sizes are the files'.
    let tables = summary["tables"].as_array().expect("tables");
    assert_eq!(tables.len(), counts.len());
    for t in tables {
        let kind = t["kind"].as_str().expect("kind");
        assert_eq!(t["rows"].as_u64(), counts.get(kind).copied(), "{kind}");
        let path = dir
            .path()
            .join("tables")
            .join(t["file"].as_str().expect("file"));
        let size = std::fs::metadata(&path).expect("written").len();
        assert_eq!(t["bytes"].as_u64(), Some(size), "{kind}");
    }
    assert_eq!(summary["rows"].as_u64(), Some(events.len() as u64));
    assert_eq!(summary["format"], "csv");

    // `tape show --json` counts the same events of each kind.
    let show = tape(dir.path(), &["show", "crash.tape", "--json"]);
    let mut shown: BTreeMap<String, u64> = BTreeMap::new();
    for line in show.expect_code(0).stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        *shown
            .entry(v["kind"].as_str().expect("kind").to_string())
            .or_insert(0) += 1;
    }
    assert_eq!(shown, counts);

    // The text summary names every table with its rows.
    let text = tape(
        dir.path(),
        &["export", "crash.tape", "--format", "csv", "--out", "again"],
    );
    text.expect_code(0);
    assert!(
        text.stdout.contains("order_amended") && text.stdout.contains("fill.csv"),
        "{}",
        text.stdout
    );
}

#[test]
fn csv_values_are_the_ledgers_exact_decimals_names_and_nanosecond_utc_times() {
    let dir = scratch();
    let ledger = run_builtin(dir.path(), "crash");
    let (header, events) = events(&ledger);
    tape(
        dir.path(),
        &["export", "crash.tape", "--format", "csv", "--out", "t"],
    )
    .expect_code(0);
    let table = |kind: &str| Csv::read(&dir.path().join("t").join(format!("{kind}.csv")));
    let (fills, orders, amends, signals) = (
        table("fill"),
        table("order_submitted"),
        table("order_amended"),
        table("signal"),
    );
    let show = tape(dir.path(), &["show", "crash.tape", "--kind", "signal"]);
    let show = show.expect_code(0).stdout.clone();
    let (mut checked_fills, mut checked_optional) = (0, 0);
    for event in &events {
        let seq = event.seq.0;
        match &event.body {
            EventBody::OrderFilled(f) => {
                assert_eq!(raw_of(fills.get(seq, "price"), 8), f.price.raw());
                assert_eq!(raw_of(fills.get(seq, "quantity"), 8), f.quantity.raw());
                assert_eq!(
                    raw_of(fills.get(seq, "expected_price"), 8),
                    f.expected_price.raw()
                );
                assert_eq!(raw_of(fills.get(seq, "fee"), 6), f.fee.raw());
                assert_eq!(raw_of(fills.get(seq, "slippage"), 6), f.slippage.raw());
                assert_eq!(raw_of(fills.get(seq, "remaining"), 8), f.remaining.raw());
                assert_eq!(
                    fills.get(seq, "symbol"),
                    header.symbols[f.symbol.0 as usize]
                );
                let side = match f.side {
                    Side::Buy => "buy",
                    Side::Sell => "sell",
                };
                assert_eq!(fills.get(seq, "side"), side);
                assert_eq!(fills.get(seq, "order"), f.order.0.to_string());
                assert_eq!(fills.get(seq, "causes"), causes_text(event));
                assert_csv_time(fills.get(seq, "ts"), event.ts);
                checked_fills += 1;
            }
            EventBody::OrderSubmitted(o) => {
                for (column, price) in
                    [("limit_price", o.limit_price), ("stop_price", o.stop_price)]
                {
                    let text = orders.get(seq, column);
                    match price {
                        Some(p) => assert_eq!(raw_of(text, 8), p.raw(), "#{seq} {column}"),
                        None => assert_eq!(text, "", "#{seq} {column}: no price is empty"),
                    }
                }
                checked_optional += 1;
            }
            EventBody::OrderAmended(a) => {
                assert_eq!(raw_of(amends.get(seq, "remaining"), 8), a.remaining.raw());
                match a.stop_price {
                    Some(p) => assert_eq!(raw_of(amends.get(seq, "stop_price"), 8), p.raw()),
                    None => assert_eq!(amends.get(seq, "stop_price"), ""),
                }
            }
            EventBody::Signal(_) => {
                // The reason is the rule's name and its values as `tape show` prints them.
                let line = show
                    .lines()
                    .find(|l| l.starts_with(&format!("#{seq} ")))
                    .expect("show prints every signal");
                let reason = format!(
                    "reason={}({})",
                    signals.get(seq, "reason_rule"),
                    signals.get(seq, "reason_values")
                );
                assert!(line.contains(&reason), "{line} lacks {reason}");
            }
            _ => {}
        }
    }
    assert!(checked_fills > 100 && checked_optional > 100);
}

#[test]
fn every_event_kind_exports_with_exact_values_at_the_edges_of_their_types() {
    let dir = scratch();
    let events = every_kind_ledger(&dir.path().join("all.tape"));
    let kinds: Vec<EventKind> = events.iter().map(|e| e.body.kind()).collect();
    for kind in EventKind::ALL {
        assert!(kinds.contains(kind), "the fixture lacks {}", kind.name());
    }
    tape(
        dir.path(),
        &["export", "all.tape", "--format", "csv", "--out", "t"],
    )
    .expect_code(0);
    let table =
        |kind: EventKind| Csv::read(&dir.path().join("t").join(format!("{}.csv", kind.name())));
    assert_eq!(listing(&dir.path().join("t")).len(), EventKind::ALL.len());

    let bar = table(EventKind::Bar);
    assert_eq!(bar.get(1, "high"), "92233720368.54775807");
    assert_eq!(bar.get(1, "low"), "0.00000001");
    assert_eq!(bar.get(1, "symbol"), "B,B \"quoted\"");
    assert_csv_time(bar.get(1, "ts"), Ts(1_388_610_000_123_456_790));
    let fill = table(EventKind::OrderFilled);
    assert_eq!(fill.get(10, "slippage"), "-9223372036854.775808");
    assert_eq!(fill.get(10, "price"), "1.23456789");
    assert_eq!(fill.get(10, "causes"), "1 9");
    let started = table(EventKind::RunStarted);
    assert_eq!(started.get(0, "config_digest"), "ab".repeat(32));
    assert_eq!(started.get(0, "initial_cash"), "9223372036854.775807");
    assert_eq!(started.get(0, "causes"), "");
    assert_eq!(table(EventKind::Feature).get(4, "feature"), "sentiment");
    assert_eq!(table(EventKind::Feature).get(4, "value"), "-1.25");
    assert_eq!(table(EventKind::Signal).get(5, "direction"), "short");
    assert_eq!(table(EventKind::BorrowCharged).get(16, "amount"), "1.50");
    assert_eq!(
        table(EventKind::DataQuarantined).get(2, "reason_rule"),
        "order_from_target"
    );

    // An optional field some orders carry is a column, empty where an order lacks it.
    let orders = table(EventKind::OrderSubmitted);
    for column in ["trail", "good_for_bars", "cycle"] {
        assert_eq!(orders.get(7, column), "", "{column}");
    }
    assert_eq!(orders.get(8, "trail"), "0.00000005");
    assert_eq!(orders.get(8, "good_for_bars"), "5");
    assert_eq!(orders.get(8, "cycle"), "7");
    assert_eq!(orders.get(8, "time_in_force"), "gfn");
    assert_eq!(orders.get(8, "order_type"), "trailing_stop");
    assert_eq!(
        orders.columns.last().map(String::as_str),
        Some("reason_values"),
        "the reason stays last: {:?}",
        orders.columns
    );
}

#[test]
fn existing_tables_are_refused_unless_forced_and_force_removes_stale_ones() {
    let dir = scratch();
    every_kind_ledger(&dir.path().join("all.tape"));
    run_builtin(dir.path(), "crash");
    let args = ["export", "crash.tape", "--format", "csv", "--out", "t"];
    tape(dir.path(), &args).expect_code(0);
    let fill = dir.path().join("t/fill.csv");
    let before = std::fs::read(&fill).expect("written");

    // Exporting another ledger over the first is refused, naming the file, changing nothing.
    let again = tape(
        dir.path(),
        &["export", "all.tape", "--format", "csv", "--out", "t"],
    );
    again.expect_code(2);
    assert!(
        again.stderr.starts_with("tape: t/") && again.stderr.contains("already exists"),
        "{}",
        again.stderr
    );
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    assert_eq!(std::fs::read(&fill).expect("kept"), before);

    // A table of a kind this ledger does not have counts too: it would pass as this export's.
    std::fs::create_dir(dir.path().join("u")).expect("mkdir");
    std::fs::write(dir.path().join("u/borrow_charged.csv"), "old\n").expect("write");
    std::fs::write(dir.path().join("u/notes.txt"), "mine\n").expect("write");
    let refused = tape(
        dir.path(),
        &["export", "crash.tape", "--format", "csv", "--out", "u"],
    );
    refused.expect_code(2);
    assert!(
        refused.stderr.contains("u/borrow_charged.csv"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        listing(&dir.path().join("u")),
        ["borrow_charged.csv", "notes.txt"]
    );
    // A Parquet export is not blocked by CSV tables, and the reverse.
    tape(
        dir.path(),
        &[
            "export",
            "crash.tape",
            "--format",
            "csv",
            "--out",
            "u",
            "--force",
        ],
    )
    .expect_code(0);
    let listed = listing(&dir.path().join("u"));
    assert!(
        !listed.contains(&"borrow_charged.csv".to_string()),
        "{listed:?}"
    );
    assert!(listed.contains(&"notes.txt".to_string()), "{listed:?}");
    assert!(listed.contains(&"fill.csv".to_string()), "{listed:?}");

    // Forced over the first export: the other ledger's tables replace it.
    tape(
        dir.path(),
        &[
            "export", "all.tape", "--format", "csv", "--out", "t", "--force",
        ],
    )
    .expect_code(0);
    assert_ne!(std::fs::read(&fill).expect("replaced"), before);
}

#[test]
fn damaged_or_missing_ledgers_are_reported_and_nothing_is_written() {
    let dir = scratch();
    let ledger = run_builtin(dir.path(), "crash");
    let bytes = std::fs::read(&ledger).expect("written");

    let mut flipped = bytes.clone();
    let at = flipped.len() / 2;
    flipped[at] ^= 0x10;
    std::fs::write(dir.path().join("flipped.tape"), &flipped).expect("write");
    let run = tape(
        dir.path(),
        &["export", "flipped.tape", "--format", "csv", "--out", "a"],
    );
    run.expect_code(1);
    assert!(
        run.stderr.starts_with("tape: flipped.tape: ") && run.stderr.contains("corruption at byte"),
        "{}",
        run.stderr
    );
    assert!(
        !dir.path().join("a").exists(),
        "nothing written for a corrupt ledger"
    );

    std::fs::write(
        dir.path().join("cut.tape"),
        &bytes[..bytes.len() * 2 / 3 + 3],
    )
    .expect("write");
    let run = tape(
        dir.path(),
        &["export", "cut.tape", "--format", "csv", "--out", "b"],
    );
    run.expect_code(1);
    assert!(run.stderr.contains("torn tail at byte"), "{}", run.stderr);
    assert!(!dir.path().join("b").exists());

    let run = tape(
        dir.path(),
        &["export", "nope.tape", "--format", "csv", "--out", "c"],
    );
    run.expect_code(2);
    assert!(
        run.stderr.contains("nope.tape") && run.stderr.contains("check the path"),
        "{}",
        run.stderr
    );

    std::fs::write(
        dir.path().join("notes.txt"),
        "not a ledger at all, just text\n",
    )
    .expect("write");
    let run = tape(
        dir.path(),
        &["export", "notes.txt", "--format", "csv", "--out", "d"],
    );
    run.expect_code(2);
    assert!(run.stderr.contains("not a Tape ledger"), "{}", run.stderr);

    // An --out that is a file.
    let run = tape(
        dir.path(),
        &[
            "export",
            "crash.tape",
            "--format",
            "csv",
            "--out",
            "notes.txt",
        ],
    );
    run.expect_code(2);
    assert!(
        run.stderr.contains("notes.txt") && run.stderr.contains("output directory"),
        "{}",
        run.stderr
    );

    // An unknown format is the argument parser's usage error.
    let run = tape(
        dir.path(),
        &["export", "crash.tape", "--format", "xlsx", "--out", "e"],
    );
    run.expect_code(2);
    assert!(
        run.stderr.contains("csv") && run.stderr.contains("parquet"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_ledger_that_changes_between_the_passes_leaves_no_table_behind() {
    use tape_replay::export::{self, ExportError, Format};
    let dir = scratch();
    let a = run_builtin(dir.path(), "crash");
    let layout = export::scan(&a, &mut |_| {}).expect("scans");
    // Another ledger with the same kinds in the place of the first: the second pass sees it.
    let b = dir.path().join("b.tape");
    tape(
        dir.path(),
        &["run", "crash", "--seed", "8", "--out", "b.tape"],
    )
    .expect_code(0);
    let out = dir.path().join("t");
    let result = export::write(&b, &layout, Format::Csv, &out, false, &mut |_| {});
    assert!(
        matches!(result, Err(ExportError::Changed { .. })),
        "{result:?}"
    );
    assert_eq!(
        listing(&out),
        Vec::<String>::new(),
        "no table, no temporary file"
    );
}

#[cfg(not(feature = "parquet"))]
#[test]
fn parquet_in_a_build_without_it_says_how_to_build_it() {
    let dir = scratch();
    run_builtin(dir.path(), "crash");
    let run = tape(
        dir.path(),
        &["export", "crash.tape", "--format", "parquet", "--out", "t"],
    );
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("cargo build --release --features parquet"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    assert!(!dir.path().join("t").exists());
}

#[cfg(feature = "parquet")]
mod parquet_tables {
    use super::*;

    use arrow_array::cast::AsArray;
    use arrow_array::types::{Decimal128Type, TimestampNanosecondType, UInt64Type};
    use arrow_array::Array;
    use arrow_schema::{DataType, TimeUnit};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::basic::{LogicalType, TimeUnit as ParquetTimeUnit};

    /// A Parquet table: its reader's builder (schema, metadata) and its batches.
    fn open(path: &Path) -> ParquetRecordBatchReaderBuilder<std::fs::File> {
        let file = std::fs::File::open(path).expect("a table");
        ParquetRecordBatchReaderBuilder::try_new(file).expect("a Parquet file")
    }

    fn logical_type(
        builder: &ParquetRecordBatchReaderBuilder<std::fs::File>,
        column: &str,
    ) -> Option<LogicalType> {
        let schema = builder.metadata().file_metadata().schema_descr();
        schema
            .columns()
            .iter()
            .find(|c| c.path().parts()[0] == column)
            .unwrap_or_else(|| panic!("no column {column}"))
            .logical_type_ref()
            .cloned()
    }

    #[test]
    fn parquet_tables_hold_typed_decimals_and_utc_nanosecond_times() {
        let dir = scratch();
        let ledger = run_builtin(dir.path(), "default");
        let (_, events) = events(&ledger);
        let counts = counts(&events);
        let export = tape(
            dir.path(),
            &[
                "export",
                "default.tape",
                "--format",
                "parquet",
                "--out",
                "pq",
                "--json",
            ],
        );
        let summary = export.expect_code(0).json();
        let expected: Vec<String> = {
            let mut v: Vec<String> = counts.keys().map(|k| format!("{k}.parquet")).collect();
            v.sort();
            v
        };
        assert_eq!(listing(&dir.path().join("pq")), expected);
        let verify = tape(dir.path(), &["verify", "default.tape", "--json"]).json();

        for (kind, &n) in &counts {
            let builder = open(&dir.path().join("pq").join(format!("{kind}.parquet")));
            let metadata = builder.metadata().clone();
            assert_eq!(metadata.file_metadata().num_rows() as u64, n, "{kind}");
            for group in metadata.row_groups() {
                assert!(group.num_rows() <= 65_536, "{kind}: bounded row groups");
            }
            let schema = builder.schema().clone();
            assert_eq!(
                schema.field_with_name("ts").expect("ts").data_type(),
                &DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
                "{kind}"
            );
            assert_eq!(
                logical_type(&builder, "ts"),
                Some(LogicalType::timestamp(true, ParquetTimeUnit::NANOS)),
                "{kind}"
            );
            let kv: BTreeMap<String, Option<String>> = metadata
                .file_metadata()
                .key_value_metadata()
                .expect("key-value metadata")
                .iter()
                .map(|kv| (kv.key.clone(), kv.value.clone()))
                .collect();
            assert_eq!(kv["tape.kind"].as_deref(), Some(kind.as_str()));
            assert_eq!(
                kv["tape.fingerprint"].as_deref(),
                verify["fingerprint"].as_str()
            );
        }
        // The bar table is larger than one row group.
        let bars = open(&dir.path().join("pq/bar.parquet"));
        assert_eq!(
            bars.metadata().num_row_groups(),
            2,
            "78,300 bars in 65,536-row groups"
        );
        assert_eq!(summary["rows"].as_u64(), Some(events.len() as u64));

        // Fills: exact decimals of the raw values, times, causes.
        let builder = open(&dir.path().join("pq/fill.parquet"));
        for (column, scale) in [("price", 8), ("quantity", 8), ("fee", 6), ("slippage", 6)] {
            assert_eq!(
                builder
                    .schema()
                    .field_with_name(column)
                    .expect(column)
                    .data_type(),
                &DataType::Decimal128(19, scale),
                "{column}"
            );
            assert_eq!(
                logical_type(&builder, column),
                Some(LogicalType::decimal(i32::from(scale), 19)),
                "{column}"
            );
        }
        let fills: Vec<&Event> = events
            .iter()
            .filter(|e| matches!(e.body, EventBody::OrderFilled(_)))
            .collect();
        let mut row = 0;
        for batch in builder.build().expect("reads") {
            let batch = batch.expect("a batch");
            let column = |name: &str| batch.column_by_name(name).expect(name).clone();
            let seq = column("seq");
            let seq = seq.as_primitive::<UInt64Type>();
            let ts = column("ts");
            let ts = ts.as_primitive::<TimestampNanosecondType>();
            let price = column("price");
            let price = price.as_primitive::<Decimal128Type>();
            let quantity = column("quantity");
            let quantity = quantity.as_primitive::<Decimal128Type>();
            let fee = column("fee");
            let fee = fee.as_primitive::<Decimal128Type>();
            let causes = column("causes");
            let causes = causes.as_list::<i32>();
            let symbol = column("symbol");
            let symbol = symbol.as_string::<i32>();
            for i in 0..batch.num_rows() {
                let event = fills[row];
                let EventBody::OrderFilled(f) = &event.body else {
                    unreachable!("filtered to fills")
                };
                assert_eq!(seq.value(i), event.seq.0);
                assert_eq!(ts.value(i), event.ts.0);
                assert_eq!(price.value(i), i128::from(f.price.raw()));
                assert_eq!(quantity.value(i), i128::from(f.quantity.raw()));
                assert_eq!(fee.value(i), i128::from(f.fee.raw()));
                assert!(symbol.value(i).starts_with("SYN"));
                let seqs: Vec<u64> = causes
                    .value(i)
                    .as_primitive::<UInt64Type>()
                    .values()
                    .to_vec();
                let expected: Vec<u64> = event.causes.as_slice().iter().map(|s| s.0).collect();
                assert_eq!(seqs, expected);
                row += 1;
            }
        }
        assert_eq!(row, fills.len());
    }

    #[test]
    fn parquet_keeps_the_extremes_and_the_nulls() {
        let dir = scratch();
        every_kind_ledger(&dir.path().join("all.tape"));
        tape(
            dir.path(),
            &["export", "all.tape", "--format", "parquet", "--out", "pq"],
        )
        .expect_code(0);
        assert_eq!(listing(&dir.path().join("pq")).len(), EventKind::ALL.len());

        let batch = |kind: &str| {
            let builder = open(&dir.path().join("pq").join(format!("{kind}.parquet")));
            let mut batches = builder.build().expect("reads");
            batches.next().expect("one batch").expect("a batch")
        };
        let bar = batch("bar");
        let high = bar.column_by_name("high").expect("high");
        assert_eq!(
            high.as_primitive::<Decimal128Type>().value(0),
            i128::from(i64::MAX)
        );
        let fill = batch("fill");
        let slippage = fill.column_by_name("slippage").expect("slippage");
        assert_eq!(
            slippage.as_primitive::<Decimal128Type>().value(0),
            i128::from(i64::MIN)
        );
        let ts = fill.column_by_name("ts").expect("ts");
        assert_eq!(
            ts.as_primitive::<TimestampNanosecondType>().value(0),
            1_388_610_000_123_456_799
        );

        let orders = batch("order_submitted");
        let schema = orders.schema();
        for name in [
            "limit_price",
            "stop_price",
            "trail",
            "good_for_bars",
            "cycle",
        ] {
            let field = schema.field_with_name(name).expect(name);
            assert!(field.is_nullable(), "{name}");
            let column = orders.column_by_name(name).expect(name);
            assert!(
                column.is_null(0) && !column.is_valid(0),
                "{name}: the market order has none"
            );
            assert!(column.is_valid(1), "{name}: the trailing stop has one");
        }
        assert!(!schema
            .field_with_name("quantity")
            .expect("quantity")
            .is_nullable());
        assert_eq!(
            schema
                .field_with_name("good_for_bars")
                .expect("column")
                .data_type(),
            &DataType::UInt64
        );
        let side = orders.column_by_name("side").expect("side");
        assert_eq!(side.as_string::<i32>().value(1), "buy");
    }
}
