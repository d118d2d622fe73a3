//! `tape sweep`: the table's bytes do not depend on the number of threads, a run re-run alone
//! has the fingerprint the table records, and bad specs are one-sentence errors.

use tape_tests::{scratch, tape};

const SPEC: &str = r#"scenario = "default"
seeds = [7, 8]

[grid]
"strategy.fast" = [10, 20]
"strategy.slow" = [60]
"#;

#[test]
fn one_or_two_threads_write_the_same_table_and_a_run_alone_reproduces_its_fingerprint() {
    let dir = scratch();
    std::fs::write(dir.path().join("s.toml"), SPEC).expect("written");
    tape(
        dir.path(),
        &["sweep", "s.toml", "--threads", "1", "--out", "one"],
    )
    .expect_code(0);
    tape(
        dir.path(),
        &["sweep", "s.toml", "--threads", "2", "--out", "two"],
    )
    .expect_code(0);
    let one = std::fs::read_to_string(dir.path().join("one/results.csv")).expect("written");
    let two = std::fs::read_to_string(dir.path().join("two/results.csv")).expect("written");
    assert_eq!(one, two);
    let rows: Vec<Vec<&str>> = one.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(
        rows[0][..5],
        [
            "run",
            "seed",
            "strategy.fast",
            "strategy.slow",
            "fingerprint"
        ]
    );
    // Grid keys sorted, values in order, seeds innermost.
    let ids: Vec<(&str, &str, &str)> = rows[1..].iter().map(|r| (r[0], r[1], r[2])).collect();
    assert_eq!(
        ids,
        [
            ("0", "7", "10"),
            ("1", "8", "10"),
            ("2", "7", "20"),
            ("3", "8", "20")
        ]
    );
    // Run 2 alone: the same fingerprint, and the same as `tape run` of that scenario.
    let alone = tape(
        dir.path(),
        &["sweep", "s.toml", "--run", "2", "--out", "alone", "--json"],
    );
    let v = alone.expect_code(0).json();
    assert_eq!(v["fingerprint"], rows[3][4]);
    let scenario = tape(dir.path(), &["scenarios", "show", "default"]);
    // Run 2 is fast = 20 (the default's own) with slow = 60, seed 7.
    let text = scenario
        .expect_code(0)
        .stdout
        .replace("slow = 100", "slow = 60");
    std::fs::write(dir.path().join("r2.toml"), text).expect("written");
    let run = tape(
        dir.path(),
        &[
            "run", "r2.toml", "--seed", "7", "--out", "r2.tape", "--json",
        ],
    );
    assert_eq!(run.expect_code(0).json()["fingerprint"], rows[3][4]);
    // The table is not overwritten without --force.
    let again = tape(dir.path(), &["sweep", "s.toml", "--out", "one"]);
    again.expect_code(2);
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
}

#[test]
fn bad_specs_are_refused_before_anything_runs() {
    let dir = scratch();
    let cases = [
        ("scenario = \"default\"\nspeed = 3\n", "line 2"),
        (
            "scenario = \"nope.toml\"\n",
            "neither a built-in nor a readable file",
        ),
        (
            "scenario = \"default\"\n[grid]\n\"strategy.fast\" = []\n",
            "has no values",
        ),
        (
            "scenario = \"default\"\n[grid]\n\"strat.fast\" = [5]\n",
            "no [strat] table",
        ),
        (
            "scenario = \"default\"\n[grid]\n\"strategy.fast\" = [500]\n",
            "run 0",
        ),
    ];
    for (i, (spec, expected)) in cases.iter().enumerate() {
        let name = format!("bad{i}.toml");
        std::fs::write(dir.path().join(&name), spec).expect("written");
        let run = tape(dir.path(), &["sweep", &name, "--out", "out"]);
        run.expect_code(2);
        assert!(run.stderr.contains(expected), "{spec}: {}", run.stderr);
        assert!(run.stderr.contains(&name), "names the file: {}", run.stderr);
        assert!(!dir.path().join("out/results.csv").exists());
    }
}

