//! CSV loader and data guard, on real prices and on hand-made files.

use std::path::Path;

use tape_engine::sequencer::{Sequencer, SourcedInput, TimedBar, TimedInput};
use tape_scenarios::loader::files::{FileFormat, FileMarket, FileSpec};
use tape_scenarios::loader::guard::{Check, GuardSpec, Policy, DATA_RULES};
use tape_scenarios::loader::LoadError;

fn spec(files: &[&str]) -> FileSpec {
    FileSpec::new(
        FileFormat::Csv,
        files.iter().map(|f| f.to_string()).collect(),
    )
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

/// The data notes a market delivers: (quarantined, rule name, row).
fn notes(market: &FileMarket) -> Vec<(bool, &'static str, u64)> {
    inputs(market)
        .into_iter()
        .filter_map(|t| match t.input {
            SourcedInput::Data { quarantined, note } => {
                let rule = DATA_RULES
                    .iter()
                    .find(|r| r.id == note.reason.rule)
                    .expect("a data rule");
                Some((quarantined, rule.name, note.row))
            }
            SourcedInput::Bar(_) | SourcedInput::Feature(_) => None,
        })
        .collect()
}

#[test]
fn real_stock_splits_are_flagged_as_splits_not_absurd_returns() {
    let market = FileMarket::open(&spec(&["builtin:stocks.csv.gz"]), Path::new("."))
        .expect("the shipped data loads");
    assert_eq!(market.symbols(), ["AAPL", "FB", "GOOG", "IBM", "MSFT"]);
    let report = market.report();
    assert_eq!(report.rows, 3_270 * 3 + 2_148 + 196);
    assert_eq!(report.bars, report.rows, "warnings keep their bars");
    // From the file's rows: AAPL 101.25 -> 55.63 on 2000-06-21 and 88.99 -> 44.86 on
    // 2005-02-28, MSFT 48.30 -> 24.96 on 2003-02-18, each while the adjusted close rose.
    let splits: Vec<&str> = report
        .examples
        .iter()
        .filter(|f| f.check == Check::Split)
        .map(|f| f.place.as_str())
        .collect();
    assert_eq!(splits.len(), 3, "{splits:?}");
    for expected in [
        "AAPL at 2000-06-21",
        "AAPL at 2005-02-28",
        "MSFT at 2003-02-18",
    ] {
        assert!(
            splits.iter().any(|p| p.contains(expected)),
            "{expected} in {splits:?}"
        );
    }
    // AAPL's real crash of 2000-09-29 (53.50 -> 25.75; the adjusted close fell as much) is not
    // a split.
    let absurd: Vec<&str> = report
        .examples
        .iter()
        .filter(|f| f.check == Check::AbsurdReturn)
        .map(|f| f.place.as_str())
        .collect();
    assert_eq!(absurd.len(), 1);
    assert!(absurd[0].contains("AAPL at 2000-09-29"), "{absurd:?}");
}

#[test]
fn adjusted_prices_have_no_split_jumps() {
    let mut s = spec(&["builtin:stocks.csv.gz"]);
    s.adjust = true;
    let market = FileMarket::open(&s, Path::new(".")).expect("loads");
    assert!(!market.report().counts.contains_key(&Check::Split));
    let aapl: Vec<f64> = bars(&market)
        .iter()
        .filter(|b| b.bar.symbol.0 == 0)
        .map(|b| b.bar.close.to_f64())
        .collect();
    assert!(
        (aapl[0] - 4.186_662_8).abs() < 1e-6,
        "the first adjusted close is the file's Adj Close"
    );
}

const LONG: &str = "symbol,date,open,high,low,close,volume\n\
BBB,2020-01-02,10,11,9,10.5,100\n\
AAA,2020-01-02,20,21,19,20.5,200\n\
AAA,2020-01-03,20.5,22,20,21,300\n\
BBB,2020-01-03,10.5,10.8,10.1,10.2,150\n\
AAA,2020-01-06,21,21.5,20.5,21.2,250\n";

fn write_gz(path: &Path, text: &str) {
    use std::io::Write;
    let file = std::fs::File::create(path).expect("create");
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    gz.write_all(text.as_bytes()).expect("write");
    gz.finish().expect("finish");
}

#[test]
fn long_gzip_and_per_symbol_files_give_the_same_bars() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("long.csv"), LONG).expect("written");
    write_gz(&dir.path().join("long.csv.gz"), LONG);
    let per = |sym: &str| {
        let rows: Vec<&str> = LONG
            .lines()
            .skip(1)
            .filter(|l| l.starts_with(sym))
            .map(|l| l.split_once(',').expect("has symbol").1)
            .collect();
        format!("Date,Open,High,Low,Close,Volume\n{}\n", rows.join("\n"))
    };
    std::fs::write(dir.path().join("AAA.csv"), per("AAA")).expect("written");
    std::fs::write(dir.path().join("BBB.csv"), per("BBB")).expect("written");

    let long = bars(&FileMarket::open(&spec(&["long.csv"]), dir.path()).expect("long"));
    let gz = bars(&FileMarket::open(&spec(&["long.csv.gz"]), dir.path()).expect("gzip"));
    let split = FileMarket::open(&spec(&["BBB.csv", "AAA.csv"]), dir.path()).expect("per symbol");
    assert_eq!(
        split.symbols(),
        ["AAA", "BBB"],
        "symbol ids follow names, not file order"
    );
    let split = bars(&split);
    assert_eq!(long.len(), 5);
    assert_eq!(long, gz);
    assert_eq!(long, split);
    // Time order, then symbol order at equal times.
    let order: Vec<(i64, u32)> = long.iter().map(|b| (b.ts.0, b.bar.symbol.0)).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted);
    assert_eq!(long[0].ts.to_string(), "2020-01-02T21:00:00Z");
}

