//! End-to-end tests of the `tape` binary: what a user types, what they get, exit codes.

use std::path::{Path, PathBuf};

use tape_engine::event::EventBody;
use tape_engine::fixed::Price;
use tape_engine::ledger::frame::{decode_event, encode_event};
use tape_engine::ledger::{FsyncPolicy, LedgerReader, LedgerWriter};
use tape_tests::{scratch, tape, workspace_root};

fn small_toml(dir: &Path) -> PathBuf {
    let path = dir.join("small.toml");
    std::fs::write(&path, tape_tests::SMALL_SCENARIO).expect("scenario written");
    path
}

fn run_small(dir: &Path, out: &str) -> PathBuf {
    let scenario = small_toml(dir);
    tape(
        dir,
        &[
            "run",
            scenario.to_str().expect("utf-8"),
            "--out",
            out,
            "--json",
        ],
    )
    .expect_code(0);
    dir.join(out)
}

#[test]
fn two_runs_with_one_seed_write_identical_ledgers_and_another_seed_differs() {
    let dir = scratch();
    let a = tape(
        dir.path(),
        &["run", "--seed", "7", "--out", "a.tape", "--json"],
    );
    let b = tape(
        dir.path(),
        &["run", "--seed", "7", "--out", "b.tape", "--json"],
    );
    let c = tape(
        dir.path(),
        &["run", "--seed", "8", "--out", "c.tape", "--json"],
    );
    let (a, b, c) = (
        a.expect_code(0).json(),
        b.expect_code(0).json(),
        c.expect_code(0).json(),
    );
    for key in [
        "fingerprint",
        "events",
        "bars",
        "fills",
        "final_equity",
        "elapsed_s",
        "events_per_s",
    ] {
        assert!(a.get(key).is_some(), "run --json has '{key}': {a}");
    }
    assert_eq!(a["fingerprint"], b["fingerprint"]);
    let bytes_a = std::fs::read(dir.path().join("a.tape")).expect("a written");
    let bytes_b = std::fs::read(dir.path().join("b.tape")).expect("b written");
    assert!(bytes_a == bytes_b, "same seed, different bytes");
    assert_ne!(a["fingerprint"], c["fingerprint"]);
    assert_eq!(
        a["bars"],
        30 * 2610,
        "the default scenario is 30 symbols × 10 years of weekdays"
    );
}

#[test]
fn run_without_arguments_runs_the_default_scenario_into_runs() {
    let dir = scratch();
    let run = tape(dir.path(), &["run"]);
    run.expect_code(0);
    assert!(run.stdout.contains("fingerprint"), "{}", run.stdout);
    assert!(dir.path().join("runs/default-seed7.tape").exists());
    // Running again replaces the default output rather than failing.
    tape(dir.path(), &["run"]).expect_code(0);
}

#[test]
fn an_explicit_out_is_not_overwritten_without_force() {
    let dir = scratch();
    run_small(dir.path(), "x.tape");
    let scenario = small_toml(dir.path());
    let again = tape(
        dir.path(),
        &["run", scenario.to_str().expect("utf-8"), "--out", "x.tape"],
    );
    again.expect_code(2);
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    tape(
        dir.path(),
        &[
            "run",
            scenario.to_str().expect("utf-8"),
            "--out",
            "x.tape",
            "--force",
        ],
    )
    .expect_code(0);
}

#[test]
fn verify_and_replay_say_ok_on_a_fresh_ledger() {
    let dir = scratch();
    let ledger = run_small(dir.path(), "small.tape");
    let verify = tape(dir.path(), &["verify", ledger.to_str().expect("utf-8")]);
    assert!(
        verify.expect_code(0).stdout.starts_with("OK "),
        "{}",
        verify.stdout
    );
    let replay = tape(
        dir.path(),
        &["replay", ledger.to_str().expect("utf-8"), "--json"],
    );
    let v = replay.expect_code(0).json();
    assert_eq!(v["ok"], true);
}

/// Rewrites a ledger with one derived event changed and every checksum and the hash chain
/// recomputed, so that only re-execution can tell.
fn tamper_with_first_fill(source: &Path, target: &Path) -> u64 {
    let mut reader = LedgerReader::open(source).expect("opens");
    let header = reader.header().clone();
    let mut frames = Vec::new();
    let mut tampered = None;
    while let Some(frame) = reader.next_event().expect("reads") {
        let mut event = decode_event(frame.bytes).expect("decodes");
        if tampered.is_none() {
            if let EventBody::OrderFilled(fill) = &mut event.body {
                fill.price = Price::from_raw(fill.price.raw() + 1).expect("positive");
                tampered = Some(event.seq.0);
            }
        }
        encode_event(&event, header.salt, &mut frames);
    }
    let mut writer =
        LedgerWriter::create(target, &header, FsyncPolicy::Never, false).expect("creates");
    let rest = writer.submit(frames).expect("accepts");
    writer.finish(rest).expect("finishes");
    tampered.expect("the small scenario fills orders")
}