/// A killed sweep leaves its journal: `--resume` trusts the rows whose checksum holds (it
/// does not run them again), runs the rest — a torn or edited row included — and ends with
/// the table a sweep without interruption writes.
#[test]
fn a_resumed_sweep_skips_checksummed_rows_and_redoes_torn_ones() {
    let dir = scratch();
    std::fs::write(dir.path().join("s.toml"), SPEC).expect("written");
    tape(dir.path(), &["sweep", "s.toml", "--out", "full"]).expect_code(0);
    let full = std::fs::read_to_string(dir.path().join("full/results.csv")).expect("written");
    let lines: Vec<&str> = full.lines().collect();
    let sum = |row: &str| blake3::hash(row.as_bytes()).to_hex()[..16].to_string();
    // Run 0 recorded, but with an edited figure and a checksum that matches the edit: if it
    // is trusted (not run again) the edit shows in the final table.
    let mut edited: Vec<String> = lines[1].split(',').map(str::to_string).collect();
    edited[5] = "0.5".into();
    let edited = edited.join(",");
    // Run 1 recorded with a checksum that does not match (an edited row): run again.
    let wrong = lines[2].replace(",0.", ",0.9");
    // Run 2 torn mid-line by the kill.
    let torn = &lines[3][..lines[3].len() / 2];
    let journal = format!(
        "{}\n{},{edited}\n{},{wrong}\n{},{torn}",
        lines[0],
        sum(&edited),
        sum(lines[2]),
        sum(lines[3])
    );
    std::fs::create_dir(dir.path().join("cut")).expect("made");
    std::fs::write(dir.path().join("cut/journal.csv"), journal).expect("written");
    // Without --resume the journal is not overwritten.
    let refused = tape(dir.path(), &["sweep", "s.toml", "--out", "cut"]);
    refused.expect_code(2);
    assert!(refused.stderr.contains("--resume"), "{}", refused.stderr);
    let resumed = tape(
        dir.path(),
        &["sweep", "s.toml", "--out", "cut", "--resume", "--json"],
    );
    let v = resumed.expect_code(0).json();
    assert_eq!(
        (v["ran"].as_u64(), v["resumed"].as_u64()),
        (Some(3), Some(1))
    );
    let table = std::fs::read_to_string(dir.path().join("cut/results.csv")).expect("written");
    let mut expected: Vec<&str> = lines.clone();
    expected[1] = &edited;
    assert_eq!(table.lines().collect::<Vec<_>>(), expected);
    assert!(
        !dir.path().join("cut/journal.csv").exists(),
        "removed once the table is written"
    );
    // A journal of another spec is refused.
    std::fs::write(dir.path().join("cut/journal.csv"), "run,seed,other\n").expect("written");
    let other = tape(dir.path(), &["sweep", "s.toml", "--out", "cut", "--resume"]);
    other.expect_code(2);
    assert!(other.stderr.contains("another sweep"), "{}", other.stderr);
}

/// Two symbols' daily bars over four years from a fixed recurrence; from `perturb_from` (a
/// date) on, the recurrence restarts from `future` — another future, the same past.
fn prices_csv(perturb_from: &str, future: u64) -> String {
    let mut out = String::from("symbol,date,open,high,low,close,volume\n");
    let mut day = tape_engine::time::Ts::from_date(2016, 1, 4).day();
    let mut state: u64 = 12345;
    let mut closes = [50.0f64, 80.0];
    let mut rows = 0;
    let mut forked = false;
    while rows < 1040 {
        let weekday = (day + 3).rem_euclid(7);
        if weekday < 5 {
            let (y, m, d) = tape_engine::time::civil_from_days(day);
            let date = format!("{y:04}-{m:02}-{d:02}");
            if !forked && date.as_str() >= perturb_from {
                forked = true;
                state ^= future;
            }
            for (i, symbol) in ["AAA", "BBB"].iter().enumerate() {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let step = ((state >> 33) % 2001) as f64 / 1000.0 - 1.0; // −1 … +1
                closes[i] *= 1.0 + 0.015 * step + 0.0004 * if i == 0 { 1.0 } else { -0.5 };
                let c = (closes[i] * 100.0).round() / 100.0;
                let (h, l) = (c + 0.5, c - 0.5);
                out.push_str(&format!(
                    "{symbol},{date},{c:.2},{h:.2},{l:.2},{c:.2},1000\n"
                ));
            }
            rows += 1;
        }
        day += 1;
    }
    out
}

const WALK_SCENARIO: &str = r#"name = "walk"
seed = 0

