//! `tape compare` and `tape hash`: identical inputs pass; a value changed beyond its
//! category's tolerance fails, and within it passes (but not in exact mode); exact fields
//! (row counts, files present, the date index, symbols, text, integers) fail on any change;
//! manifests are stable and see through re-encoding.
//!
//! Every expected verdict comes from the documented rule worked by hand (docs/parity.md):
//! floats rounded to the category's decimals may differ by at most its tolerance — returns,
//! drawdown and exposure 1e-8 at 10 decimals; turnover, slippage and money 1e-6 at 8 — so a
//! change of 1e-9 (10 units at 10 decimals) or 1e-7 (10 units at 8) passes, and a change of
//! 1e-7 (1,000 units) or 1e-5 (1,000 units) fails.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tape_engine::event::EventBody;
use tape_engine::fixed::{Quantity, QTY_SCALE};
use tape_engine::ledger::frame::{decode_event, encode_event};
use tape_engine::ledger::{FsyncPolicy, LedgerReader, LedgerWriter};
use tape_tests::{scratch, tape, Run};

fn s(path: &Path) -> &str {
    path.to_str().expect("scratch paths are UTF-8")
}

/// `tape compare BASELINE CANDIDATE --json ARGS…`, its report, checked against the exit code
/// (0 when it passed, 1 when it did not).
fn compare(dir: &Path, a: &Path, b: &Path, args: &[&str]) -> Value {
    let mut all = vec!["compare", s(a), s(b), "--json"];
    all.extend_from_slice(args);
    let run = tape(dir, &all);
    let report = run.json();
    let code = if report["passed"] == true { 0 } else { 1 };
    run.expect_code(code);
    report
}