#[test]
fn replay_finds_an_edited_derived_event_that_verify_cannot() {
    let dir = scratch();
    let ledger = run_small(dir.path(), "small.tape");
    let edited = dir.path().join("edited.tape");
    let seq = tamper_with_first_fill(&ledger, &edited);
    let edited_arg = edited.to_str().expect("utf-8");
    tape(dir.path(), &["verify", edited_arg]).expect_code(0);
    let replay = tape(dir.path(), &["replay", edited_arg]);
    replay.expect_code(1);
    assert!(
        replay
            .stdout
            .contains(&format!("DIVERGED at seq {seq} (fill)")),
        "{}",
        replay.stdout
    );
    assert!(
        replay.stdout.contains("expected (ledger)") && replay.stdout.contains("actual (re-run)"),
        "{}",
        replay.stdout
    );
    assert!(
        replay.stdout.contains("order_submitted"),
        "the causal chain reaches the order: {}",
        replay.stdout
    );
    let json = tape(dir.path(), &["replay", edited_arg, "--json"]);
    assert_eq!(json.expect_code(1).json()["seq"], seq);
}

#[test]
fn a_flipped_bit_is_corruption_and_repair_refuses_to_cut_it() {
    let dir = scratch();
    let ledger = run_small(dir.path(), "small.tape");
    let mut bytes = std::fs::read(&ledger).expect("written");
    let at = bytes.len() / 2;
    bytes[at] ^= 0x10;
    let flipped = dir.path().join("flipped.tape");
    std::fs::write(&flipped, &bytes).expect("written");
    let arg = flipped.to_str().expect("utf-8");
    let verify = tape(dir.path(), &["verify", arg]);
    verify.expect_code(1);
    assert!(
        verify.stderr.contains("corruption at byte"),
        "{}",
        verify.stderr
    );
    let repair = tape(dir.path(), &["repair", arg]);
    repair.expect_code(1);
    assert!(repair.stderr.contains("will not cut"), "{}", repair.stderr);
    assert_eq!(
        std::fs::read(&flipped).expect("still there"),
        bytes,
        "repair changed a corrupt ledger"
    );
    tape(dir.path(), &["replay", arg]).expect_code(1);
}

#[test]
fn a_truncated_ledger_is_a_torn_tail_that_repair_cuts() {
    let dir = scratch();
    let ledger = run_small(dir.path(), "small.tape");
    let bytes = std::fs::read(&ledger).expect("written");
    let cut = dir.path().join("cut.tape");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3 + 3]).expect("written");
    let arg = cut.to_str().expect("utf-8");
    let verify = tape(dir.path(), &["verify", arg]);
    verify.expect_code(1);
    assert!(
        verify.stderr.contains("torn tail at byte"),
        "{}",
        verify.stderr
    );
    let repaired = dir.path().join("repaired.tape");
    let repair = tape(
        dir.path(),
        &["repair", arg, "--out", repaired.to_str().expect("utf-8")],
    );
    repair.expect_code(0);
    assert!(repair.stdout.contains("dropped"), "{}", repair.stdout);
    tape(dir.path(), &["verify", repaired.to_str().expect("utf-8")]).expect_code(0);
    // The repaired prefix still replays: every kept event re-derives.
    tape(dir.path(), &["replay", repaired.to_str().expect("utf-8")]).expect_code(0);
    // In place, too; then there is nothing left to repair.
    tape(dir.path(), &["repair", arg]).expect_code(0);
    let again = tape(dir.path(), &["repair", arg]);
    assert!(
        again.expect_code(0).stdout.contains("nothing to repair"),
        "{}",
        again.stdout
    );
}