[market]
kind = "csv"
files = ["prices.csv"]
symbol_column = "symbol"
adjust = false

[market.guard]
absurd_return = "warn"

[account]
cash = 100000.0

[strategy]
kind = "sma_cross"
fast = 5
slow = 20
quantity = 100.0
"#;

const WALK_SPEC: &str = r#"scenario = "walk.toml"

[grid]
"strategy.fast" = [3, 5, 8, 12]
"strategy.slow" = [15, 25, 40]

[walk_forward]
start = "2016-01-01"
end = "2019-12-31"
train_months = 12
test_months = 6
"#;

/// No test window's data is used to choose its parameters: with the prices after 2018-01-01
/// perturbed, every choice made on a train window that ended before then is the same, and so
/// is every test window that ended before then; the study still reports later windows.
#[test]
fn walk_forward_choices_never_see_their_test_window() {
    let dir = scratch();
    let mut studies = Vec::new();
    for (name, future) in [("a", 0), ("b", 0x5eed)] {
        let sub = dir.path().join(name);
        std::fs::create_dir(&sub).expect("made");
        std::fs::write(sub.join("prices.csv"), prices_csv("2018-01-01", future)).expect("written");
        std::fs::write(sub.join("walk.toml"), WALK_SCENARIO).expect("written");
        std::fs::write(sub.join("wf.toml"), WALK_SPEC).expect("written");
        let run = tape(&sub, &["sweep", "wf.toml", "--out", "out", "--json"]);
        let v = run.expect_code(0).json();
        assert_eq!(
            v["walk_forward"]["windows"].as_array().map(Vec::len),
            Some(6)
        );
        let table = std::fs::read_to_string(sub.join("out/walk_forward.csv")).expect("written");
        let rows: Vec<Vec<String>> = table
            .lines()
            .skip(1)
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect();
        studies.push(rows);
    }
    let (a, b) = (&studies[0], &studies[1]);
    let mut compared = 0;
    for (ra, rb) in a.iter().zip(b) {
        let (train_to, test_to) = (&ra[2], &ra[4]);
        if train_to.as_str() < "2018-01-01" {
            // Chosen run, its parameters and its train objective: columns 5 to 8.
            assert_eq!(ra[5..9], rb[5..9], "window {} chose differently", ra[0]);
            compared += 1;
        }
        if test_to.as_str() < "2018-01-01" {
            assert_eq!(ra, rb, "window {} reported differently", ra[0]);
        }
    }
    assert!(compared >= 2, "windows before the perturbation: {compared}");
    assert_ne!(a, b, "the perturbation changes the later windows");
}

const SAMPLED: &str = r#"scenario = "default"

[grid]
"strategy.slow" = [60, 80]

[sample]
count = 3
seed = SEED

[sample.space]
"strategy.fast" = [5, 30]
"#;

/// The parameter columns of a sampled sweep's table, run by run.
fn sampled_points(dir: &std::path::Path, seed: u64, out: &str) -> Vec<(String, String)> {
    let name = format!("{out}.toml");
    std::fs::write(dir.join(&name), SAMPLED.replace("SEED", &seed.to_string())).expect("written");
    tape(dir, &["sweep", &name, "--out", out]).expect_code(0);
    let table = std::fs::read_to_string(dir.join(out).join("results.csv")).expect("written");
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    assert_eq!(
        header[..4],
        ["run", "seed", "strategy.fast", "strategy.slow"]
    );
    lines
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            (cells[2].to_string(), cells[3].to_string())
        })
        .collect()
}

/// A sample is a function of its seed: the same seed draws the same points, another seed
/// other points, every drawn value lies in its range, and the grid crosses the sample.
#[test]
fn a_sample_is_drawn_from_its_seed_within_its_ranges() {
    let dir = scratch();
    let first = sampled_points(dir.path(), 11, "a");
    let again = sampled_points(dir.path(), 11, "b");
    let other = sampled_points(dir.path(), 12, "c");
    assert_eq!(first, again);
    assert_ne!(first, other);
    assert_eq!(first.len(), 6, "2 grid values × 3 sampled points");
    for (fast, slow) in first.iter().chain(&other) {
        let fast: i64 = fast.parse().expect("an integer");
        assert!((5..=30).contains(&fast), "{fast} outside [5, 30]");
        assert!(slow == "60" || slow == "80");
    }
    // The grid varies slowest: the same three drawn points under each grid value.
    let fasts = |slow: &str| -> Vec<String> {
        first
            .iter()
            .filter(|p| p.1 == slow)
            .map(|p| p.0.clone())
            .collect()
    };
    assert_eq!(fasts("60"), fasts("80"));
    assert_eq!(first[0].1, "60");
}