/// The `what`, `column` and `category` of each difference.
fn findings(report: &Value) -> Vec<(String, String, String)> {
    report["differences"]
        .as_array()
        .expect("differences is an array")
        .iter()
        .map(|d| {
            let text = |k: &str| d[k].as_str().unwrap_or("").to_string();
            (text("what"), text("column"), text("category"))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// A table of outputs, written as CSV (and as Parquet with the `parquet` feature).

#[derive(Clone, Debug, PartialEq)]
enum V {
    S(String),
    F(f64),
    I(i64),
    B(bool),
}

#[derive(Clone, Debug)]
struct Table {
    columns: Vec<&'static str>,
    rows: Vec<Vec<V>>,
}

impl Table {
    /// Three days × two symbols, one column per tolerance category and per exact kind.
    fn sample() -> Self {
        let columns = vec![
            "date",
            "symbol",
            "return",
            "drawdown",
            "gross_exposure",
            "turnover",
            "slippage",
            "equity",
            "side",
            "qty",
            "filled",
        ];
        let mut rows = Vec::new();
        for (d, date) in ["2024-01-02", "2024-01-03", "2024-01-04"]
            .iter()
            .enumerate()
        {
            for (k, symbol) in ["AAA", "BBB"].iter().enumerate() {
                let i = (2 * d + k) as f64;
                rows.push(vec![
                    V::S(date.to_string()),
                    V::S(symbol.to_string()),
                    V::F(0.001_234_567_89 * (i + 1.0)),
                    V::F(0.012_345_678_9 + 0.001 * i),
                    V::F(0.25 + 0.01 * i),
                    V::F(0.031_25 * (i + 1.0)),
                    V::F(12.345_678 + i),
                    V::F(1_000_000.123_456 + 1_000.0 * i),
                    V::S(if k == 0 { "buy" } else { "sell" }.to_string()),
                    V::I(100 * (d as i64 + 1)),
                    V::B(k == 0),
                ]);
            }
        }
        Self { columns, rows }
    }

    fn column(&self, name: &str) -> usize {
        self.columns
            .iter()
            .position(|c| *c == name)
            .expect("a column of the sample")
    }

    /// The same table with one cell set.
    fn with(&self, row: usize, column: &str, value: V) -> Self {
        let mut t = self.clone();
        let c = t.column(column);
        t.rows[row][c] = value;
        t
    }

    /// The same table with `delta` added to a float cell.
    fn plus(&self, row: usize, column: &str, delta: f64) -> Self {
        let c = self.column(column);
        let V::F(x) = self.rows[row][c] else {
            panic!("{column} is a float column");
        };
        self.with(row, column, V::F(x + delta))
    }

    /// As CSV text: `quoted` quotes every field, `crlf` ends lines with `\r\n`, and the last
    /// line then has no line ending.
    fn csv(&self, quoted: bool, crlf: bool) -> String {
        let field = |text: String| {
            if quoted {
                format!("\"{text}\"")
            } else {
                text
            }
        };
        let mut lines = vec![self
            .columns
            .iter()
            .map(|c| field(c.to_string()))
            .collect::<Vec<_>>()
            .join(",")];
        for row in &self.rows {
            let cells: Vec<String> = row
                .iter()
                .map(|v| {
                    field(match v {
                        V::S(s) => s.clone(),
                        // Shortest text that reads back as the same f64.
                        V::F(f) => format!("{f:?}"),
                        V::I(i) => i.to_string(),
                        V::B(b) => b.to_string(),
                    })
                })
                .collect();
            lines.push(cells.join(","));
        }
        if crlf {
            lines.join("\r\n")
        } else {
            lines.join("\n") + "\n"
        }
    }
}

/// A directory of outputs: `equity.csv` (the table) and `notes/trades.csv`.
fn write_dir(dir: &Path, name: &str, table: &Table) -> PathBuf {
    let out = dir.join(name);
    std::fs::create_dir_all(out.join("notes")).expect("directory created");
    std::fs::write(out.join("equity.csv"), table.csv(false, false)).expect("written");
    std::fs::write(
        out.join("notes/trades.csv"),
        "ts,ticker,quantity\n2024-01-02T21:00:00Z,AAA,100\n",
    )
    .expect("written");
    out
}

#[test]
fn identical_csv_directories_pass_and_re_encoded_ones_are_equal() {
    let dir = scratch();
    let table = Table::sample();
    let a = write_dir(dir.path(), "a", &table);
    let b = write_dir(dir.path(), "b", &table);
    for mode in ["exact", "tolerant"] {
        let r = compare(dir.path(), &a, &b, &["--mode", mode]);
        assert_eq!(r["passed"], true, "{r}");
        assert_eq!(r["files"]["equity.csv"], "identical");
        assert_eq!(r["files"]["notes/trades.csv"], "identical");
    }
    // Every field quoted, CRLF line endings, no final newline: other bytes, the same table.
    std::fs::write(b.join("equity.csv"), table.csv(true, true)).expect("written");
    for mode in ["exact", "tolerant"] {
        let r = compare(dir.path(), &a, &b, &["--mode", mode]);
        assert_eq!(r["passed"], true, "{r}");
        assert_eq!(r["files"]["equity.csv"], "equal");
    }
}

/// One float changed in each tolerance category: beyond tolerance fails naming the column
/// and category, within passes in tolerant mode and fails in exact mode.
#[test]
fn each_category_fails_beyond_its_tolerance_and_passes_within() {
    let dir = scratch();
    let table = Table::sample();
    let a = write_dir(dir.path(), "a", &table);
    // (column, category, a change beyond, a change within)
    let cases = [
        ("return", "returns", 1e-7, 1e-9),
        ("drawdown", "drawdown", 1e-7, 1e-9),
        ("gross_exposure", "exposure", 1e-7, 1e-9),
        ("turnover", "turnover", 1e-5, 1e-7),
        ("slippage", "slippage", 1e-5, 1e-7),
        ("equity", "money", 1e-5, 1e-7),
    ];
    for (i, (column, category, beyond, within)) in cases.into_iter().enumerate() {
        let b = write_dir(
            dir.path(),
            &format!("beyond-{i}"),
            &table.plus(3, column, beyond),
        );
        let r = compare(dir.path(), &a, &b, &[]);
        assert_eq!(r["passed"], false, "{column}: {r}");
        assert_eq!(
            findings(&r),
            vec![("value".into(), column.into(), category.into())],
            "{column}: {r}"
        );
        let d = &r["differences"][0];
        assert_eq!(d["file"], "equity.csv");
        assert_eq!(d["row"], 4);
        assert_eq!(d["key"], "2024-01-03 BBB");

        let c = write_dir(
            dir.path(),
            &format!("within-{i}"),
            &table.plus(3, column, within),
        );
        let r = compare(dir.path(), &a, &c, &[]);
        assert_eq!(r["passed"], true, "{column}: {r}");
        assert_eq!(r["files"]["equity.csv"], "equal");
        let r = compare(dir.path(), &a, &c, &["--mode", "exact"]);
        assert_eq!(r["passed"], false, "{column} in exact mode: {r}");
        assert_eq!(findings(&r)[0].0, "value");
        assert_eq!(r["differences"][0]["category"], Value::Null);
    }
}

#[test]
fn exact_fields_fail_on_any_change() {
    let dir = scratch();
    let table = Table::sample();
    let a = write_dir(dir.path(), "a", &table);
    // (what changed, the candidate, the expected (what, column) of each difference)
    type Case = (&'static str, Table, Vec<(&'static str, &'static str)>);
    let cases: Vec<Case> = vec![
        (
            "categorical text",
            table.with(2, "side", V::S("short".into())),
            vec![("value", "side")],
        ),
        (
            "an integer",
            table.with(2, "qty", V::I(201)),
            vec![("value", "qty")],
        ),
        (
            "a boolean",
            table.with(2, "filled", V::B(false)),
            vec![("value", "filled")],
        ),
        (
            "the date index",
            table.with(5, "date", V::S("2024-01-05".into())),
            vec![("date_index", "date")],
        ),
        (
            "the symbol set",
            table.with(5, "symbol", V::S("CCC".into())),
            vec![("value", "symbol"), ("symbols", "")],
        ),
        (
            "a row count",
            Table {
                columns: table.columns.clone(),
                rows: table.rows[..5].to_vec(),
            },
            vec![("rows", "")],
        ),
    ];
    for (what, candidate, expected) in cases {
        let b = write_dir(dir.path(), &what.replace(' ', "-"), &candidate);
        for mode in ["tolerant", "exact"] {
            let r = compare(dir.path(), &a, &b, &["--mode", mode]);
            assert_eq!(r["passed"], false, "{what}: {r}");
            let got: Vec<(String, String)> =
                findings(&r).into_iter().map(|(w, c, _)| (w, c)).collect();
            let want: Vec<(String, String)> = expected
                .iter()
                .map(|(w, c)| (w.to_string(), c.to_string()))
                .collect();
            assert_eq!(got, want, "{what} ({mode}): {r}");
        }
    }
    // The symbol set names what is missing and what is new.
    let b = dir.path().join("the-symbol-set");
    let r = compare(dir.path(), &a, &b, &[]);
    assert_eq!(r["differences"][1]["key"], "extra: CCC");
    assert_eq!(r["differences"][1]["baseline"], "2 symbols");
    assert_eq!(r["differences"][1]["candidate"], "3 symbols");
}

#[test]
fn a_missing_or_extra_file_fails() {
    let dir = scratch();
    let table = Table::sample();
    let a = write_dir(dir.path(), "a", &table);
    let b = write_dir(dir.path(), "b", &table);
    std::fs::remove_file(b.join("notes/trades.csv")).expect("removed");
    std::fs::write(b.join("new.csv"), "x\n1\n").expect("written");
    let r = compare(dir.path(), &a, &b, &[]);
    assert_eq!(r["passed"], false);
    assert_eq!(r["files"]["notes/trades.csv"], "missing");
    assert_eq!(r["files"]["new.csv"], "extra");
    let whats: Vec<String> = findings(&r).into_iter().map(|f| f.0).collect();
    assert_eq!(whats, ["missing_file", "extra_file"]);
    // The text report says it in words.
    let text = tape(dir.path(), &["compare", s(&a), s(&b)]);
    text.expect_code(1);
    assert!(
        text.stdout
            .contains("notes/trades.csv: missing in the candidate"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("new.csv: not in the baseline"));
}

#[test]
fn tolerances_can_be_overridden_per_category() {
    let dir = scratch();
    let table = Table::sample();
    let a = write_dir(dir.path(), "a", &table);
    // 1e-7 on a return fails at 1e-8 and passes at 1e-6 (100 units at 8 decimals).
    let b = write_dir(dir.path(), "b", &table.plus(0, "return", 1e-7));
    assert_eq!(compare(dir.path(), &a, &b, &[])["passed"], false);
    let r = compare(dir.path(), &a, &b, &["--tol", "returns=1e-6:8"]);
    assert_eq!(r["passed"], true, "{r}");
    assert_eq!(r["tolerances"]["returns"]["abs"], 1e-6);
    assert_eq!(r["tolerances"]["returns"]["decimals"], 8);
    // 1e-7 on turnover passes by default and fails at 1e-8 (10 decimals).
    let c = write_dir(dir.path(), "c", &table.plus(0, "turnover", 1e-7));
    assert_eq!(compare(dir.path(), &a, &c, &[])["passed"], true);
    let r = compare(dir.path(), &a, &c, &["--tol", "turnover=1e-8:10"]);
    assert_eq!(r["passed"], false);
    assert_eq!(r["differences"][0]["tolerance"], 1e-8);
    // A malformed or too fine tolerance is a usage error.
    for bad in ["speed=1", "returns", "returns=-1", "returns=1e-12"] {
        let run = tape(dir.path(), &["compare", s(&a), s(&b), "--tol", bad]);
        run.expect_code(2);
        assert!(run.stderr.starts_with("tape: --tol"), "{}", run.stderr);
    }
}

#[test]
fn unreadable_inputs_exit_2_with_one_sentence() {
    let dir = scratch();
    let table = Table::sample();
    let a = write_dir(dir.path(), "a", &table);
    let b = write_dir(dir.path(), "b", &table);
    let missing = dir.path().join("nope");
    let run = tape(dir.path(), &["compare", s(&a), s(&missing)]);
    run.expect_code(2);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("nope: cannot read it"),
        "{}",
        run.stderr
    );
    // A ragged row, named with its line.
    std::fs::write(
        b.join("equity.csv"),
        "date,return\n2024-01-02,0.1\n2024-01-03\n",
    )
    .expect("written");
    std::fs::write(
        a.join("equity.csv"),
        "date,return\n2024-01-02,0.1\n2024-01-03,0.2\n",
    )
    .expect("written");
    let run = tape(dir.path(), &["compare", s(&a), s(&b)]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("equity.csv, line 3: not a readable CSV table"),
        "{}",
        run.stderr
    );
    // A directory and a file.
    let run = tape(dir.path(), &["compare", s(&a), s(&a.join("equity.csv"))]);
    run.expect_code(2);
    assert!(run.stderr.contains("cannot compare"), "{}", run.stderr);
}

// ---------------------------------------------------------------------------------------
// Metrics JSON and ledgers.

fn run_stocks(dir: &Path, out: &str, extra: &[&str]) -> PathBuf {
    let mut args = vec!["run", "stocks", "--out", out, "--json"];
    args.extend_from_slice(extra);
    tape(dir, &args).expect_code(0);
    dir.join(out)
}

fn metrics_json(dir: &Path, ledger: &Path, out: &str) -> (PathBuf, Value) {
    let run = tape(dir, &["metrics", s(ledger), "--json"]);
    run.expect_code(0);
    let path = dir.join(out);
    std::fs::write(&path, &run.stdout).expect("written");
    (path, run.json())
}

fn write_json(path: &Path, value: &Value) {
    std::fs::write(path, value.to_string()).expect("written");
}

fn add(value: &mut Value, delta: f64) {
    let x = value.as_f64().expect("a number");
    *value = serde_json::json!(x + delta);
}

#[test]
fn metrics_files_compare_by_category_and_by_date() {
    let dir = scratch();
    let ledger = run_stocks(dir.path(), "a.tape", &[]);
    let (a, m) = metrics_json(dir.path(), &ledger, "a.json");
    let (b, _) = metrics_json(dir.path(), &ledger, "b.json");
    for mode in ["exact", "tolerant"] {
        assert_eq!(
            compare(dir.path(), &a, &b, &["--mode", mode])["passed"],
            true
        );
    }
    let c = dir.path().join("c.json");
    // A summary figure: 1e-7 on total_return fails; 1e-9 passes, but not in exact mode.
    let mut v = m.clone();
    add(&mut v["total_return"], 1e-7);
    write_json(&c, &v);
    let r = compare(dir.path(), &a, &c, &[]);
    assert_eq!(
        findings(&r),
        vec![("value".into(), "total_return".into(), "returns".into())]
    );
    let mut v = m.clone();
    add(&mut v["total_return"], 1e-9);
    write_json(&c, &v);
    assert_eq!(compare(dir.path(), &a, &c, &[])["passed"], true);
    assert_eq!(
        compare(dir.path(), &a, &c, &["--mode", "exact"])["passed"],
        false
    );
    // A daily path, labelled with its date; the category comes from the key.
    for (column, category, delta) in [
        ("drawdown", "drawdown", 1e-7),
        ("gross", "exposure", 1e-7),
        ("turnover", "turnover", 1e-5),
        ("slippage", "slippage", 1e-5),
        ("equity", "money", 1e-5),
    ] {
        let mut v = m.clone();
        add(&mut v["daily"][column][40], delta);
        write_json(&c, &v);
        let r = compare(dir.path(), &a, &c, &[]);
        let path = format!("daily.{column}");
        assert_eq!(
            findings(&r),
            vec![("value".into(), path, category.into())],
            "{r}"
        );
        assert_eq!(r["differences"][0]["index"], 40);
        assert_eq!(r["differences"][0]["key"], m["daily"]["date"][40]);
    }
    // The date index and integer fields are exact.
    let mut v = m.clone();
    v["daily"]["date"][7] = Value::String("1999-12-31".into());
    write_json(&c, &v);
    let r = compare(dir.path(), &a, &c, &[]);
    assert_eq!(findings(&r)[0].0, "date_index");
    let mut v = m.clone();
    v["trades"] = serde_json::json!(v["trades"].as_u64().expect("an integer") + 1);
    write_json(&c, &v);
    let r = compare(dir.path(), &a, &c, &[]);
    assert_eq!(
        findings(&r),
        vec![("value".into(), "trades".into(), String::new())]
    );
}

/// Rewrites a ledger with the 100th bar's volume one unit higher (checksums and chain
/// recomputed); returns that event's seq.
fn with_one_volume_changed(source: &Path, target: &Path) -> u64 {
    let mut reader = LedgerReader::open(source).expect("opens");
    let header = reader.header().clone();
    let mut frames = Vec::new();
    let mut changed = None;
    let mut bars = 0;
    while let Some(frame) = reader.next_event().expect("reads") {
        let mut event = decode_event(frame.bytes).expect("decodes");
        if let EventBody::Bar(bar) = &mut event.body {
            bars += 1;
            if bars == 100 {
                bar.volume = Quantity::from_raw(bar.volume.raw() + QTY_SCALE);
                changed = Some(event.seq.0);
            }
        }
        encode_event(&event, header.salt, &mut frames);
    }
    let mut writer =
        LedgerWriter::create(target, &header, FsyncPolicy::Never, false).expect("creates");
    let rest = writer.submit(frames).expect("accepts");
    writer.finish(rest).expect("finishes");
    changed.expect("the stocks scenario has 100 bars")
}

#[test]
fn ledgers_compare_event_for_event_or_by_their_figures() {
    let dir = scratch();
    let a = run_stocks(dir.path(), "a.tape", &[]);
    let b = run_stocks(dir.path(), "b.tape", &[]);
    for mode in ["exact", "tolerant"] {
        let r = compare(dir.path(), &a, &b, &["--mode", mode]);
        assert_eq!(r["passed"], true);
        assert_eq!(r["files"]["a.tape"], "identical");
    }
    // One bar's volume: a different event, but no figure depends on volume.
    let c = dir.path().join("c.tape");
    let seq = with_one_volume_changed(&a, &c);
    let r = compare(dir.path(), &a, &c, &["--mode", "exact"]);
    assert_eq!(
        findings(&r),
        vec![("event".into(), "events".into(), String::new())]
    );
    assert_eq!(r["differences"][0]["seq"], seq);
    let r = compare(dir.path(), &a, &c, &[]);
    assert_eq!(r["passed"], true, "{r}");
    assert!(r["notes"][0]
        .as_str()
        .is_some_and(|n| n.contains("fingerprints differ")));
    // The stocks market is read from a file, so another seed changes only the recorded
    // configuration (in run_started, seq 0): exact mode fails there, the figures are equal.
    let d = run_stocks(dir.path(), "d.tape", &["--seed", "5"]);
    let r = compare(dir.path(), &a, &d, &["--mode", "exact"]);
    assert_eq!(r["differences"][0]["seq"], 0);
    assert_eq!(compare(dir.path(), &a, &d, &[])["passed"], true);
    // Another scenario: the event counts differ, exactly.
    let e = dir.path().join("e.tape");
    let small = dir.path().join("small.toml");
    std::fs::write(&small, tape_tests::SMALL_SCENARIO).expect("written");
    tape(dir.path(), &["run", s(&small), "--out", s(&e), "--json"]).expect_code(0);
    let r = compare(dir.path(), &a, &e, &["--limit", "100000"]);
    assert!(findings(&r)
        .iter()
        .any(|(w, c, _)| w == "value" && c == "events.bar"));
    let r = compare(dir.path(), &a, &e, &["--mode", "exact"]);
    assert!(findings(&r)
        .iter()
        .any(|(w, c, _)| w == "event_count" && c == "bar"));
}

#[test]
fn exports_of_two_ledgers_compare_table_by_table() {
    let dir = scratch();
    let a = run_stocks(dir.path(), "a.tape", &[]);
    let c = dir.path().join("c.tape");
    with_one_volume_changed(&a, &c);
    for (ledger, out) in [(&a, "ea"), (&c, "ec")] {
        tape(
            dir.path(),
            &[
                "export",
                s(ledger),
                "--format",
                "csv",
                "--out",
                out,
                "--json",
            ],
        )
        .expect_code(0);
    }
    // bar.csv has one row per bar in ledger order: the 100th bar is row 100. No other table
    // holds a volume (nor the fingerprint), so every other table is the same.
    let r = compare(
        dir.path(),
        &dir.path().join("ea"),
        &dir.path().join("ec"),
        &[],
    );
    let volume: Vec<&Value> = r["differences"]
        .as_array()
        .expect("differences")
        .iter()
        .filter(|d| d["file"] == "bar.csv")
        .collect();
    assert_eq!(volume.len(), 1, "{r}");
    assert_eq!(volume[0]["column"], "volume");
    assert_eq!(volume[0]["row"], 100);
    assert_eq!(r["files"]["fill.csv"], "identical");
}

// ---------------------------------------------------------------------------------------
// Manifests.

fn hash(dir: &Path, path: &Path) -> (String, Value) {
    let run: Run = tape(dir, &["hash", s(path)]);
    run.expect_code(0);
    let value = run.json();
    (run.stdout, value)
}

#[test]
fn manifests_are_stable_sorted_and_relative() {
    let dir = scratch();
    let out = write_dir(dir.path(), "out", &Table::sample());
    run_stocks(&out, "run.tape", &[]);
    let (first, v) = hash(dir.path(), &out);
    let (second, _) = hash(dir.path(), &out);
    assert_eq!(first, second);
    // Pretty-printed with sorted keys and a final newline: the same text as a sorted
    // re-serialisation (serde_json's map is ordered by key).
    let again = serde_json::to_string_pretty(&v).expect("serialises") + "\n";
    assert_eq!(first, again);
    assert!(!first.contains(s(dir.path())), "no absolute path");
    let files: Vec<&String> = v["files"].as_object().expect("files").keys().collect();
    assert_eq!(files, ["equity.csv", "notes/trades.csv", "run.tape"]);
    let table = &v["files"]["equity.csv"]["table"];
    assert_eq!(table["rows"], 6);
    assert_eq!(
        table["columns"][0],
        serde_json::json!({"name": "date", "type": "string"})
    );
    assert_eq!(table["columns"][2]["type"], "float");
    assert_eq!(table["columns"][9]["type"], "integer");
    assert_eq!(table["columns"][10]["type"], "boolean");
    // A ledger: fingerprint, events and per-kind counts as `tape run` reports them.
    let ledger = &v["files"]["run.tape"]["ledger"];
    let summary = tape(&out, &["verify", "run.tape", "--json"]).json();
    assert_eq!(ledger["fingerprint"], summary["fingerprint"]);
    assert_eq!(ledger["events"], summary["events"]);
    assert_eq!(ledger["kinds"]["bar"]["count"], 12_154);
    // --out inside the directory: left out, so a second run writes the same manifest.
    let manifest = out.join("MANIFEST.json");
    for _ in 0..2 {
        tape(dir.path(), &["hash", s(&out), "--out", s(&manifest)]).expect_code(0);
        assert_eq!(std::fs::read_to_string(&manifest).expect("written"), first);
    }
}

#[test]
fn a_table_hash_sees_through_re_encoding_but_not_a_changed_value() {
    let dir = scratch();
    let table = Table::sample();
    let plain = dir.path().join("plain.csv");
    let quoted = dir.path().join("quoted.csv");
    let changed = dir.path().join("changed.csv");
    std::fs::write(&plain, table.csv(false, false)).expect("written");
    std::fs::write(&quoted, table.csv(true, true)).expect("written");
    std::fs::write(&changed, table.plus(0, "return", 1e-12).csv(false, false)).expect("written");
    let entry = |p: &Path| {
        hash(dir.path(), p).1["files"][p.file_name().and_then(|n| n.to_str()).expect("name")]
            .clone()
    };
    let (p, q, c) = (entry(&plain), entry(&quoted), entry(&changed));
    assert_ne!(p["blake3"], q["blake3"]);
    assert_eq!(p["table"]["blake3"], q["table"]["blake3"]);
    assert_eq!(p["table"], q["table"]);
    assert_ne!(p["table"]["blake3"], c["table"]["blake3"]);
    // A ledger's per-kind hashes: another seed of a file market changes run_started only.
    let a = run_stocks(dir.path(), "a.tape", &[]);
    let b = run_stocks(dir.path(), "b.tape", &["--seed", "5"]);
    let (ka, kb) = (
        entry(&a)["ledger"]["kinds"].clone(),
        entry(&b)["ledger"]["kinds"].clone(),
    );
    for (kind, x) in ka.as_object().expect("kinds") {
        let same = x == &kb[kind];
        assert_eq!(same, kind != "run_started", "{kind}");
    }
}

// ---------------------------------------------------------------------------------------
// Parquet.

/// A file named `.parquet` that is not one: a build with the `parquet` feature refuses to
/// read it; a build without compares Parquet files by their bytes and cannot decide.
#[test]
fn parquet_needs_its_feature_to_be_compared_by_table() {
    let dir = scratch();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for (d, bytes) in [(&a, "PAR1 one"), (&b, "PAR1 two")] {
        std::fs::create_dir_all(d).expect("created");
        std::fs::write(d.join("t.parquet"), bytes).expect("written");
    }
    let hashed = tape(dir.path(), &["hash", s(&a)]);
    let run = tape(dir.path(), &["compare", s(&a), s(&b)]);
    run.expect_code(2);
    if hashed.code == Some(0) {
        // No table in the manifest: this build does not read Parquet.
        assert!(hashed.json()["files"]["t.parquet"].get("table").is_none());
        assert!(
            run.stderr
                .contains("t.parquet: the bytes differ, and comparing Parquet tables needs a build with `--features parquet`"),
            "{}",
            run.stderr
        );
        assert!(run.stdout.contains("UNDECIDED"), "{}", run.stdout);
    } else {
        assert!(
            run.stderr
                .contains("t.parquet: not a readable Parquet file"),
            "{}",
            run.stderr
        );
    }
}

#[cfg(feature = "parquet")]
mod parquet_tables {
    use std::fs::File;
    use std::path::Path;
    use std::sync::Arc;

    use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
    use arrow_schema::{Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::basic::Compression;
    use parquet::file::properties::WriterProperties;
    use tape_tests::scratch;

    use super::{compare, findings, hash, Table, V};

    /// Writes the table as Parquet; `other` picks another compression, row groups of 2
    /// rows and no dictionaries: other bytes, the same values.
    fn write(path: &Path, table: &Table, other: bool) {
        let columns: Vec<ArrayRef> = (0..table.columns.len())
            .map(|c| -> ArrayRef {
                let cells = table.rows.iter().map(|r| &r[c]);
                match &table.rows[0][c] {
                    V::S(_) => Arc::new(StringArray::from_iter_values(cells.map(|v| match v {
                        V::S(s) => s.clone(),
                        _ => unreachable!("a text column"),
                    }))),
                    V::F(_) => Arc::new(Float64Array::from_iter_values(cells.map(|v| match v {
                        V::F(f) => *f,
                        _ => unreachable!("a float column"),
                    }))),
                    V::I(_) => Arc::new(Int64Array::from_iter_values(cells.map(|v| match v {
                        V::I(i) => *i,
                        _ => unreachable!("an integer column"),
                    }))),
                    V::B(_) => Arc::new(BooleanArray::from_iter(cells.map(|v| match v {
                        V::B(b) => Some(*b),
                        _ => unreachable!("a boolean column"),
                    }))),
                }
            })
            .collect();
        let schema = Arc::new(Schema::new(
            table
                .columns
                .iter()
                .zip(&columns)
                .map(|(name, a)| Field::new(*name, a.data_type().clone(), false))
                .collect::<Vec<_>>(),
        ));
        let batch = RecordBatch::try_new(schema.clone(), columns).expect("a valid batch");
        let props = if other {
            WriterProperties::builder()
                .set_compression(Compression::UNCOMPRESSED)
                .set_dictionary_enabled(false)
                .set_max_row_group_row_count(Some(2))
                .build()
        } else {
            WriterProperties::builder()
                .set_compression(Compression::SNAPPY)
                .build()
        };
        let file = File::create(path).expect("created");
        let mut writer = ArrowWriter::try_new(file, schema, Some(props)).expect("a writer");
        writer.write(&batch).expect("written");
        writer.close().expect("closed");
    }

    fn write_dir(dir: &Path, name: &str, table: &Table, other: bool) -> std::path::PathBuf {
        let out = dir.join(name);
        std::fs::create_dir_all(&out).expect("created");
        write(&out.join("equity.parquet"), table, other);
        out
    }

    #[test]
    fn parquet_tables_compare_by_their_values() {
        let dir = scratch();
        let table = Table::sample();
        let a = write_dir(dir.path(), "a", &table, false);
        let b = write_dir(dir.path(), "b", &table, false);
        let r = compare(dir.path(), &a, &b, &["--mode", "exact"]);
        assert_eq!(r["files"]["equity.parquet"], "identical");
        // Re-encoded: other bytes, the same table hash, equal in both modes.
        let c = write_dir(dir.path(), "c", &table, true);
        let (ha, hc) = (hash(dir.path(), &a).1, hash(dir.path(), &c).1);
        let (ea, ec) = (
            &ha["files"]["equity.parquet"],
            &hc["files"]["equity.parquet"],
        );
        assert_ne!(ea["blake3"], ec["blake3"]);
        assert_eq!(ea["table"], ec["table"]);
        assert_eq!(ea["table"]["rows"], 6);
        assert_eq!(ea["table"]["columns"][2]["type"], "float64");
        for mode in ["exact", "tolerant"] {
            let r = compare(dir.path(), &a, &c, &["--mode", mode]);
            assert_eq!(r["passed"], true, "{r}");
            assert_eq!(r["files"]["equity.parquet"], "equal");
        }
        // Beyond and within tolerance, and exact fields.
        let d = write_dir(dir.path(), "d", &table.plus(1, "drawdown", 1e-7), true);
        let r = compare(dir.path(), &a, &d, &[]);
        assert_eq!(
            findings(&r),
            vec![("value".into(), "drawdown".into(), "drawdown".into())]
        );
        assert_eq!(r["differences"][0]["key"], "2024-01-02 BBB");
        let e = write_dir(dir.path(), "e", &table.plus(1, "slippage", 1e-7), true);
        assert_eq!(compare(dir.path(), &a, &e, &[])["passed"], true);
        assert_eq!(
            compare(dir.path(), &a, &e, &["--mode", "exact"])["passed"],
            false
        );
        let f = write_dir(dir.path(), "f", &table.with(1, "qty", V::I(7)), false);
        assert_eq!(
            findings(&compare(dir.path(), &a, &f, &[])),
            vec![("value".into(), "qty".into(), String::new())]
        );
        let g = write_dir(
            dir.path(),
            "g",
            &Table {
                columns: table.columns.clone(),
                rows: table.rows[1..].to_vec(),
            },
            false,
        );
        let r = compare(dir.path(), &a, &g, &[]);
        assert_eq!(findings(&r)[0].0, "rows");
    }
}
