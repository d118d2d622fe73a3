//! The Dow-30 trend system, end to end on its built-in scenario: what its ledger must show
//! for the invariants that only a whole run exercises (exits at market, tiered limits on the
//! tick grid, orders tagged with their week, stale orders cancelled by week id, warm-up).

use std::collections::BTreeMap;

use tape_engine::event::{EventBody, OrderType};
use tape_engine::ledger::LedgerReader;
use tape_strategies::trend::{CACHED, COMPOSITE, EXIT, ORDER, STALE_WEEK, TARGET};
use tape_tests::{scratch, tape};

struct Run {
    events: Vec<tape_engine::event::Event>,
}

fn run_builtin() -> Run {
    let dir = scratch();
    tape(dir.path(), &["run", "dow30-trend", "--out", "t.tape"]).expect_code(0);
    let mut reader = LedgerReader::open(&dir.path().join("t.tape")).expect("opens");
    let mut events = Vec::new();
    while let Some(frame) = reader.next_event().expect("reads") {
        events.push(frame.decode().expect("decodes"));
    }
    Run { events }
}

#[test]
fn the_built_in_run_keeps_every_execution_invariant() {
    let run = run_builtin();
    let mut cycles: BTreeMap<u64, u32> = BTreeMap::new();
    let (mut limits, mut exits, mut stale) = (0, 0, 0);
    for e in &run.events {
        match &e.body {
            EventBody::OrderSubmitted(o) if o.reason.rule == EXIT.id => {
                exits += 1;
                assert_eq!(
                    o.order_type,
                    OrderType::Market,
                    "exits are market orders: {e:?}"
                );
            }
            EventBody::OrderSubmitted(o) if o.reason.rule == ORDER.id => {
                limits += 1;
                let v = o.reason.raw_values();
                let (tier, strength, week) = (v[0], f64::from_bits(v[1] as u64), v[2]);
                assert_eq!(o.order_type, OrderType::Limit);
                // On the 0.01 grid: raw prices are in units of 1e-8.
                let limit = o.limit_price.expect("a limit order has a limit");
                assert_eq!(limit.raw() % 1_000_000, 0, "{e:?}");
                let expected_tier = if strength.abs() >= 0.70 {
                    0
                } else if strength.abs() >= 0.30 {
                    1
                } else {
                    2
                };
                assert_eq!(tier, expected_tier, "{e:?}");
                assert_eq!(o.cycle.map(i64::from), Some(week), "tagged with its week");
            }
            EventBody::OrderSubmitted(o) => panic!("an order without the system's tag: {o:?}"),
            _ => {}
        }
        if let EventBody::OrderSubmitted(o) = &e.body {
            cycles.insert(o.order.0, o.cycle.expect("every order has a week id"));
        }
        if let EventBody::OrderCancelled(c) = &e.body {
            if c.reason.rule == STALE_WEEK.id {
                stale += 1;
                let week = c.reason.raw_values()[0] as u32;
                assert!(cycles[&c.order.0] < week, "only earlier weeks: {e:?}");
            }
        }
    }
    assert!(
        limits > 1_000 && exits > 50 && stale > 5,
        "{limits} {exits} {stale}"
    );
}

#[test]
fn signals_start_after_the_warm_up_and_are_recalculated_every_fifth_day() {
    let run = run_builtin();
    // Trading days by their time, in order.
    let mut days: Vec<i64> = run
        .events
        .iter()
        .filter(|e| matches!(e.body, EventBody::PortfolioSnapshot(_)))
        .map(|e| e.ts.0)
        .collect();
    days.dedup();
    let day_index: BTreeMap<i64, usize> = days.iter().enumerate().map(|(i, d)| (*d, i)).collect();
    let mut recalculated = std::collections::BTreeSet::new();
    let mut cached = std::collections::BTreeSet::new();
    for e in &run.events {
        if let EventBody::Signal(s) = &e.body {
            let d = day_index[&e.ts.0];
            assert!(d >= 251, "no signal before the 252nd bar: day {d}");
            if s.reason.rule == COMPOSITE.id {
                recalculated.insert(d);
            } else {
                assert_eq!(s.reason.rule, CACHED.id);
                cached.insert(d);
            }
        }
        if let EventBody::Target(t) = &e.body {
            assert_eq!(t.reason.rule, TARGET.id);
        }
    }
    assert!(
        recalculated.iter().all(|d| (d - 251) % 5 == 0),
        "{recalculated:?}"
    );
    assert!(cached.iter().all(|d| (d - 251) % 5 != 0));
    assert!(recalculated.len() > 90 && cached.len() > 300);
}