#[test]
fn bad_samples_are_refused_before_anything_runs() {
    let dir = scratch();
    let base = "scenario = \"default\"\n";
    let cases = [
        ("[sample]\ncount = 0\nseed = 1\n[sample.space]\n\"strategy.fast\" = [5, 9]\n", "count must be at least 1"),
        ("[sample]\ncount = 2\nseed = 1\n[sample.space]\n\"strategy.fast\" = [9, 5]\n", "low ≤ high"),
        ("[sample]\ncount = 2\nseed = 1\n[sample.space]\n\"strategy.fast\" = [5, 9.5]\n", "two integers"),
        ("[grid]\n\"strategy.fast\" = [5]\n[sample]\ncount = 2\nseed = 1\n[sample.space]\n\"strategy.fast\" = [5, 9]\n", "also in [grid]"),
    ];
    for (i, (tail, expected)) in cases.iter().enumerate() {
        let name = format!("bad{i}.toml");
        std::fs::write(dir.path().join(&name), format!("{base}{tail}")).expect("written");
        let run = tape(dir.path(), &["sweep", &name, "--out", "out"]);
        run.expect_code(2);
        assert!(run.stderr.contains(expected), "{tail}: {}", run.stderr);
        assert!(run.stderr.contains(&name), "names the file: {}", run.stderr);
        assert!(!dir.path().join("out/results.csv").exists());
    }
}

/// Shards run apart and merged, in any order, write the table one machine writes, byte for
/// byte; every run lies in exactly one shard.
#[test]
fn merged_shards_equal_the_local_table_byte_for_byte() {
    let dir = scratch();
    std::fs::write(dir.path().join("s.toml"), SPEC).expect("written");
    tape(
        dir.path(),
        &["sweep", "s.toml", "--threads", "1", "--out", "local"],
    )
    .expect_code(0);
    for shard in ["1/3", "2/3", "3/3"] {
        let out = format!("shard{}", &shard[..1]);
        tape(
            dir.path(),
            &["sweep", "s.toml", "--shard", shard, "--out", &out],
        )
        .expect_code(0);
    }
    let rows = |name: &str| -> Vec<String> {
        std::fs::read_to_string(dir.path().join(name).join("results.csv"))
            .expect("written")
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap_or_default().to_string())
            .collect()
    };
    // Each shard holds its own slice: ids ≡ I − 1 (mod 3), 4 runs in all.
    assert_eq!(rows("shard1"), ["0", "3"]);
    assert_eq!(rows("shard2"), ["1"]);
    assert_eq!(rows("shard3"), ["2"]);
    let merge = tape(
        dir.path(),
        &[
            "sweep", "merge", "shard3", "shard1", "shard2", "--out", "merged", "--json",
        ],
    );
    let v = merge.expect_code(0).json();
    assert_eq!(
        (v["shards"].as_u64(), v["runs"].as_u64()),
        (Some(3), Some(4))
    );
    let local = std::fs::read(dir.path().join("local/results.csv")).expect("written");
    let merged = std::fs::read(dir.path().join("merged/results.csv")).expect("written");
    assert!(
        local == merged,
        "the merged table differs from the local one"
    );
}

