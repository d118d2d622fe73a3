//! Point-in-time features end to end: a gated strategy decides on exactly the value that was
//! available at each bar (checked against the feature file read independently here), the
//! signal's causes reach the feature event, replay needs no feature file, and the fuzzer
//! passes.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use tape_tests::{scratch, tape, workspace_root};

/// The golden features scenario and its CSV, copied into `dir`.
fn copy_scenario(dir: &Path) {
    for file in ["features.toml", "features.csv"] {
        std::fs::copy(
            workspace_root().join("tests/golden").join(file),
            dir.join(file),
        )
        .expect("copy the fixture");
    }
}

/// Nanoseconds since the epoch of `YYYY-MM-DD` at `HH:MM` UTC, or of a `…THH:MM:SSZ` time,
/// computed here without the engine's time code (days from civil, Howard Hinnant's method).
fn epoch_ns(text: &str, date_time: (i64, i64)) -> i64 {
    let (y, m, d): (i64, i64, i64) = (
        text[0..4].parse().expect("year"),
        text[5..7].parse().expect("month"),
        text[8..10].parse().expect("day"),
    );
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let (h, min, s) = if text.len() > 10 {
        (
            text[11..13].parse().expect("hour"),
            text[14..16].parse().expect("minute"),
            text[17..19].parse().expect("second"),
        )
    } else {
        (date_time.0, date_time.1, 0)
    };
    ((days * 24 + h) * 60 + min) * 60_000_000_000 + s * 1_000_000_000
}

/// Per symbol: the `sentiment` rows as (available_at_ns, value), in file order.
fn sentiment_rows(csv: &str) -> BTreeMap<String, Vec<(i64, f64)>> {
    let mut out: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    for line in csv.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        if cells[2] != "sentiment" {
            continue;
        }
        let at = epoch_ns(cells[0], (13, 0));
        out.entry(cells[1].to_string())
            .or_default()
            .push((at, cells[3].parse().expect("value")));
    }
    out
}

fn events(dir: &Path, ledger: &str) -> Vec<Value> {
    let run = tape(dir, &["show", ledger, "--json"]);
    run.expect_code(0);
    run.stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON event per line"))
        .collect()
}

#[test]
fn gated_signals_use_the_value_available_at_their_bar_and_cite_it() {
    let dir = scratch();
    copy_scenario(dir.path());
    tape(
        dir.path(),
        &["run", "features.toml", "--out", "f.tape", "--force"],
    )
    .expect_code(0);
    let csv = std::fs::read_to_string(dir.path().join("features.csv")).expect("read");
    let rows = sentiment_rows(&csv);
    let all = events(dir.path(), "f.tape");
    let by_seq: BTreeMap<u64, &Value> = all
        .iter()
        .map(|e| (e["seq"].as_u64().expect("seq"), e))
        .collect();
    let features = all.iter().filter(|e| e["kind"] == "feature").count();
    assert_eq!(features, csv.lines().count() - 1, "every row is an event");

    let signals: Vec<&Value> = all.iter().filter(|e| e["kind"] == "signal").collect();
    assert!(signals.len() > 5, "the fixture trades: {}", signals.len());
    let mut longs = 0;
    for s in &signals {
        let ts = s["ts_ns"].as_i64().expect("ts");
        let symbol = s["symbol"].as_str().expect("symbol");
        let reason = &s["reason"];
        assert_eq!(reason["rule"], "sma_cross_gated");
        // The as-of join, done here: the last row available at or before the signal's bar.
        let expected = rows[symbol].iter().rev().find(|(at, _)| *at <= ts).copied();
        let value = reason["feature_value"].as_f64();
        match expected {
            Some((at, v)) => {
                assert_eq!(value, Some(v), "{s}");
                assert_eq!(reason["feature_available_at_ns"].as_i64(), Some(at), "{s}");
                // The signal cites the feature event that carried that value.
                let cited: Vec<&Value> = s["causes"]
                    .as_array()
                    .expect("causes")
                    .iter()
                    .map(|c| by_seq[&c.as_u64().expect("seq")])
                    .filter(|e| e["kind"] == "feature")
                    .collect();
                assert_eq!(cited.len(), 1, "{s}");
                assert_eq!(cited[0]["value"].as_f64(), Some(v));
                assert_eq!(cited[0]["ts_ns"].as_i64(), Some(at));
            }
            None => assert_eq!(value, None, "no value yet is recorded as null: {s}"),
        }
        if s["direction"] == "long" {
            longs += 1;
            assert!(
                expected.is_some_and(|(_, v)| v >= 0.0),
                "long only when open: {s}"
            );
        }
    }
    assert!(longs > 2, "some signals go long: {longs}");
}

#[test]
fn replay_needs_no_feature_file_and_the_fuzzer_passes() {
    let dir = scratch();
    copy_scenario(dir.path());
    tape(
        dir.path(),
        &["fuzz", "features.toml", "--cuts", "200", "--seed", "5"],
    )
    .expect_code(0);
    tape(
        dir.path(),
        &["run", "features.toml", "--out", "f.tape", "--force"],
    )
    .expect_code(0);
    std::fs::remove_file(dir.path().join("features.csv")).expect("remove");
    tape(dir.path(), &["replay", "f.tape"]).expect_code(0);
    // Without its file, running the scenario again says which file is missing.
    let run = tape(dir.path(), &["run", "features.toml", "--out", "g.tape"]);
    run.expect_code(2);
    assert!(run.stderr.contains("features.csv"), "{}", run.stderr);
}

#[test]
fn a_gate_on_a_feature_no_file_has_is_refused_before_the_run() {
    let dir = scratch();
    copy_scenario(dir.path());
    let text = std::fs::read_to_string(dir.path().join("features.toml"))
        .expect("read")
        .replace("feature = \"sentiment\"", "feature = \"mood\"");
    std::fs::write(dir.path().join("mood.toml"), text).expect("write");
    let run = tape(dir.path(), &["run", "mood.toml", "--out", "m.tape"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("'mood'") && run.stderr.contains("sentiment, surprise"),
        "{}",
        run.stderr
    );
    assert!(!dir.path().join("m.tape").exists(), "nothing is written");
}