/// The column lists the system's users rely on, written out here independently of the code
/// that writes them: a renamed, dropped or reordered column fails this test.
const CONTRACT: [(&str, &str); 7] = [
    (
        "daily_snapshots.csv",
        "date,ts,equity,cash,gross_exposure,net_exposure,long_exposure,short_exposure,realised_pnl,unrealised_pnl,fees,open_positions,daily_return,drawdown,turnover,benchmark_close",
    ),
    ("positions.csv", "date,symbol,quantity,close,market_value,weight"),
    (
        "signals.csv",
        "date,seq,symbol,kind,direction,strength,composite,score_short,score_medium,score_long,atr,close,week_id,days_since",
    ),
    (
        "slippage.csv",
        "date,ts,seq,order,symbol,side,quantity,price,expected_price,slippage,slippage_bps,fee,tag",
    ),
    (
        "trades.csv",
        "symbol,side,opened,closed,fills,quantity,entry_price,exit_price,pnl,holding_days",
    ),
    (
        "targets.csv",
        "date,seq,symbol,target_position,weight,raw_weight,vol_scale,bound,week_id,scale_day,step,expected_price",
    ),
    (
        "order_events.csv",
        "date,ts,seq,event,order,symbol,side,order_type,quantity,limit_price,stop_price,fill_price,remaining,tag,reason",
    ),
];

/// Exact decimal text → an integer count of 1e-8 units (every value here has ≤ 8 decimals).
fn units(text: &str) -> i128 {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    assert!(frac.len() <= 8, "{text}");
    let v = int.parse::<i128>().expect("integer part") * 100_000_000
        + format!("{frac:0<8}").parse::<i128>().expect("fraction");
    if neg {
        -v
    } else {
        v
    }
}

fn read_csv(dir: &std::path::Path, file: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(dir.join(file)).expect("written");
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .expect("a header")
        .split(',')
        .map(str::to_string)
        .collect();
    // Quoted fields (reasons) hold no commas in these columns but `reason`; split naively
    // and only for files whose rows have no quoted field.
    let rows = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    (header, rows)
}

fn write_outputs() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = scratch();
    tape(dir.path(), &["run", "dow30-trend", "--out", "t.tape"]).expect_code(0);
    let out = dir.path().join("csv");
    std::fs::create_dir(&out).expect("created");
    tape_replay::trend_outputs::write(&dir.path().join("t.tape"), &out).expect("written");
    (dir, out)
}

#[test]
fn the_seven_files_keep_their_columns() {
    let (_dir, out) = write_outputs();
    for (file, columns) in CONTRACT {
        let text = std::fs::read_to_string(out.join(file)).expect("written");
        assert_eq!(text.lines().next(), Some(columns), "{file}");
        assert!(text.lines().count() > 1, "{file} has rows");
    }
    // Nothing else is left in the directory (no partial files).
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .expect("listed")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected: Vec<String> = CONTRACT.iter().map(|(f, _)| f.to_string()).collect();
    expected.sort();
    assert_eq!(names, expected);
}

/// Rebuilds cash and positions from the fills in slippage.csv alone and checks every row of
/// daily_snapshots.csv and positions.csv against them, to the last decimal.
#[test]
fn every_daily_row_reconciles_with_the_fills() {
    let (_dir, out) = write_outputs();
    let (fh, fills) = read_csv(&out, "slippage.csv");
    let col = |h: &[String], name: &str| h.iter().position(|c| c == name).expect(name);
    let (f_date, f_sym, f_side, f_qty, f_px, f_fee) = (
        col(&fh, "date"),
        col(&fh, "symbol"),
        col(&fh, "side"),
        col(&fh, "quantity"),
        col(&fh, "price"),
        col(&fh, "fee"),
    );
    let (sh, snaps) = read_csv(&out, "daily_snapshots.csv");
    let (s_date, s_cash, s_equity) = (col(&sh, "date"), col(&sh, "cash"), col(&sh, "equity"));
    let (ph, held) = read_csv(&out, "positions.csv");
    let (p_date, p_sym, p_qty, p_value) = (
        col(&ph, "date"),
        col(&ph, "symbol"),
        col(&ph, "quantity"),
        col(&ph, "market_value"),
    );
    // Money in units of 1e-8 as well; cash starts at the scenario's 100,000.
    let mut cash: i128 = 100_000 * 100_000_000;
    let mut positions: BTreeMap<String, i128> = BTreeMap::new();
    let mut next_fill = 0;
    for snap in &snaps {
        let date = &snap[s_date];
        while next_fill < fills.len() && fills[next_fill][f_date] <= *date {
            let f = &fills[next_fill];
            let qty = units(&f[f_qty]);
            // Notional rounded half away from zero to the money step (1e-6 = 100 units).
            let exact = units(&f[f_px]) * qty;
            let step = 100_000_000i128 * 100;
            let notional = (exact + step / 2).div_euclid(step) * 100;
            let signed = if f[f_side] == "buy" { qty } else { -qty };
            cash += if signed > 0 { -notional } else { notional };
            cash -= units(&f[f_fee]);
            *positions.entry(f[f_sym].clone()).or_insert(0) += signed;
            next_fill += 1;
        }
        assert_eq!(cash, units(&snap[s_cash]), "cash on {date}");
        let rows: Vec<&Vec<String>> = held.iter().filter(|r| r[p_date] == *date).collect();
        let open: BTreeMap<String, i128> = positions
            .iter()
            .filter(|(_, q)| **q != 0)
            .map(|(s, q)| (s.clone(), *q))
            .collect();
        let listed: BTreeMap<String, i128> = rows
            .iter()
            .map(|r| (r[p_sym].clone(), units(&r[p_qty])))
            .collect();
        assert_eq!(listed, open, "positions on {date}");
        let marked: i128 = rows.iter().map(|r| units(&r[p_value])).sum();
        assert_eq!(cash + marked, units(&snap[s_equity]), "equity on {date}");
    }
    assert_eq!(
        next_fill,
        fills.len(),
        "every fill is before the last snapshot"
    );
}