/// Merge writes a complete table of one sweep or nothing: a missing or repeated shard, a
/// shard of another spec, and a row moved into the wrong shard are each refused by name.
#[test]
fn merge_refuses_incomplete_mixed_or_edited_shards() {
    let dir = scratch();
    let d = dir.path();
    std::fs::write(d.join("s.toml"), SPEC).expect("written");
    std::fs::write(d.join("other.toml"), SPEC.replace("[60]", "[70]")).expect("written");
    for (spec, shard, out) in [
        ("s.toml", "1/2", "a"),
        ("s.toml", "2/2", "b"),
        ("other.toml", "2/2", "other"),
    ] {
        tape(d, &["sweep", spec, "--shard", shard, "--out", out]).expect_code(0);
    }
    // Shard b with a row of shard a's pasted in.
    std::fs::create_dir(d.join("edited")).expect("written");
    std::fs::copy(d.join("b/shard.json"), d.join("edited/shard.json")).expect("copied");
    let a_rows = std::fs::read_to_string(d.join("a/results.csv")).expect("written");
    let b_rows = std::fs::read_to_string(d.join("b/results.csv")).expect("written");
    let stolen = a_rows.lines().nth(1).expect("a row");
    std::fs::write(d.join("edited/results.csv"), format!("{b_rows}{stolen}\n")).expect("written");
    let cases: [(&[&str], &str); 4] = [
        (&["a"], "shard 2/2 missing"),
        (&["a", "a"], "is shard 1/2 again"),
        (&["a", "other"], "another sweep"),
        (&["a", "edited"], "run 0 is not shard 2/2's"),
    ];
    for (dirs, expected) in cases {
        let mut args = vec!["sweep", "merge"];
        args.extend_from_slice(dirs);
        args.extend(["--out", "merged"]);
        let run = tape(d, &args);
        run.expect_code(2);
        assert!(run.stderr.contains(expected), "{dirs:?}: {}", run.stderr);
        assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
        assert!(
            !d.join("merged/results.csv").exists(),
            "{dirs:?} wrote a table"
        );
    }
}

/// `--keep-best K` leaves exactly the ledgers of the K best runs by the chosen figure, as
/// ranked from the table itself, and each is the ledger the table's fingerprint names.
#[test]
fn keep_best_leaves_the_ledgers_of_the_best_runs_only() {
    let dir = scratch();
    let spec = SPEC.replace("[60]", "[60, 80]");
    std::fs::write(dir.path().join("s.toml"), spec).expect("written");
    let run = tape(
        dir.path(),
        &[
            "sweep",
            "s.toml",
            "--threads",
            "2",
            "--keep-best",
            "3",
            "--by",
            "sortino",
            "--out",
            "out",
            "--json",
        ],
    );
    let v = run.expect_code(0).json();
    let table = std::fs::read_to_string(dir.path().join("out/results.csv")).expect("written");
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    let col = |name: &str| header.iter().position(|c| *c == name).expect("a column");
    let (sortino, fingerprint) = (col("sortino"), col("fingerprint"));
    let mut rows: Vec<(f64, usize, String)> = lines
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            (
                cells[sortino].parse().unwrap_or(f64::NEG_INFINITY),
                cells[0].parse().expect("an id"),
                cells[fingerprint].to_string(),
            )
        })
        .collect();
    assert_eq!(rows.len(), 8);
    rows.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let expected: Vec<u64> = rows[..3].iter().map(|r| r.1 as u64).collect();
    let reported: Vec<u64> = v["kept_ledgers"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(serde_json::Value::as_u64)
        .collect();
    assert_eq!(reported, expected);
    let mut on_disk: Vec<String> = std::fs::read_dir(dir.path().join("out/ledgers"))
        .expect("the ledgers directory")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    on_disk.sort();
    let mut wanted: Vec<String> = expected
        .iter()
        .map(|id| format!("run-{id:06}.tape"))
        .collect();
    wanted.sort();
    assert_eq!(on_disk, wanted);
    for (_, id, fingerprint) in &rows[..3] {
        let ledger = format!("out/ledgers/run-{id:06}.tape");
        let verify = tape(dir.path(), &["verify", &ledger, "--json"]);
        assert_eq!(
            verify.expect_code(0).json()["fingerprint"],
            fingerprint.as_str()
        );
    }
}