#[test]
fn epoch_and_datetime_times_are_recognised() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rows = |t1: &str, t2: &str| {
        format!("time,open,high,low,close,volume\n{t1},1,1,1,1,1\n{t2},1,1,1,1,1\n")
    };
    // 2020-01-02T21:00:00Z = 1577998800 s.
    std::fs::write(dir.path().join("S.csv"), rows("1577998800", "1578085200")).expect("written");
    std::fs::write(
        dir.path().join("M.csv"),
        rows("1577998800000", "1578085200000"),
    )
    .expect("written");
    std::fs::write(
        dir.path().join("N.csv"),
        rows("1577998800000000000", "1578085200000000000"),
    )
    .expect("written");
    std::fs::write(
        dir.path().join("D.csv"),
        rows("2020-01-02T21:00:00Z", "2020-01-03 21:00:00"),
    )
    .expect("written");
    let times = |f: &str| -> Vec<String> {
        bars(&FileMarket::open(&spec(&[f]), dir.path()).expect(f))
            .iter()
            .map(|b| b.ts.to_string())
            .collect()
    };
    let expected = ["2020-01-02T21:00:00Z", "2020-01-03T21:00:00Z"];
    for f in ["S.csv", "M.csv", "N.csv", "D.csv"] {
        assert_eq!(times(f), expected, "{f}");
    }
}

/// One bad row among good ones, checked under `reject` and under `quarantine`.
fn guard_case(bad_row: &str, check: Check) {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = format!("date,open,high,low,close,volume\n2020-01-02,10,11,9,10,5\n{bad_row}\n2020-01-07,10,11,9,10,5\n");
    std::fs::write(dir.path().join("X.csv"), &text).expect("written");
    let err = FileMarket::open(&spec(&["X.csv"]), dir.path()).expect_err("rejected");
    let message = err.to_string();
    assert!(
        matches!(err, LoadError::Rejected { row: 3, .. }),
        "{check:?}: {message}"
    );
    assert!(
        message.contains("X.csv, row 3") && message.contains(check.name()),
        "{message}"
    );

    let mut s = spec(&["X.csv"]);
    s.guard = GuardSpec {
        invalid_price: Policy::Quarantine,
        inconsistent_bar: Policy::Quarantine,
        negative_volume: Policy::Quarantine,
        out_of_order: Policy::Quarantine,
        absurd_return: Policy::Quarantine,
        ..GuardSpec::default()
    };
    let market = FileMarket::open(&s, dir.path()).expect("quarantined, not rejected");
    assert_eq!(
        market.report().counts.get(&check),
        Some(&(Policy::Quarantine, 1)),
        "{check:?}"
    );
    assert_eq!(
        bars(&market).len(),
        2,
        "{check:?}: the bad bar is dropped, nothing is filled in"
    );
    assert_eq!(
        notes(&market),
        [(true, check.name(), 3)],
        "{check:?}: the drop is a recorded note"
    );
}

