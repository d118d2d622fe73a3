//! `tape metrics`: figures checked against hand computations on a hand-written ledger, against
//! what the core itself recorded on built-in runs, and the accounting check catching a
//! snapshot that disagrees with the fills.

use std::path::{Path, PathBuf};

use tape_engine::event::{
    Bar, Causes, Event, EventBody, OrderFilled, OrderId, PortfolioSnapshot, RunStarted, Seq, Side,
    SymbolId,
};
use tape_engine::fixed::{Money, Price, Quantity};
use tape_engine::ledger::frame::encode_event;
use tape_engine::ledger::{FsyncPolicy, LedgerReader, LedgerWriter};
use tape_engine::time::{Ts, NANOS_PER_DAY};
use tape_tests::{scratch, tape};

fn px(units: i64) -> Price {
    Price::from_raw(units * 100_000_000).expect("positive")
}

fn qty(units: i64) -> Quantity {
    Quantity::from_units(units).expect("fits")
}

fn cash(cents: i64) -> Money {
    Money::from_raw(cents * 10_000)
}

/// Monday 2024-01-01 + `d` days, at 21:00 UTC.
fn day(d: i64) -> Ts {
    Ts(Ts::from_date(2024, 1, 1).0 + d * NANOS_PER_DAY + 21 * 3_600_000_000_000)
}

/// A ledger with the header of a real run and these events, every checksum valid.
fn write_ledger(dir: &Path, name: &str, bodies: &[(Ts, EventBody)]) -> PathBuf {
    let source = dir.join("source.tape");
    tape(
        dir,
        &["run", "--out", source.to_str().expect("utf-8"), "--json"],
    )
    .expect_code(0);
    let header = LedgerReader::open(&source).expect("opens").header().clone();
    let mut frames = Vec::new();
    for (i, (ts, body)) in bodies.iter().enumerate() {
        let event = Event {
            seq: Seq(i as u64),
            ts: *ts,
            causes: Causes::NONE,
            body: body.clone(),
        };
        encode_event(&event, header.salt, &mut frames);
    }
    let path = dir.join(name);
    let mut writer =
        LedgerWriter::create(&path, &header, FsyncPolicy::Never, false).expect("creates");
    let rest = writer.submit(frames).expect("accepts");
    writer.finish(rest).expect("finishes");
    path
}

fn bar(close: i64) -> EventBody {
    EventBody::Bar(Bar {
        symbol: SymbolId(0),
        open: px(close),
        high: px(close + 1),
        low: px(close - 1),
        close: px(close),
        volume: qty(1_000),
    })
}

fn fill(side: Side, quantity: i64, price: i64, fee_cents: i64, slip_cents: i64) -> EventBody {
    EventBody::OrderFilled(OrderFilled {
        order: OrderId(0),
        symbol: SymbolId(0),
        side,
        quantity: qty(quantity),
        price: px(price),
        expected_price: px(price),
        fee: cash(fee_cents),
        slippage: cash(slip_cents),
        remaining: Quantity::ZERO,
    })
}

/// A snapshot with the given cash and net exposure (in cents); the rest follows from them.
fn snapshot(cash_cents: i64, net_cents: i64) -> EventBody {
    EventBody::PortfolioSnapshot(PortfolioSnapshot {
        cash: cash(cash_cents),
        equity: cash(cash_cents + net_cents),
        gross_exposure: cash(net_cents.abs()),
        net_exposure: cash(net_cents),
        realised_pnl: Money::ZERO,
        unrealised_pnl: Money::ZERO,
        fees: Money::ZERO,
        open_positions: u32::from(net_cents != 0),
    })
}