/// `results.parquet` has typed columns holding the CSV table's values, and its bytes do not
/// depend on the thread count or on whether the table was merged from shards.
#[cfg(feature = "parquet")]
#[test]
fn the_parquet_table_is_typed_and_identical_local_threaded_or_merged() {
    use arrow_array::{Array, Float64Array, Int64Array, StringArray, UInt64Array};
    use arrow_schema::DataType;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    let dir = scratch();
    let d = dir.path();
    std::fs::write(d.join("s.toml"), SPEC).expect("written");
    for (extra, out) in [
        (&["--threads", "1"][..], "one"),
        (&["--threads", "2"][..], "two"),
        (&["--shard", "1/2"][..], "a"),
        (&["--shard", "2/2"][..], "b"),
    ] {
        let mut args = vec!["sweep", "s.toml", "--out", out];
        args.extend_from_slice(extra);
        tape(d, &args).expect_code(0);
    }
    tape(d, &["sweep", "merge", "b", "a", "--out", "merged"]).expect_code(0);
    let bytes = |dir: &str| std::fs::read(d.join(dir).join("results.parquet")).expect("written");
    let one = bytes("one");
    assert!(
        one == bytes("two"),
        "the thread count changed the Parquet bytes"
    );
    assert!(
        one == bytes("merged"),
        "the merge changed the Parquet bytes"
    );

    let file = std::fs::File::open(d.join("one/results.parquet")).expect("written");
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("a Parquet file")
        .build()
        .expect("a reader");
    let batches: Vec<_> = reader.collect::<Result<_, _>>().expect("readable");
    assert_eq!(batches.len(), 1);
    let batch = &batches[0];
    let schema = batch.schema();
    let ty = |name: &str| {
        schema
            .field_with_name(name)
            .expect("a column")
            .data_type()
            .clone()
    };
    assert_eq!(ty("run"), DataType::UInt64);
    assert_eq!(ty("strategy.fast"), DataType::Int64);
    assert_eq!(ty("sharpe"), DataType::Float64);
    assert_eq!(ty("fingerprint"), DataType::Utf8);
    let column = |name: &str| {
        batch
            .column(schema.index_of(name).expect("a column"))
            .clone()
    };
    let runs = column("run");
    let runs = runs.as_any().downcast_ref::<UInt64Array>().expect("u64");
    let fast = column("strategy.fast");
    let fast = fast.as_any().downcast_ref::<Int64Array>().expect("i64");
    let sharpe = column("sharpe");
    let sharpe = sharpe.as_any().downcast_ref::<Float64Array>().expect("f64");
    let prints = column("fingerprint");
    let prints = prints.as_any().downcast_ref::<StringArray>().expect("text");
    let table = std::fs::read_to_string(d.join("one/results.csv")).expect("written");
    let rows: Vec<Vec<&str>> = table
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(batch.num_rows(), rows.len());
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(runs.value(i).to_string(), row[0]);
        assert_eq!(fast.value(i).to_string(), row[2]);
        assert_eq!(prints.value(i), row[4]);
        let csv_sharpe: Option<f64> = row[8].parse().ok();
        let parquet_sharpe = (!sharpe.is_null(i)).then(|| sharpe.value(i));
        assert_eq!(parquet_sharpe, csv_sharpe, "row {i}");
    }
}

/// A walk-forward study is a function of the results table: run in one go, resumed from a
/// journal holding half of the runs, or run as three shards and merged, it writes the same
/// `results.csv` and `walk_forward.csv`, byte for byte.
#[test]
fn a_walk_forward_study_resumed_or_sharded_is_the_same_study() {
    let dir = scratch();
    let d = dir.path();
    std::fs::write(d.join("prices.csv"), prices_csv("2100-01-01", 0)).expect("written");
    std::fs::write(d.join("walk.toml"), WALK_SCENARIO).expect("written");
    std::fs::write(d.join("wf.toml"), WALK_SPEC).expect("written");
    tape(d, &["sweep", "wf.toml", "--out", "whole"]).expect_code(0);
    let read = |path: &str| std::fs::read(d.join(path)).expect("written");
    let table = String::from_utf8(read("whole/results.csv")).expect("text");
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].contains("w0_train_sharpe") && lines[0].contains("w5_test_trades"));

    // Resumed: a journal with the first half of the rows, checksummed as the sweep does.
    let sum = |row: &str| blake3::hash(row.as_bytes()).to_hex()[..16].to_string();
    let half = (lines.len() - 1) / 2;
    let mut journal = format!("{}\n", lines[0]);
    for row in &lines[1..=half] {
        journal.push_str(&format!("{},{row}\n", sum(row)));
    }
    std::fs::create_dir(d.join("resumed")).expect("made");
    std::fs::write(d.join("resumed/journal.csv"), journal).expect("written");
    let v = tape(
        d,
        &["sweep", "wf.toml", "--out", "resumed", "--resume", "--json"],
    )
    .expect_code(0)
    .json();
    assert_eq!(v["resumed"].as_u64(), Some(half as u64));

    // Sharded and merged.
    for shard in ["1/3", "2/3", "3/3"] {
        let out = format!("shard{}", &shard[..1]);
        tape(d, &["sweep", "wf.toml", "--shard", shard, "--out", &out]).expect_code(0);
        assert!(
            !d.join(&out).join("walk_forward.csv").exists(),
            "a shard chose alone"
        );
    }
    tape(
        d,
        &[
            "sweep", "merge", "shard1", "shard2", "shard3", "--out", "merged",
        ],
    )
    .expect_code(0);

    for other in ["resumed", "merged"] {
        for file in ["results.csv", "walk_forward.csv"] {
            assert!(
                read(&format!("whole/{file}")) == read(&format!("{other}/{file}")),
                "{other}/{file} differs from the study run in one go"
            );
        }
    }
}