#[test]
fn every_guard_check_rejects_or_quarantines_with_file_and_row() {
    guard_case("2020-01-03,NaN,11,9,10,5", Check::InvalidPrice);
    guard_case("2020-01-03,10,11,9,-1,5", Check::InvalidPrice);
    guard_case("2020-01-03,10,9,11,10,5", Check::InconsistentBar);
    guard_case("2020-01-03,12,11,9,10,5", Check::InconsistentBar);
    guard_case("2020-01-03,10,11,9,10,-5", Check::NegativeVolume);
    guard_case("2020-01-02,10,11,9,10,5", Check::OutOfOrder);
    guard_case("2020-01-01,10,11,9,10,5", Check::OutOfOrder);
}

#[test]
fn an_absurd_return_is_warned_by_default_and_can_be_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("X.csv"),
        "date,open,high,low,close,volume\n2020-01-02,10,11,9,10,5\n2020-01-03,30,31,29,30,5\n",
    )
    .expect("written");
    let market = FileMarket::open(&spec(&["X.csv"]), dir.path()).expect("warned");
    assert_eq!(
        market.report().counts.get(&Check::AbsurdReturn),
        Some(&(Policy::Warn, 1))
    );
    assert_eq!(bars(&market).len(), 2);
    let mut s = spec(&["X.csv"]);
    s.guard.absurd_return = Policy::Reject;
    let err = FileMarket::open(&s, dir.path())
        .expect_err("rejected")
        .to_string();
    assert!(err.contains("row 3") && err.contains("+200.0%"), "{err}");
}

#[test]
fn unusable_files_get_clear_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("nohigh.csv"),
        "date,open,low,close,volume\n2020-01-02,1,1,1,1\n",
    )
    .expect("written");
    std::fs::write(
        dir.path().join("text.csv"),
        "date,open,high,low,close,volume\n2020-01-02,one,1,1,1,1\n",
    )
    .expect("written");
    let e = FileMarket::open(&spec(&["missing.csv"]), dir.path())
        .expect_err("missing")
        .to_string();
    assert!(
        e.contains("missing.csv") && e.contains("no such file"),
        "{e}"
    );
    let e = FileMarket::open(&spec(&["nohigh.csv"]), dir.path())
        .expect_err("no high")
        .to_string();
    assert!(
        e.contains("nohigh.csv") && e.contains("no high column"),
        "{e}"
    );
    let e = FileMarket::open(&spec(&["text.csv"]), dir.path())
        .expect_err("not a number")
        .to_string();
    assert!(
        e.contains("text.csv, row 2") && e.contains("'one' is not a number"),
        "{e}"
    );
}

#[test]
fn a_quarantined_split_drops_that_bar_only() {
    let mut s = spec(&["builtin:stocks.csv.gz"]);
    s.guard.split = Policy::Quarantine;
    let market = FileMarket::open(&s, Path::new(".")).expect("loads");
    assert_eq!(
        market.report().quarantined(),
        3,
        "the three split days, and nothing after them"
    );
    assert_eq!(market.report().bars, market.report().rows - 3);
}

#[test]
fn dotted_symbols_compact_dates_and_one_symbol_in_two_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("BRK.B.csv"),
        "date,open,high,low,close,volume\n20200102,1,1,1,1,1\n20200103,1,1,1,1,1\n",
    )
    .expect("written");
    let market = FileMarket::open(&spec(&["BRK.B.csv"]), dir.path()).expect("loads");
    assert_eq!(
        market.symbols(),
        ["BRK.B"],
        "only the extension is dropped from the name"
    );
    let times: Vec<String> = bars(&market).iter().map(|b| b.ts.to_string()).collect();
    assert_eq!(
        times,
        ["2020-01-02T21:00:00Z", "2020-01-03T21:00:00Z"],
        "YYYYMMDD is a date, not epoch seconds"
    );

    std::fs::create_dir(dir.path().join("a")).expect("dir");
    std::fs::create_dir(dir.path().join("b")).expect("dir");
    let rows = "date,open,high,low,close,volume\n2020-01-02,1,1,1,1,1\n";
    std::fs::write(dir.path().join("a/ABC.csv"), rows).expect("written");
    std::fs::write(dir.path().join("b/ABC.csv"), rows).expect("written");
    let err = FileMarket::open(&spec(&["a/ABC.csv", "b/ABC.csv"]), dir.path())
        .expect_err("refused before any run")
        .to_string();
    assert!(
        err.contains("ABC has two bars at 2020-01-02T21:00:00Z"),
        "{err}"
    );
}

/// Bars of one symbol on the given dates, all at 10.
fn dated(dates: &[&str]) -> String {
    let mut text = "date,open,high,low,close,volume\n".to_string();
    for d in dates {
        text.push_str(&format!("{d},10,11,9,10,5\n"));
    }
    text
}