#[test]
fn unreadable_inputs_get_one_sentence_and_exit_2() {
    let dir = scratch();
    std::fs::write(dir.path().join("notes.txt"), "hello, I am not a ledger\n").expect("written");
    let ledger = run_small(dir.path(), "small.tape");
    let mut newer = std::fs::read(&ledger).expect("written");
    newer[8] = 99; // format_version = 99
    std::fs::write(dir.path().join("newer.tape"), &newer).expect("written");
    let cases = [
        ("missing.tape", "check the path"),
        ("notes.txt", "not a Tape ledger"),
        ("newer.tape", "newer than this build supports"),
    ];
    for verb in ["verify", "replay", "show", "repair"] {
        for (file, expected) in cases {
            let run = tape(dir.path(), &[verb, file]);
            run.expect_code(2);
            let line = run.stderr.trim();
            assert!(
                line.contains(expected) && line.contains(file),
                "{verb} {file}: {line}"
            );
            assert_eq!(
                line.lines().count(),
                1,
                "{verb} {file}: one sentence, got {line}"
            );
        }
    }
}

#[test]
fn a_bad_scenario_file_names_the_key_and_line() {
    let dir = scratch();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        tape_tests::SMALL_SCENARIO.replace("bars = 160", "bars = 160\nbar_count = 5"),
    )
    .expect("written");
    let run = tape(dir.path(), &["run", bad.to_str().expect("utf-8")]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("bar_count") && run.stderr.contains("line"),
        "{}",
        run.stderr
    );
    let strategy = dir.path().join("strategy.toml");
    std::fs::write(
        &strategy,
        tape_tests::SMALL_SCENARIO.replace("fast = 5", "fast = 5\nspeed = 3"),
    )
    .expect("written");
    let run = tape(dir.path(), &["run", strategy.to_str().expect("utf-8")]);
    run.expect_code(2);
    let line = tape_tests::SMALL_SCENARIO
        .lines()
        .position(|l| l.starts_with("fast = 5"))
        .expect("has fast")
        + 2;
    assert!(
        run.stderr.contains("speed") && run.stderr.contains(&format!("line {line}")),
        "{}",
        run.stderr
    );
    let unknown = tape(dir.path(), &["run", "no-such-scenario"]);
    unknown.expect_code(2);
    assert!(
        unknown.stderr.contains("tape scenarios"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn show_filters_by_kind_symbol_and_range_and_speaks_json() {
    let dir = scratch();
    let ledger = run_small(dir.path(), "small.tape");
    let arg = ledger.to_str().expect("utf-8");
    let fills = tape(dir.path(), &["show", arg, "--kind", "fill", "--json"]);
    let lines: Vec<serde_json::Value> = fills
        .expect_code(0)
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert!(!lines.is_empty());
    for v in &lines {
        assert_eq!(v["kind"], "fill");
        for key in ["seq", "ts", "causes", "price", "quantity", "symbol"] {
            assert!(v.get(key).is_some(), "fill JSON has '{key}': {v}");
        }
    }
    let one = tape(
        dir.path(),
        &["show", arg, "--symbol", "SYN1", "--kind", "bar"],
    );
    let bars: Vec<&str> = one.expect_code(0).stdout.lines().collect();
    assert_eq!(bars.len(), 160);
    assert!(bars.iter().all(|l| l.contains(" bar SYN1 ")));
    let range = tape(dir.path(), &["show", arg, "--from", "10", "--to", "12"]);
    let seqs: Vec<&str> = range
        .expect_code(0)
        .stdout
        .lines()
        .map(|l| l.split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(seqs, ["#10", "#11", "#12"]);
    let by_time = tape(
        dir.path(),
        &[
            "show",
            arg,
            "--from",
            "2020-01-03",
            "--to",
            "2020-01-03T23:59:59Z",
            "--kind",
            "bar",
        ],
    );
    assert_eq!(
        by_time.expect_code(0).stdout.lines().count(),
        3,
        "3 symbols on 2020-01-03"
    );
    let signal = tape(dir.path(), &["show", arg, "--kind", "signal"]);
    assert!(
        signal
            .expect_code(0)
            .stdout
            .contains("reason=sma_cross(fast_period=5 slow_period=20 fast_sma="),
        "{}",
        signal.stdout
    );
    tape(dir.path(), &["show", arg, "--kind", "nonsense"]).expect_code(2);
    tape(dir.path(), &["show", arg, "--symbol", "NOPE"]).expect_code(2);
}

#[test]
fn bench_reports_the_yardstick_figures() {
    let dir = scratch();
    let bench = tape(
        dir.path(),
        &["bench", "--bars", "20000", "--fsync", "never", "--json"],
    );
    let v = bench.expect_code(0).json();
    for key in [
        "run_bars_per_s",
        "run_events_per_s",
        "replay_events_per_s",
        "verify_mb_per_s",
        "fingerprint",
        "step_latency_ns",
    ] {
        assert!(v.get(key).is_some(), "bench --json has '{key}': {v}");
    }
    assert_eq!(v["bars"], 20_000);
    assert_eq!(v["replay_ok"], true);
}

#[test]
fn scenarios_lists_and_shows_the_built_ins() {
    let dir = scratch();
    let list = tape(dir.path(), &["scenarios"]);
    assert!(
        list.expect_code(0)
            .stdout
            .lines()
            .any(|l| l.starts_with("default")),
        "{}",
        list.stdout
    );
    let show = tape(dir.path(), &["scenarios", "show", "default"]);
    let text = show.expect_code(0).stdout.clone();
    std::fs::write(dir.path().join("copy.toml"), text).expect("written");
    tape(
        dir.path(),
        &["run", "copy.toml", "--out", "copy.tape", "--json"],
    )
    .expect_code(0);
    tape(dir.path(), &["scenarios", "show", "nope"]).expect_code(2);
    assert!(workspace_root()
        .join("scenarios/builtin/default.toml")
        .exists());
}

#[test]
fn the_real_data_scenario_runs_reports_its_data_and_replays_without_the_file() {
    let dir = scratch();
    let run = tape(dir.path(), &["run", "stocks", "--out", "stocks.tape"]);
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("data          12,154 rows read, 12,154 bars delivered"),
        "{}",
        run.stdout
    );
    let show = tape(
        dir.path(),
        &[
            "show",
            "stocks.tape",
            "--symbol",
            "AAPL",
            "--kind",
            "bar",
            "--to",
            "2000-03-02",
        ],
    );
    let first = show
        .expect_code(0)
        .stdout
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    // The file's first AAPL row, split-adjusted: close 130.31 × (4.186662803811 / 130.31).
    assert!(
        first.contains("2000-03-01T21:00:00Z bar AAPL") && first.contains("close=4.1866628"),
        "{first}"
    );
    // Replay needs no data file: the bars are in the ledger.
    tape(dir.path(), &["replay", "stocks.tape"]).expect_code(0);
}

#[test]
fn a_rejected_row_stops_the_run_before_any_ledger_is_written() {
    let dir = scratch();
    std::fs::write(
        dir.path().join("X.csv"),
        "date,open,high,low,close,volume\n2020-01-02,10,11,9,10,5\n2020-01-03,10,9,11,10,5\n",
    )
    .expect("written");
    let scenario = "name = \"x\"\n[market]\nkind = \"csv\"\nfiles = [\"X.csv\"]\n[strategy]\nkind = \"sma_cross\"\n";
    std::fs::write(dir.path().join("x.toml"), scenario).expect("written");
    let run = tape(dir.path(), &["run", "x.toml", "--out", "x.tape"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("X.csv, row 3: inconsistent_bar"),
        "{}",
        run.stderr
    );
    assert!(
        !dir.path().join("x.tape").exists(),
        "nothing is written for rejected data"
    );
}

#[test]
fn run_since_an_earlier_ledger_warns_about_changed_files() {
    let dir = scratch();
    let csv =
        "date,open,high,low,close,volume\n2020-01-02,10,11,9,10,5\n2020-01-03,10,11,9,10.5,5\n";
    std::fs::write(dir.path().join("X.csv"), csv).expect("written");
    let scenario = "name = \"x\"\n[market]\nkind = \"csv\"\nfiles = [\"X.csv\"]\n[strategy]\nkind = \"sma_cross\"\n";
    std::fs::write(dir.path().join("x.toml"), scenario).expect("written");
    tape(dir.path(), &["run", "x.toml", "--out", "first.tape"]).expect_code(0);
    let same = tape(
        dir.path(),
        &[
            "run",
            "x.toml",
            "--out",
            "second.tape",
            "--since",
            "first.tape",
        ],
    );
    assert!(
        !same.expect_code(0).stderr.contains("WARNING"),
        "{}",
        same.stderr
    );
    std::fs::write(dir.path().join("X.csv"), csv.replace("10.5", "10.6")).expect("rewritten");
    let changed = tape(
        dir.path(),
        &[
            "run",
            "x.toml",
            "--out",
            "third.tape",
            "--since",
            "first.tape",
        ],
    );
    assert!(
        changed
            .expect_code(0)
            .stderr
            .contains("WARNING: input X.csv changed"),
        "{}",
        changed.stderr
    );
}

#[test]
fn explain_prints_a_fill_s_causal_tree_down_to_its_bars() {
    let golden = workspace_root().join("tests/golden/small-v1.tape");
    let path = golden.to_str().expect("utf-8");
    let dir = scratch();
    let run = tape(dir.path(), &["explain", path, "91", "--json"]);
    run.expect_code(0);
    let tree: Vec<(u64, u64, String)> = run
        .stdout
        .lines()
        .map(|l| {
            let e: serde_json::Value = serde_json::from_str(l).expect("JSON");
            (
                e["depth"].as_u64().expect("depth"),
                e["seq"].as_u64().expect("seq"),
                e["kind"].as_str().expect("kind").to_string(),
            )
        })
        .collect();
    // The golden ledger's first buy of SYN0: the fill is caused by its order and its fill bar;
    // the order by the target, the target by the signal, the signal by its decision bar.
    let expected = [
        (0, 91, "fill"),
        (1, 82, "order_submitted"),
        (2, 81, "target"),
        (3, 80, "signal"),
        (4, 77, "bar"),
        (1, 90, "bar"),
    ];
    let expected: Vec<(u64, u64, String)> = expected
        .iter()
        .map(|&(d, s, k)| (d, s, k.to_string()))
        .collect();
    assert_eq!(tree, expected);
    // The same tree, rebuilt here from `tape show`'s causes.
    let all = tape(dir.path(), &["show", path, "--json", "--to", "91"]);
    let causes: std::collections::BTreeMap<u64, Vec<u64>> = all
        .stdout
        .lines()
        .map(|l| {
            let e: serde_json::Value = serde_json::from_str(l).expect("JSON");
            let c = e["causes"].as_array().expect("causes");
            (
                e["seq"].as_u64().expect("seq"),
                c.iter().map(|x| x.as_u64().expect("seq")).collect(),
            )
        })
        .collect();
    fn flatten(
        seq: u64,
        depth: u64,
        causes: &std::collections::BTreeMap<u64, Vec<u64>>,
        out: &mut Vec<(u64, u64)>,
    ) {
        out.push((depth, seq));
        for &c in &causes[&seq] {
            flatten(c, depth + 1, causes, out);
        }
    }
    let mut rebuilt = Vec::new();
    flatten(91, 0, &causes, &mut rebuilt);
    let shown: Vec<(u64, u64)> = tree.iter().map(|(d, s, _)| (*d, *s)).collect();
    assert_eq!(shown, rebuilt);
    // Text: a tree.
    let text = tape(dir.path(), &["explain", path, "91"]);
    assert!(text
        .stdout
        .lines()
        .nth(1)
        .expect("a cause")
        .starts_with("├─ #82 "));
    // A seq past the end is a clear error.
    let missing = tape(dir.path(), &["explain", path, "999999"]);
    missing.expect_code(2);
    assert!(
        missing.stderr.contains("no event #999999"),
        "{}",
        missing.stderr
    );
}

#[test]
fn diff_finds_the_first_difference_counts_and_the_equity_gap_of_a_parameter_change() {
    let dir = scratch();
    let a = run_small(dir.path(), "a.tape");
    let changed = tape_tests::SMALL_SCENARIO.replace("fast = 5", "fast = 7");
    std::fs::write(dir.path().join("b.toml"), changed).expect("write");
    tape(dir.path(), &["run", "b.toml", "--out", "b.tape"]).expect_code(0);
    let (a, b) = (a.to_str().expect("utf-8").to_string(), "b.tape".to_string());

    let same = tape(dir.path(), &["diff", &a, &a]);
    same.expect_code(0);
    assert!(
        same.stdout.contains("every event is the same"),
        "{}",
        same.stdout
    );

    let run = tape(dir.path(), &["diff", &a, &b, "--json"]);
    run.expect_code(1);
    let report = run.json();
    assert_eq!(
        report["config_changes"],
        serde_json::json!(["- [strategy] fast = 5", "+ [strategy] fast = 7"])
    );
    // The first difference, found here from `tape show` of both (after run_started, whose
    // configuration digest differs by construction).
    let lines = |file: &str| -> Vec<serde_json::Value> {
        tape(dir.path(), &["show", file, "--json"])
            .stdout
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON"))
            .collect()
    };
    let (la, lb) = (lines(&a), lines(&b));
    let first = (1..la.len().max(lb.len()))
        .find(|&i| la.get(i) != lb.get(i))
        .expect("they differ");
    assert_eq!(report["first_difference"]["seq"], first as u64);
    // Counts per kind, and the final equity gap, from the events themselves.
    for kind in ["signal", "fill", "order_submitted", "bar"] {
        let n = |l: &[serde_json::Value]| l.iter().filter(|e| e["kind"] == kind).count() as u64;
        assert_eq!(report["counts"][kind]["a"], n(&la), "{kind}");
        assert_eq!(report["counts"][kind]["b"], n(&lb), "{kind}");
    }
    let final_equity = |l: &[serde_json::Value]| {
        l.iter()
            .rev()
            .find(|e| e["kind"] == "portfolio_snapshot")
            .map(|e| e["equity"].as_f64().expect("equity"))
            .expect("a snapshot")
    };
    let last = report["equity"]
        .as_array()
        .expect("points")
        .last()
        .expect("a point")
        .clone();
    let gap = last["b_minus_a"].as_f64().expect("a gap");
    assert!(
        (gap - (final_equity(&lb) - final_equity(&la))).abs() < 1e-6,
        "{last}"
    );
}

#[test]
fn audit_shows_a_bar_s_chains_the_strategy_state_and_the_portfolio() {
    let golden = workspace_root().join("tests/golden/small-v1.tape");
    let path = golden.to_str().expect("utf-8");
    let dir = scratch();
    let run = tape(
        dir.path(),
        &[
            "audit",
            path,
            "--at",
            "2020-01-28",
            "--symbol",
            "SYN0",
            "--json",
        ],
    );
    run.expect_code(0);
    let report = run.json();
    assert_eq!(report["at"], "2020-01-28T21:00:00Z");
    // One chain: the bar, the signal it led to, the target, the order.
    let chain: Vec<(u64, String)> = report["chains"][0]
        .as_array()
        .expect("a chain")
        .iter()
        .map(|e| {
            (
                e["seq"].as_u64().expect("seq"),
                e["kind"].as_str().expect("kind").to_string(),
            )
        })
        .collect();
    let expected: Vec<(u64, String)> = [
        (77, "bar"),
        (80, "signal"),
        (81, "target"),
        (82, "order_submitted"),
    ]
    .iter()
    .map(|&(s, k)| (s, k.to_string()))
    .collect();
    assert_eq!(chain, expected);
    // The strategy's state, re-executed to that close, is what the signal recorded.
    let signal = &report["chains"][0][1]["reason"];
    assert_eq!(
        report["strategy"]["SYN0"]["fast_sma"],
        signal["fast_sma"]
            .as_f64()
            .map(|v| v.to_string())
            .expect("a number")
    );
    assert_eq!(report["strategy"]["SYN0"]["direction"], "long");
    // Nothing filled yet: all cash.
    assert_eq!(report["portfolio"]["cash"].as_f64(), Some(9000.0));
    let bad = tape(dir.path(), &["audit", path, "--at", "yesterday"]);
    bad.expect_code(2);
}

#[test]
fn replay_until_inspects_the_state_audit_shows_and_a_later_time_moves_it() {
    let golden = workspace_root().join("tests/golden/small-v1.tape");
    let path = golden.to_str().expect("utf-8");
    let dir = scratch();
    let state = |args: &[&str]| tape(dir.path(), args).json();
    let replayed = state(&[
        "replay",
        path,
        "--until",
        "2020-01-28",
        "--inspect",
        "--symbol",
        "SYN0",
        "--json",
    ]);
    let audited = state(&[
        "audit",
        path,
        "--at",
        "2020-01-28",
        "--symbol",
        "SYN0",
        "--json",
    ]);
    assert_eq!(replayed["at"], "2020-01-28T21:00:00Z");
    assert_eq!(replayed["strategy"], audited["strategy"]);
    assert_eq!(replayed["portfolio"], audited["portfolio"]);
    // A day later the order has filled: a position of 100, and less cash.
    let later = state(&[
        "replay",
        path,
        "--until",
        "2020-01-29",
        "--inspect",
        "--symbol",
        "SYN0",
        "--json",
    ]);
    assert_eq!(later["positions"]["SYN0"].as_f64(), Some(100.0));
    assert!(later["portfolio"]["cash"].as_f64().expect("cash") < 9000.0);
    // --until without --inspect is a usage error.
    tape(dir.path(), &["replay", path, "--until", "2020-01-28"]).expect_code(2);
}

#[test]
fn replay_out_writes_the_rederived_ledger_only_when_it_matches() {
    let dir = scratch();
    let ledger = run_small(dir.path(), "small.tape");
    let arg = ledger.to_str().expect("utf-8");
    tape(dir.path(), &["replay", arg, "--out", "again.tape"]).expect_code(0);
    assert_eq!(
        std::fs::read(&ledger).expect("read"),
        std::fs::read(dir.path().join("again.tape")).expect("written"),
        "the re-derived ledger is the recorded one, byte for byte"
    );
    // An existing file is not replaced without --force.
    let again = tape(dir.path(), &["replay", arg, "--out", "again.tape"]);
    again.expect_code(2);
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    // A ledger that diverges leaves nothing behind.
    let edited = dir.path().join("edited.tape");
    tamper_with_first_fill(&ledger, &edited);
    let edited_arg = edited.to_str().expect("utf-8");
    tape(
        dir.path(),
        &["replay", edited_arg, "--out", "diverged.tape"],
    )
    .expect_code(1);
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .expect("listed")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("diverged"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_second_run_on_a_ledger_being_written_is_refused_with_or_without_force() {
    use std::io::{BufRead, BufReader};
    let dir = scratch();
    // A real first writer, long enough (seconds) to outlast the checks: `bench`, known to be
    // mid-run once its first durable report arrives.
    let mut first = std::process::Command::new(tape_tests::tape_bin())
        .args(["run", "bench", "--out", "x.tape", "--fsync", "block"])
        .args(["--durable-log", "/dev/stderr"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("tape starts");
    let mut lines = BufReader::new(first.stderr.take().expect("piped")).lines();
    let report = lines.next().expect("one report").expect("a line");
    assert!(report.parse::<u64>().is_ok(), "{report}");
    let small = small_toml(dir.path());
    let small = small.to_str().expect("utf-8");
    for force in [false, true] {
        let mut args = vec!["run", small, "--out", "x.tape"];
        if force {
            args.push("--force");
        }
        let second = tape(dir.path(), &args);
        second.expect_code(2);
        assert!(
            second
                .stderr
                .contains("x.tape is being written by another process"),
            "{}",
            second.stderr
        );
        assert_eq!(second.stderr.trim().lines().count(), 1, "{}", second.stderr);
    }
    // Repair in place would cut the live run's tail: refused.
    let repair = tape(dir.path(), &["repair", "x.tape"]);
    repair.expect_code(2);
    assert!(
        repair
            .stderr
            .contains("x.tape is being written by another process"),
        "{}",
        repair.stderr
    );
    // Reading it shows what is whole and durable so far, as a run still going, not as damage.
    let reported: u64 = report.parse().expect("a size");
    let verify = tape(dir.path(), &["verify", "x.tape", "--json"]);
    verify.expect_code(1);
    let v = verify.json();
    assert_eq!(v["being_written"], true, "{v}");
    assert!(v["events"].as_u64().is_some_and(|n| n > 0), "{v}");
    let durable = v["durable_bytes"].as_u64().expect("a durable mark");
    assert!(
        durable >= reported,
        "{durable} < the {reported} bytes reported durable"
    );
    assert!(v["sealed_through"].as_u64() <= v["offset"].as_u64(), "{v}");
    assert!(
        verify.stderr.contains("x.tape is still being written")
            && verify
                .stderr
                .contains("verify it again once its run has finished"),
        "{}",
        verify.stderr
    );
    assert_eq!(verify.stderr.trim().lines().count(), 1, "{}", verify.stderr);
    // Killed, the writer's lock goes with it: the cut-off file now reads as a torn tail, and
    // no stale lock stops the next run.
    let _ = first.kill();
    let _ = first.wait();
    let verify = tape(dir.path(), &["verify", "x.tape"]);
    verify.expect_code(1);
    assert!(
        verify.stderr.contains("torn tail") && !verify.stderr.contains("is still being written:"),
        "{}",
        verify.stderr
    );
    tape(dir.path(), &["run", small, "--out", "x.tape", "--force"]).expect_code(0);
}

#[test]
fn an_out_path_that_is_a_directory_under_a_file_or_unwritable_gets_one_sentence() {
    let dir = scratch();
    let small = small_toml(dir.path());
    let small = small.to_str().expect("utf-8");
    std::fs::create_dir(dir.path().join("sub")).expect("temp dir is writable");
    std::fs::write(dir.path().join("file.txt"), "x").expect("temp dir is writable");
    let cases: [(&[&str], &str); 4] = [
        (&["--out", "sub"], "sub: it is a directory"),
        (&["--out", "sub", "--force"], "sub: it is a directory"),
        (
            &["--out", "file.txt/x.tape"],
            "file.txt/x.tape: its directory does not exist or a part of it is a file",
        ),
        (
            &["--out", "missing/x.tape"],
            "missing/x.tape: its directory does not exist",
        ),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["run", small];
        args.extend_from_slice(extra);
        let run = tape(dir.path(), &args);
        run.expect_code(2);
        assert!(run.stderr.contains(expected), "{extra:?}: {}", run.stderr);
        assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    }
    assert!(std::fs::read(dir.path().join("file.txt")).expect("kept") == b"x");

    // A read-only directory stops the run, unless permissions do not apply (root).
    use std::os::unix::fs::PermissionsExt;
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).expect("temp dir is writable");
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    let probe = std::fs::write(ro.join("probe"), "x").is_ok();
    if probe {
        eprintln!("permissions do not stop writes here (root): the read-only case is skipped");
    } else {
        let run = tape(dir.path(), &["run", small, "--out", "ro/x.tape"]);
        run.expect_code(2);
        assert!(
            run.stderr.contains("cannot create ledger ro/x.tape")
                && run.stderr.contains("Permission denied"),
            "{}",
            run.stderr
        );
    }
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// A full disk, for real: a 256 KiB tmpfs mounted in a private mount namespace (`unshare`, no
/// privileges needed where user namespaces are allowed). The run stops with one sentence
/// naming the ledger and what to do; what it wrote is a prefix of the uninterrupted ledger; a
/// repair in place that cannot write either is refused the same way and loses nothing; and
/// the file repairs once there is room.
#[test]
fn a_full_disk_stops_the_run_with_one_sentence_and_loses_nothing_written() {
    let dir = scratch();
    let full = dir.path().join("full");
    let out = dir.path().join("out");
    std::fs::create_dir(&full).expect("temp dir is writable");
    std::fs::create_dir(&out).expect("temp dir is writable");
    let script = r#"
        mount -t tmpfs -o size=256k tmpfs "$FULL" || exit 97
        cd "$FULL" || exit 97
        "$TAPE" run --out x.tape 2>"$OUT/run.err"; echo $? >"$OUT/run.code"
        cp x.tape "$OUT/after-run.tape"
        "$TAPE" repair x.tape 2>"$OUT/repair.err"; echo $? >"$OUT/repair.code"
        cp x.tape "$OUT/after-repair.tape"
    "#;
    let status = std::process::Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", script])
        .env("FULL", &full)
        .env("OUT", &out)
        .env("TAPE", tape_tests::tape_bin())
        .status();
    match status.map(|s| s.code()) {
        Ok(Some(0)) => {}
        Ok(Some(97)) | Err(_) => {
            eprintln!(
                "no private tmpfs can be mounted here (unshare): the full-disk case is skipped"
            );
            return;
        }
        other => panic!("the full-disk script failed: {other:?}"),
    }
    let read = |name: &str| std::fs::read_to_string(out.join(name)).expect("the script wrote it");
    assert_eq!(read("run.code").trim(), "2");
    let err = read("run.err");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("writing ledger x.tape failed after byte")
            && err.contains("No space left on device")
            && err.contains("tape repair x.tape"),
        "{err}"
    );
    assert_eq!(read("repair.code").trim(), "2");
    let err = read("repair.err");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("x.tape") && err.contains("free space"),
        "{err}"
    );

    tape(dir.path(), &["run", "--out", "ref.tape"]).expect_code(0);
    let reference = std::fs::read(dir.path().join("ref.tape")).expect("written");
    let after_run = std::fs::read(out.join("after-run.tape")).expect("copied");
    assert!(after_run.len() > 100_000, "the disk filled, not the header");
    assert!(
        reference.starts_with(&after_run),
        "the stopped run wrote a prefix of the ledger"
    );
    // The failed repair cut where the torn tail began and may have appended part of its
    // closing frames: every whole frame before the tail is still there, byte for byte, and
    // the file still reads as the same torn tail.
    let torn_at = |name: &str| -> usize {
        let verify = tape(&out, &["verify", name]);
        verify.expect_code(1);
        let rest = verify
            .stderr
            .split("torn tail at byte ")
            .nth(1)
            .unwrap_or_else(|| panic!("{name}: {}", verify.stderr));
        rest.split(':')
            .next()
            .and_then(|n| n.parse().ok())
            .expect("an offset")
    };
    let cut = torn_at("after-run.tape");
    assert_eq!(torn_at("after-repair.tape"), cut);
    let after_repair = std::fs::read(out.join("after-repair.tape")).expect("copied");
    assert!(after_repair[..cut] == after_run[..cut]);
    tape(
        &out,
        &["repair", "after-repair.tape", "--out", "fixed.tape"],
    )
    .expect_code(0);
    tape(&out, &["verify", "fixed.tape"]).expect_code(0);
}