/// Five days by hand, from 1,000.00 of cash:
/// day 0: no trade, equity 1000;
/// day 1: buy 10 @ 10 (fee 1), close 11: cash 899, equity 1009;
/// day 2: sell 10 @ 12 (fee 1): cash 1018, flat — a long round trip of +18;
/// day 3: sell 5 @ 12 (no fee), close 14: cash 1078, net −70, equity 1008;
/// day 4: buy 5 @ 14: cash 1008, flat — a short round trip of −10.
fn hand_events(day3_cash_cents: i64) -> Vec<(Ts, EventBody)> {
    vec![
        (
            day(0),
            EventBody::RunStarted(RunStarted {
                config_digest: [0; 32],
                initial_cash: cash(100_000),
                symbols: 1,
            }),
        ),
        (day(0), bar(10)),
        (day(0), snapshot(100_000, 0)),
        (day(1), bar(11)),
        (day(1), fill(Side::Buy, 10, 10, 100, 50)),
        (day(1), snapshot(89_900, 11_000)),
        (day(2), bar(12)),
        (day(2), fill(Side::Sell, 10, 12, 100, 25)),
        (day(2), snapshot(101_800, 0)),
        (day(3), bar(14)),
        (day(3), fill(Side::Sell, 5, 12, 0, -10)),
        (day(3), snapshot(day3_cash_cents, -7_000)),
        (day(4), bar(14)),
        (day(4), fill(Side::Buy, 5, 14, 0, 0)),
        (day(4), snapshot(100_800, 0)),
    ]
}

fn close(actual: &serde_json::Value, expected: f64) {
    let a = actual.as_f64().unwrap_or(f64::NAN);
    assert!(
        (a - expected).abs() <= 1e-12 * expected.abs().max(1.0),
        "{a} != {expected}"
    );
}

#[test]
fn figures_of_a_hand_written_ledger_match_the_hand_computation() {
    let dir = scratch();
    let ledger = write_ledger(dir.path(), "hand.tape", &hand_events(107_800));
    let run = tape(
        dir.path(),
        &[
            "metrics",
            ledger.to_str().expect("utf-8"),
            "--json",
            "--trades",
        ],
    );
    let m = run.expect_code(0).json();
    let equity = [1000.0, 1009.0, 1018.0, 1008.0, 1008.0];
    let daily = &m["daily"];
    for (i, e) in equity.iter().enumerate() {
        close(&daily["equity"][i], *e);
    }
    let returns = [
        0.0,
        0.009,
        1018.0 / 1009.0 - 1.0,
        1008.0 / 1018.0 - 1.0,
        0.0,
    ];
    for (i, r) in returns.iter().enumerate() {
        close(&daily["return"][i], *r);
    }
    assert_eq!(daily["date"][0], "2024-01-01");
    close(&m["total_return"], 0.008);
    // Five weekday returns: (1.008)^(252/5) − 1, by Python.
    close(&m["cagr"], 0.4942071777938648);
    close(&m["max_drawdown"], 10.0 / 1018.0);
    assert_eq!(m["max_drawdown_peak"], "2024-01-03");
    assert_eq!(m["max_drawdown_trough"], "2024-01-04");
    assert_eq!(m["max_drawdown_recovered"], serde_json::Value::Null);
    assert_eq!(m["max_drawdown_days"], 2);
    // Turnover: notional traded over the previous day's equity.
    let turnover = [
        0.0,
        100.0 / 1000.0,
        120.0 / 1009.0,
        60.0 / 1018.0,
        70.0 / 1008.0,
    ];
    for (i, t) in turnover.iter().enumerate() {
        close(&daily["turnover"][i], *t);
    }
    close(&m["turnover_total"], turnover.iter().sum());
    close(&m["traded_total"], 350.0);
    close(&m["slippage_total"], 0.5 + 0.25 - 0.1);
    close(&m["fees_total"], 2.0);
    close(&daily["short"][3], 70.0 / 1008.0);
    close(&daily["long"][1], 110.0 / 1009.0);
    close(&daily["net"][3], -70.0 / 1008.0);
    assert_eq!(m["trades"], 2);
    close(&m["hit_rate"], 0.5);
    close(&m["profit_factor"], 18.0 / 10.0);
    let trips = m["round_trips"].as_array().expect("listed");
    assert_eq!(trips[0]["side"], "long");
    close(&trips[0]["pnl"], 18.0);
    close(&trips[0]["entry_price"], 10.0);
    close(&trips[0]["exit_price"], 12.0);
    assert_eq!(trips[1]["side"], "short");
    close(&trips[1]["pnl"], -10.0);
    assert_eq!(m["events"]["fill"], 4);
    assert_eq!(m["snapshots_checked"], 5);
    assert_eq!(m["conventions"]["periods_per_year"], 252.0);
}

