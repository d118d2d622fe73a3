//! Point-in-time feature tables: what becomes an input, when, and what is refused.

use tape_engine::sequencer::{Sequencer, SourcedInput};
use tape_engine::time::Ts;
use tape_scenarios::loader::features::{FeatureSet, FeatureSpec};
use tape_scenarios::loader::table::TimeFormat;
use tape_scenarios::loader::LoadError;

fn spec(files: &[&str]) -> FeatureSpec {
    FeatureSpec {
        files: files.iter().map(|f| f.to_string()).collect(),
        time_format: TimeFormat::Auto,
        available_time: "00:00".to_string(),
    }
}

fn symbols() -> Vec<String> {
    vec!["AAA".to_string(), "BBB".to_string()]
}

/// (ts, symbol, feature name, value, row) of every input the set delivers, in run order.
fn delivered(set: &FeatureSet) -> Vec<(Ts, u32, String, f64, u64)> {
    Sequencer::new(set.sources())
        .map(|r| r.expect("valid"))
        .map(|t| match t.input {
            SourcedInput::Feature(f) => (
                t.ts,
                f.symbol.0,
                set.names()[f.feature.0 as usize].clone(),
                f.value,
                f.row,
            ),
            other => panic!("a feature set delivers features only: {other:?}"),
        })
        .collect()
}

#[test]
fn rows_become_features_at_their_available_time_in_time_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Long format, sorted by symbol (each symbol's rows in time order), a symbol outside the
    // run, a date and date-times.
    std::fs::write(
        dir.path().join("f.csv"),
        "available_at,symbol,name,value\n\
         2024-01-03,AAA,score,1.5\n\
         2024-01-05T14:30:00Z,AAA,surprise,-0.25\n\
         2024-01-06,AAA,score,2\n\
         2024-01-04,BBB,score,0.5\n\
         2024-01-04,ZZZ,score,9\n",
    )
    .expect("write");
    let mut s = spec(&["f.csv"]);
    s.available_time = "13:00".to_string();
    let set = FeatureSet::open(&s, dir.path(), &symbols(), 1).expect("valid");
    assert_eq!(set.names(), ["score", "surprise"]);
    assert_eq!(
        set.counts(),
        (5, 1),
        "five rows read, one for a symbol outside the run"
    );
    let at = |t: &str| Ts::parse(t).expect("valid time");
    assert_eq!(
        delivered(&set),
        vec![
            (at("2024-01-03T13:00:00Z"), 0, "score".to_string(), 1.5, 2),
            (at("2024-01-04T13:00:00Z"), 1, "score".to_string(), 0.5, 5),
            (
                at("2024-01-05T14:30:00Z"),
                0,
                "surprise".to_string(),
                -0.25,
                3
            ),
            (at("2024-01-06T13:00:00Z"), 0, "score".to_string(), 2.0, 4),
        ]
    );
    let inputs = set.inputs().expect("hashes");
    assert_eq!(inputs.len(), 1);
    assert_eq!(inputs[0].name, "f.csv");
    assert_eq!(
        inputs[0].blake3,
        *blake3::hash(&std::fs::read(dir.path().join("f.csv")).expect("read")).as_bytes()
    );
}

#[test]
fn bad_feature_tables_are_refused_with_their_row() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cases = [
        (
            "unsorted.csv",
            "available_at,symbol,name,value\n2024-01-05,AAA,x,1\n2024-01-03,AAA,x,2\n",
            "row 3",
            "sort each symbol's rows by available_at",
        ),
        (
            "nan.csv",
            "available_at,symbol,name,value\n2024-01-05,AAA,x,NaN\n",
            "row 2",
            "not a finite number",
        ),
        (
            "text.csv",
            "available_at,symbol,name,value\n2024-01-05,AAA,x,high\n",
            "row 2",
            "value 'high' is not a number",
        ),
        (
            "time.csv",
            "available_at,symbol,name,value\nsoon,AAA,x,1\n",
            "row 2",
            "time 'soon'",
        ),
        (
            "columns.csv",
            "time,symbol,name,value\n2024-01-05,AAA,x,1\n",
            "columns.csv",
            "no available_at column",
        ),
    ];
    for (file, text, place, what) in cases {
        std::fs::write(dir.path().join(file), text).expect("write");
        let err = FeatureSet::open(&spec(&[file]), dir.path(), &symbols(), 0)
            .expect_err(file)
            .to_string();
        assert!(err.contains(place) && err.contains(what), "{file}: {err}");
    }
    let missing = FeatureSet::open(&spec(&["none.csv"]), dir.path(), &symbols(), 0);
    assert!(
        matches!(missing, Err(LoadError::Open { .. })),
        "{missing:?}"
    );
}