#[test]
fn the_outputs_are_the_same_bytes_every_time() {
    let (dir, out) = write_outputs();
    let again = dir.path().join("again");
    std::fs::create_dir(&again).expect("created");
    tape_replay::trend_outputs::write(&dir.path().join("t.tape"), &again).expect("written");
    for (file, _) in CONTRACT {
        assert_eq!(
            std::fs::read(out.join(file)).expect("read"),
            std::fs::read(again.join(file)).expect("read"),
            "{file}"
        );
    }
}

/// The same system on users' files: the shipped real prices (CSV), with IBM as the watched
/// benchmark. Each traded name needs its own 252 bars, so FB (196 rows) never signals.
#[test]
fn the_system_runs_on_csv_data_with_a_benchmark_from_the_files() {
    let dir = scratch();
    let scenario = r#"name = "trend-on-stocks"
seed = 0

[market]
kind = "csv"
files = ["builtin:stocks.csv.gz"]
symbol_column = "Ticker"
time_column = "Date"
close_time = "21:00"
adjust = true
days = "weekdays"

[market.guard]
absurd_return = "warn"
split = "warn"

[account]
cash = 100000.0

[strategy]
kind = "trend"
benchmark = "IBM"
"#;
    std::fs::write(dir.path().join("s.toml"), scenario).expect("written");
    tape(dir.path(), &["run", "s.toml", "--out", "s.tape"]).expect_code(0);
    let mut reader = LedgerReader::open(&dir.path().join("s.tape")).expect("opens");
    let symbols = reader.header().symbols.clone();
    let (mut signals, mut orders) = (BTreeMap::<String, u64>::new(), 0u64);
    while let Some(frame) = reader.next_event().expect("reads") {
        match frame.decode().expect("decodes").body {
            EventBody::Signal(s) => {
                *signals
                    .entry(symbols[s.symbol.0 as usize].clone())
                    .or_insert(0) += 1;
            }
            EventBody::OrderSubmitted(o) => {
                assert_ne!(
                    symbols[o.symbol.0 as usize], "IBM",
                    "the benchmark is never traded"
                );
                orders += 1;
            }
            _ => {}
        }
    }
    assert!(
        !signals.contains_key("IBM") && !signals.contains_key("FB"),
        "{signals:?}"
    );
    assert!(signals.len() == 3 && orders > 100, "{signals:?} {orders}");
    tape(dir.path(), &["metrics", "s.tape"]).expect_code(0);
}

/// `tape export --format trend-csv` writes the same files from the ledger and from its replay,
/// and refuses to overwrite them.
#[test]
fn the_cli_writes_the_same_files_from_a_ledger_and_from_its_replay() {
    let dir = scratch();
    tape(dir.path(), &["run", "dow30-trend", "--out", "t.tape"]).expect_code(0);
    tape(dir.path(), &["replay", "t.tape", "--out", "r.tape"]).expect_code(0);
    for (ledger, out) in [("t.tape", "a"), ("r.tape", "b")] {
        let run = tape(
            dir.path(),
            &[
                "export",
                ledger,
                "--format",
                "trend-csv",
                "--out",
                out,
                "--json",
            ],
        );
        let v = run.expect_code(0).json();
        assert_eq!(v["files"].as_array().map(Vec::len), Some(7));
    }
    for (file, _) in CONTRACT {
        assert_eq!(
            std::fs::read(dir.path().join("a").join(file)).expect("read"),
            std::fs::read(dir.path().join("b").join(file)).expect("read"),
            "{file}"
        );
    }
    let again = tape(
        dir.path(),
        &["export", "t.tape", "--format", "trend-csv", "--out", "a"],
    );
    again.expect_code(2);
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    tape(
        dir.path(),
        &[
            "export",
            "t.tape",
            "--format",
            "trend-csv",
            "--out",
            "a",
            "--force",
        ],
    )
    .expect_code(0);
}