#[test]
fn a_snapshot_that_disagrees_with_the_fills_is_an_error_not_figures() {
    let dir = scratch();
    // Day 3's cash off by one cent.
    let ledger = write_ledger(dir.path(), "off.tape", &hand_events(107_801));
    let run = tape(dir.path(), &["metrics", ledger.to_str().expect("utf-8")]);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("event #11 (portfolio_snapshot): recorded cash 1078.010000")
            && run.stderr.contains("give 1078.000000"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "no figures: {}", run.stdout);
}

/// What the core recorded in `run_finished` (its own peak and drawdown, kept at every slice)
/// agrees with the figures rebuilt from the snapshots.
#[test]
fn built_in_runs_agree_with_what_the_core_recorded() {
    let dir = scratch();
    for scenario in ["default", "crash", "stocks"] {
        let out = format!("{scenario}.tape");
        tape(dir.path(), &["run", scenario, "--out", &out]).expect_code(0);
        let ledger = dir.path().join(&out);
        let mut reader = LedgerReader::open(&ledger).expect("opens");
        let mut finished = None;
        let mut fills = 0u64;
        let mut initial = None;
        while let Some(frame) = reader.next_event().expect("reads") {
            match frame.decode().expect("decodes").body {
                EventBody::RunFinished(f) => finished = Some(f),
                EventBody::RunStarted(s) => initial = Some(s.initial_cash.to_f64()),
                EventBody::OrderFilled(_) => fills += 1,
                _ => {}
            }
        }
        let finished = finished.expect("complete run");
        let initial = initial.expect("started");
        let m = tape(dir.path(), &["metrics", &out, "--json"])
            .expect_code(0)
            .json();
        close(&m["max_drawdown"], finished.max_drawdown);
        close(&m["final_equity"], finished.final_equity.to_f64());
        close(
            &m["total_return"],
            finished.final_equity.to_f64() / initial - 1.0,
        );
        assert_eq!(m["events"]["fill"], fills, "{scenario}");
        assert_eq!(m["complete"], true);
        let days = m["days"].as_u64().expect("count") as usize;
        assert_eq!(m["daily"]["equity"].as_array().map(Vec::len), Some(days));
        let run = tape(dir.path(), &["metrics", &out]);
        let text = &run.expect_code(0).stdout;
        assert!(text.contains("snapshots equal the account rebuilt from the fills"));
    }
}

#[test]
fn bad_arguments_and_missing_files_are_one_sentence_errors() {
    let dir = scratch();
    let run = tape(dir.path(), &["metrics", "missing.tape"]);
    run.expect_code(2);
    assert!(run.stderr.contains("missing.tape"), "{}", run.stderr);
    tape(dir.path(), &["run", "--out", "a.tape"]).expect_code(0);
    let run = tape(
        dir.path(),
        &["metrics", "a.tape", "--periods-per-year", "0"],
    );
    run.expect_code(2);
    assert!(run.stderr.contains("--periods-per-year"), "{}", run.stderr);
}

#[test]
fn a_window_leaves_the_warm_up_out_and_starts_from_the_equity_before_it() {
    let dir = scratch();
    let ledger = write_ledger(dir.path(), "hand.tape", &hand_events(107_800));
    let arg = ledger.to_str().expect("utf-8");
    // From day 2 (2024-01-03) to day 3: returns over 1009 → 1018 → 1008.
    let m = tape(
        dir.path(),
        &[
            "metrics",
            arg,
            "--json",
            "--from",
            "2024-01-03",
            "--to",
            "2024-01-04",
        ],
    )
    .expect_code(0)
    .json();
    assert_eq!(m["days"], 2);
    close(&m["start_equity"], 1009.0);
    close(&m["daily"]["return"][0], 1018.0 / 1009.0 - 1.0);
    close(&m["total_return"], 1008.0 / 1009.0 - 1.0);
    close(&m["max_drawdown"], 10.0 / 1018.0);
    // Only the trip that closed inside the window: the long closed on day 2.
    assert_eq!(m["trades"], 1);
    let bad = tape(dir.path(), &["metrics", arg, "--from", "someday"]);
    bad.expect_code(2);
    assert!(bad.stderr.contains("--from someday"), "{}", bad.stderr);
}
