use std::process::ExitCode;

use anyhow::Context;
use hdrhistogram::Histogram;
use tape_engine::ledger::{fingerprint_hex, FsyncPolicy, LedgerReader, LedgerWriter};
use tape_scenarios::builtin;
use tape_scenarios::Scenario;

use super::run::Fsync;
use super::{human_bytes, human_count, now, EXIT_FINDING, EXIT_OK};
use crate::drive::{replay_ledger, run_with_writer, BarSource, ReplayVerdict};
use crate::plan::RunPlan;
use crate::progress::Progress;

/// Arguments of `tape bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// One-minute bars of the single synthetic instrument.
    #[arg(long, default_value_t = 1_000_000)]
    pub bars: u64,
    /// When the ledger is synced (the run's time includes it).
    #[arg(long, value_enum, default_value_t = Fsync::End)]
    pub fsync: Fsync,
    /// Print the results as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Peak resident memory of this process in bytes (Linux `VmHWM`), if known.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The throughput yardstick: run, verify and replay the SMA crossover on N one-minute bars
/// with every event written to a hashed ledger; then the engine alone on the same market
/// held in memory, and a separate pass for step latency.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let base = builtin::find("bench").context("the bench scenario is built in")?;
    let mut scenario = Scenario::from_toml(base.toml, "built-in scenario 'bench'")?;
    scenario
        .gbm_mut()
        .context("the bench scenario is synthetic")?
        .bars = args.bars.max(1);
    let plan = RunPlan::from_scenario(scenario, "built-in scenario 'bench'")?;
    let dir =
        tempfile::tempdir().context("cannot create a temporary directory for the bench ledgers")?;
    let path = dir.path().join("bench.tape");
    let fsync: FsyncPolicy = args.fsync.into();

    // 1. Run: market generated on its thread, core, ledger writer; timed end to end (writer
    //    finished and synced per --fsync).
    let progress = Progress::new(plan.total_bars(), "bars", args.json).with_message("run");
    let started = now();
    let writer = LedgerWriter::create(&path, &plan.header, fsync, true)?;
    let outcome = run_with_writer(
        &plan,
        plan.core(),
        writer,
        plan.sources()?,
        &mut |b| progress.set(b),
        None,
    )?;
    let run_s = started.elapsed().as_secs_f64();
    progress.finish();
    let events = outcome.stats.events;
    let bars = outcome.stats.bars;
    let bytes = outcome.ledger.bytes;

    // 2. Verify: checksums and hash chain.
    let started = now();
    let summary = LedgerReader::open(&path)?.verify_to_end()?;
    let verify_s = started.elapsed().as_secs_f64();

    // 3. Replay: re-execute and compare every event byte for byte.
    let progress = Progress::new(bytes, "bytes", args.json).with_message("replay");
    let started = now();
    let verdict = replay_ledger(&path, &mut |o| progress.set(o))?;
    let replay_s = started.elapsed().as_secs_f64();
    progress.finish();
    let replay_ok = matches!(verdict, ReplayVerdict::Identical(_));

    // Everything so far streams: its peak memory does not depend on the number of bars.
    let peak = peak_rss_bytes();

    // 4. Engine only: the same market generated into memory first (untimed), so the timed
    //    run measures the core and the ledger writer alone — the figure to compare with
    //    engines benchmarked on loaded data. The ledger must be the same bytes.
    let market: Vec<_> = plan
        .synthetic_market()
        .context("the bench scenario is synthetic")?
        .collect();
    let engine_path = dir.path().join("engine.tape");
    let source: BarSource = Box::new(
        market
            .clone()
            .into_iter()
            .map(|r| r.map(Into::into).map_err(|never| match never {})),
    );
    let started = now();
    let writer = LedgerWriter::create(&engine_path, &plan.header, fsync, true)?;
    let engine = run_with_writer(&plan, plan.core(), writer, vec![source], &mut |_| {}, None)?;
    let engine_s = started.elapsed().as_secs_f64();
    let engine_same = engine.ledger.fingerprint == outcome.ledger.fingerprint;

    // 5. Latency: a run timing each step (reading the clock costs time, so this pass is kept
    //    apart from the throughput figures above).
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)
        .context("histogram bounds are valid")?;
    let latency_path = dir.path().join("latency.tape");
    let writer = LedgerWriter::create(&latency_path, &plan.header, fsync, true)?;
    let source: BarSource = Box::new(
        market
            .into_iter()
            .map(|r| r.map(Into::into).map_err(|never| match never {})),
    );
    run_with_writer(
        &plan,
        plan.core(),
        writer,
        vec![source],
        &mut |_| {},
        Some(&mut histogram),
    )?;
    let clock = clock_overhead_ns();

    let rate = |n: f64, s: f64| if s > 0.0 { n / s } else { 0.0 };
    let fingerprint = fingerprint_hex(&outcome.ledger.fingerprint);
    let p = |q: f64| histogram.value_at_quantile(q);
    if args.json {
        let v = serde_json::json!({
            "bars": bars,
            "events": events,
            "ledger_bytes": bytes,
            "fsync": format!("{:?}", args.fsync).to_lowercase(),
            "fingerprint": fingerprint,
            "run_s": run_s,
            "run_bars_per_s": rate(bars as f64, run_s),
            "run_events_per_s": rate(events as f64, run_s),
            "ledger_mb_per_s": rate(bytes as f64 / 1e6, run_s),
            "verify_s": verify_s,
            "verify_mb_per_s": rate(summary.bytes as f64 / 1e6, verify_s),
            "verify_events_per_s": rate(summary.events as f64, verify_s),
            "replay_s": replay_s,
            "replay_ok": replay_ok,
            "replay_events_per_s": rate(events as f64, replay_s),
            "replay_bars_per_s": rate(bars as f64, replay_s),
            "engine_s": engine_s,
            "engine_bars_per_s": rate(bars as f64, engine_s),
            "engine_events_per_s": rate(events as f64, engine_s),
            "step_latency_ns": { "p50": p(0.5), "p99": p(0.99), "p999": p(0.999), "max": histogram.max() },
            "clock_overhead_ns": clock,
            "peak_rss_bytes": peak,
            "engine_ledger_identical": engine_same,
        });
        say!("{v}");
    } else {
        say!(
            "bench         {} one-minute bars, 1 symbol, SMA 20/100 crossover, --fsync {}",
            human_count(bars),
            format!("{:?}", args.fsync).to_lowercase()
        );
        say!(
            "ledger        {} events, {}",
            human_count(events),
            human_bytes(bytes)
        );
        say!(
            "run           {run_s:.3} s  {} bars/s  {} events/s  {:.0} MB/s written",
            human_count(rate(bars as f64, run_s) as u64),
            human_count(rate(events as f64, run_s) as u64),
            rate(bytes as f64 / 1e6, run_s)
        );
        say!(
            "verify        {verify_s:.3} s  {:.0} MB/s  {} events/s",
            rate(summary.bytes as f64 / 1e6, verify_s),
            human_count(rate(summary.events as f64, verify_s) as u64)
        );
        say!(
            "replay        {replay_s:.3} s  {} events/s  {} bars/s  {}",
            human_count(rate(events as f64, replay_s) as u64),
            human_count(rate(bars as f64, replay_s) as u64),
            if replay_ok { "identical" } else { "DIVERGED" }
        );
        say!(
            "engine only   {engine_s:.3} s  {} bars/s  {} events/s  (market pre-generated in memory)",
            human_count(rate(bars as f64, engine_s) as u64),
            human_count(rate(events as f64, engine_s) as u64)
        );
        say!(
            "step latency  p50 {} ns  p99 {} ns  p99.9 {} ns  max {} ns  (per input event; clock read ≈ {clock} ns)",
            p(0.5),
            p(0.99),
            p(0.999),
            histogram.max()
        );
        if let Some(peak) = peak {
            say!(
                "peak memory   {} (streaming run, verify and replay)",
                human_bytes(peak)
            );
        }
        say!("fingerprint   {fingerprint}");
    }
    Ok(ExitCode::from(if replay_ok {
        EXIT_OK
    } else {
        EXIT_FINDING
    }))
}

/// The median cost of one clock read pair, to put the latency figures in context.
fn clock_overhead_ns() -> u64 {
    let mut samples: Vec<u64> = (0..1_001)
        .map(|_| {
            let t = now();
            t.elapsed().as_nanos() as u64
        })
        .collect();
    samples.sort_unstable();
    samples[samples.len() / 2]
}