/// Walk-forward on the built-in trend system: every window reports out-of-sample figures of
/// a run chosen on its train window, and the test windows tile the period.
#[test]
fn walk_forward_on_the_built_in_trend_system_reports_every_window_out_of_sample() {
    let dir = scratch();
    let d = dir.path();
    let spec = r#"scenario = "dow30-trend"

[grid]
"strategy.vol_target" = [0.08, 0.12]

[walk_forward]
start = "2022-01-01"
end = "2023-12-31"
train_months = 6
test_months = 3
"#;
    std::fs::write(d.join("wf.toml"), spec).expect("written");
    let v = tape(d, &["sweep", "wf.toml", "--out", "out", "--json"])
        .expect_code(0)
        .json();
    let windows = v["walk_forward"]["windows"].as_array().expect("windows");
    assert_eq!(windows.len(), 6, "{v}");
    let study = std::fs::read_to_string(d.join("out/walk_forward.csv")).expect("written");
    let rows: Vec<Vec<&str>> = study
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 6);
    let mut previous_test_to: Option<&str> = None;
    for row in &rows {
        // window, train_from, train_to, test_from, test_to, chosen_run, vol_target, train_sharpe,
        // test_total_return, test_sharpe, test_max_drawdown, test_trades
        assert_eq!(row.len(), 12, "{row:?}");
        assert!(
            row[2] < row[3],
            "the train window ends before its test window: {row:?}"
        );
        if let Some(prev) = previous_test_to {
            assert!(prev < row[3], "test windows follow each other: {row:?}");
        }
        previous_test_to = Some(row[4]);
        assert!(row[5] == "0" || row[5] == "1", "a run was chosen: {row:?}");
        assert!(
            row[8].parse::<f64>().is_ok(),
            "an out-of-sample return: {row:?}"
        );
    }
}

/// Two sweeps never write one directory: while a first sweep runs, a second one with the same
/// `--out` (with `--force` or `--resume`) is refused and leaves the first's journal alone.
#[test]
fn a_second_sweep_into_a_directory_being_written_is_refused() {
    let dir = scratch();
    let d = dir.path();
    let spec = SPEC.replace("seeds = [7, 8]", "seeds = [1, 2, 3, 4, 5, 6, 7, 8]");
    std::fs::write(d.join("s.toml"), spec).expect("written");
    let mut first = std::process::Command::new(tape_tests::tape_bin())
        .args(["sweep", "s.toml", "--threads", "1", "--out", "out"])
        .current_dir(d)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("tape starts");
    let journal = d.join("out/journal.csv");
    // The first sweep has started once its journal has a header line.
    while std::fs::read_to_string(&journal).map_or(true, |t| !t.contains('\n')) {
        assert!(
            first.try_wait().expect("polled").is_none(),
            "the first sweep ended early"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    for extra in ["--force", "--resume"] {
        let second = tape(d, &["sweep", "s.toml", "--out", "out", extra]);
        second.expect_code(2);
        assert!(
            second
                .stderr
                .contains("another `tape sweep` is writing this directory"),
            "{extra}: {}",
            second.stderr
        );
    }
    let still = first.try_wait().expect("polled");
    let _ = first.kill();
    let _ = first.wait();
    assert!(
        still.is_none(),
        "the checks ran while the first sweep was running"
    );
    let text = std::fs::read_to_string(&journal).expect("the first sweep's journal is kept");
    assert!(text.starts_with("run,seed,"), "{text}");
}