#[test]
fn gaps_beyond_the_calendar_are_warned_quarantined_or_rejected() {
    use tape_scenarios::DaysSpec;
    let dir = tempfile::tempdir().expect("temp dir");
    // Mon 6 Nov, Tue 7 Nov, then Tue 14 Nov: Wed–Fri and Mon (4 sessions) are missing. Then
    // Wed 22 Nov and Fri 24 Nov around Thanksgiving, a holiday: Wed 15 to Tue 21 (5 sessions)
    // are missing, then nothing.
    let text = dated(&[
        "2023-11-06",
        "2023-11-07",
        "2023-11-14",
        "2023-11-22",
        "2023-11-24",
    ]);
    std::fs::write(dir.path().join("X.csv"), &text).expect("written");
    let mut s = spec(&["X.csv"]);
    // Without a calendar, no gap is checked and the rule table is what it always was.
    let market = FileMarket::open(&s, dir.path()).expect("loads");
    assert!(notes(&market).is_empty());
    assert!(s.guard_rules().iter().all(|r| r.name != "gap"));

    s.days = Some(DaysSpec::Weekdays);
    s.holidays = vec!["2023-11-23".to_string()];
    assert!(s.guard_rules().iter().any(|r| r.name == "gap"));
    let market = FileMarket::open(&s, dir.path()).expect("warned");
    assert_eq!(notes(&market), [(false, "gap", 4), (false, "gap", 5)]);
    assert_eq!(
        bars(&market).len(),
        5,
        "a warning keeps its bar, nothing is padded"
    );
    let missing: Vec<i64> = inputs(&market)
        .iter()
        .filter_map(|t| match t.input {
            SourcedInput::Data { note, .. } => note.reason.raw_values().get(1).copied(),
            _ => None,
        })
        .collect();
    assert_eq!(
        missing,
        [4, 5],
        "the note says how many sessions are missing"
    );

    // Without the holiday, Thanksgiving is a missing session too — but one is allowed.
    s.holidays.clear();
    assert_eq!(
        notes(&FileMarket::open(&s, dir.path()).expect("warned")).len(),
        2
    );
    s.guard.max_gap_sessions = 4;
    assert_eq!(
        notes(&FileMarket::open(&s, dir.path()).expect("warned")),
        [(false, "gap", 5)]
    );

    s.guard.gap = Policy::Quarantine;
    let market = FileMarket::open(&s, dir.path()).expect("quarantined");
    assert_eq!(notes(&market), [(true, "gap", 5)]);
    assert_eq!(
        bars(&market).len(),
        4,
        "only the bar after the gap is dropped"
    );

    s.guard.gap = Policy::Reject;
    let err = FileMarket::open(&s, dir.path())
        .expect_err("rejected")
        .to_string();
    assert!(
        err.contains("X.csv, row 5") && err.contains("gap") && err.contains("5 trading days"),
        "{err}"
    );

    s.holidays = vec!["Thanksgiving".to_string()];
    let err = FileMarket::open(&s, dir.path())
        .expect_err("bad holiday")
        .to_string();
    assert!(
        err.contains("holidays") && err.contains("YYYY-MM-DD"),
        "{err}"
    );
}

#[test]
fn the_real_prices_have_one_gap_the_september_2001_closure() {
    use tape_scenarios::DaysSpec;
    let mut s = spec(&["builtin:stocks.csv.gz"]);
    s.days = Some(DaysSpec::Weekdays);
    let market = FileMarket::open(&s, Path::new(".")).expect("loads");
    let gaps: Vec<&str> = market
        .report()
        .examples
        .iter()
        .filter(|f| f.check == Check::Gap)
        .map(|f| f.place.as_str())
        .collect();
    // NYSE closed 11–14 September 2001: four sessions, for the three symbols listed then.
    assert_eq!(gaps.len(), 3, "{gaps:?}");
    for symbol in ["AAPL", "IBM", "MSFT"] {
        assert!(
            gaps.iter()
                .any(|p| p.contains(&format!("{symbol} at 2001-09-17"))),
            "{symbol} in {gaps:?}"
        );
    }
}

/// `FileSpec::new` is the table a scenario gets when it gives only `kind` and `files`.
#[test]
fn a_new_file_spec_has_the_defaults_of_a_scenario_file() {
    let parsed: FileSpec =
        toml::from_str("kind = \"csv\"\nfiles = [\"a.csv\"]\n").expect("a valid table");
    assert_eq!(FileSpec::new(FileFormat::Csv, vec!["a.csv".into()]), parsed);
}
