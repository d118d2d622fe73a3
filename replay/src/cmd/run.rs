use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use tape_engine::ledger::{fingerprint_hex, DurableReport, FsyncPolicy, InputSource, LedgerReader};

use super::{human_bytes, human_count, now, EXIT_OK};
use crate::drive::run_to_ledger_reporting;
use crate::plan::RunPlan;
use crate::progress::Progress;
use tape_scenarios::loader::guard::{DataReport, Policy};

/// Arguments of `tape run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A built-in scenario name (see `tape scenarios`) or a scenario TOML file.
    #[arg(default_value = "default")]
    pub scenario: String,
    /// Market seed (overrides the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Ledger to write [default: runs/<scenario>-seed<N>.tape, replaced if it exists].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace the --out file if it exists.
    #[arg(long)]
    pub force: bool,
    /// When the ledger is synced to disk.
    #[arg(long, value_enum, default_value_t = Fsync::End)]
    pub fsync: Fsync,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Warn about every input whose content differs from the one recorded in this ledger
    /// (an earlier run of the same scenario).
    #[arg(long, value_name = "LEDGER")]
    pub since: Option<PathBuf>,
    /// Append a line to FILE after every sync of the ledger: the number of bytes of the
    /// ledger that are durable (fdatasync returned). For crash tests and for tailing a run.
    #[arg(long, value_name = "FILE")]
    pub durable_log: Option<PathBuf>,
}

/// `--fsync` values.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Fsync {
    /// Never sync (fastest; a crash may lose anything).
    Never,
    /// Sync sealed blocks in groups as the run goes.
    Block,
    /// Sync once at the end.
    End,
}

impl From<Fsync> for FsyncPolicy {
    fn from(f: Fsync) -> Self {
        match f {
            Fsync::Never => FsyncPolicy::Never,
            Fsync::Block => FsyncPolicy::Block,
            Fsync::End => FsyncPolicy::End,
        }
    }
}

/// Runs a scenario into a ledger and prints the summary.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let plan = RunPlan::load(&args.scenario, args.seed)?;
    if let Some(earlier) = &args.since {
        let recorded = LedgerReader::open(earlier)
            .map_err(|e| anyhow::anyhow!("{}: {e}", earlier.display()))?
            .header()
            .clone();
        for warning in input_changes(&recorded.inputs, &plan.header.inputs) {
            eprintln!("tape: WARNING: {warning} since {}", earlier.display());
        }
    }
    if plan.scenario.execution.fill == tape_scenarios::FillSpec::SameBarClose {
        eprintln!(
            "tape: WARNING: [execution] fill = \"same_bar_close\" fills orders at the close they were decided on: that is look-ahead, and this run's results are not achievable"
        );
    }
    let (path, replace) = match &args.out {
        Some(p) => (p.clone(), args.force),
        None => {
            let dir = PathBuf::from("runs");
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create directory {}", dir.display()))?;
            (
                dir.join(format!(
                    "{}-seed{}.tape",
                    plan.scenario.name, plan.scenario.seed
                )),
                true,
            )
        }
    };
    let report = match &args.durable_log {
        Some(log) => Some(durable_log(log)?),
        None => None,
    };
    let progress = Progress::new(plan.total_bars(), "bars", args.json).with_message("run");
    let started = now();
    let outcome = run_to_ledger_reporting(
        &plan,
        &path,
        args.fsync.into(),
        replace,
        report,
        &mut |bars| progress.set(bars),
    );
    progress.finish();
    let outcome = outcome?;
    let elapsed = started.elapsed().as_secs_f64();
    let s = outcome.stats;
    let initial = plan.scenario.initial_cash().to_f64();
    let final_equity = s.equity.to_f64();
    let total_return = final_equity / initial - 1.0;
    let fingerprint = fingerprint_hex(&outcome.ledger.fingerprint);
    let per_s = |n: u64| {
        if elapsed > 0.0 {
            n as f64 / elapsed
        } else {
            0.0
        }
    };
    if args.json {
        let summary = serde_json::json!({
            "scenario": plan.scenario.name,
            "seed": plan.scenario.seed,
            "ledger": path.display().to_string(),
            "ledger_bytes": outcome.ledger.bytes,
            "fingerprint": fingerprint,
            "events": s.events,
            "bars": s.bars,
            "orders": s.orders,
            "fills": s.fills,
            "rejections": s.rejections,
            "initial_cash": initial,
            "final_equity": final_equity,
            "total_return": total_return,
            "max_drawdown": s.max_drawdown,
            "fees": s.fees.to_f64(),
            "slippage": s.slippage.to_f64(),
            "elapsed_s": elapsed,
            "events_per_s": per_s(s.events),
            "bars_per_s": per_s(s.bars),
            "data": plan.data.as_ref().map(|d| data_json(d.report())),
            "features": plan.features.as_ref().map(|f| {
                let (rows, skipped) = f.counts();
                serde_json::json!({ "names": f.names(), "rows": rows, "skipped": skipped })
            }),
        });
        say!("{summary}");
    } else {
        say!(
            "scenario      {} (seed {})",
            plan.scenario.name,
            plan.scenario.seed
        );
        say!(
            "ledger        {} ({})",
            path.display(),
            human_bytes(outcome.ledger.bytes)
        );
        say!("bars          {}", human_count(s.bars));
        say!("events        {}", human_count(s.events));
        say!(
            "orders        {} ({} fills, {} rejected)",
            human_count(s.orders),
            human_count(s.fills),
            human_count(s.rejections)
        );
        say!(
            "equity        {initial:.2} -> {final_equity:.2} ({:+.2}%)",
            total_return * 100.0
        );
        say!("max drawdown  {:.2}%", s.max_drawdown * 100.0);
        say!(
            "costs         fees {}, slippage {} (against expected prices)",
            s.fees,
            s.slippage
        );
        say!(
            "elapsed       {elapsed:.3} s ({} events/s, {} bars/s)",
            human_count(per_s(s.events) as u64),
            human_count(per_s(s.bars) as u64)
        );
        say!("fingerprint   {fingerprint}");
        if let Some(data) = &plan.data {
            print_data_report(data.report());
        }
        if let Some(features) = &plan.features {
            let (rows, skipped) = features.counts();
            say!(
                "features      {} rows of {} ({}), {} skipped (symbols outside the run)",
                human_count(rows),
                features.names().len(),
                features.names().join(", "),
                human_count(skipped)
            );
        }
    }
    Ok(ExitCode::from(EXIT_OK))
}

/// Opens `--durable-log` for appending; each sync appends one line, the durable size in
/// bytes, in one `write(2)`, so a reader never sees half a number followed by more.
fn durable_log(path: &std::path::Path) -> anyhow::Result<DurableReport> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| {
            format!(
                "cannot open the durable log {} (check the path and its directory)",
                path.display()
            )
        })?;
    Ok(Box::new(move |bytes| {
        // A failed log line only makes the log say less than is durable, never more: the
        // ledger, not the log, is the record, so the run goes on.
        let _ = file.write_all(format!("{bytes}\n").as_bytes());
    }))
}

/// The data guard's findings, in a few lines.
fn print_data_report(report: &DataReport) {
    say!(
        "data          {} rows read, {} bars delivered, {} quarantined",
        human_count(report.rows),
        human_count(report.bars),
        human_count(report.quarantined())
    );
    for (check, (policy, count)) in &report.counts {
        say!(
            "  {:<16} {:>8} ({})",
            check.name(),
            human_count(*count),
            policy_word(*policy)
        );
    }
    for finding in report.examples.iter().take(5) {
        say!(
            "  e.g. {}: {}: {}",
            finding.check.name(),
            finding.place,
            finding.detail
        );
    }
}

fn policy_word(policy: Policy) -> &'static str {
    match policy {
        Policy::Reject => "rejected",
        Policy::Quarantine => "quarantined",
        Policy::Warn => "kept, warned",
    }
}

fn data_json(report: &DataReport) -> serde_json::Value {
    let counts: serde_json::Map<String, serde_json::Value> = report
        .counts
        .iter()
        .map(|(check, (policy, count))| {
            (
                check.name().to_string(),
                serde_json::json!({ "policy": policy_word(*policy), "count": count }),
            )
        })
        .collect();
    serde_json::json!({ "rows": report.rows, "bars": report.bars, "quarantined": report.quarantined(), "checks": counts })
}

/// How the inputs differ from those recorded in an earlier ledger, one sentence each.
pub fn input_changes(recorded: &[InputSource], now: &[InputSource]) -> Vec<String> {
    let mut out = Vec::new();
    for input in now {
        match recorded.iter().find(|r| r.name == input.name) {
            Some(r) if r.blake3 != input.blake3 => out.push(format!(
                "input {} changed (BLAKE3 {} then, {} now)",
                input.name,
                &fingerprint_hex(&r.blake3)[..16],
                &fingerprint_hex(&input.blake3)[..16]
            )),
            Some(_) => {}
            None => out.push(format!("input {} is new", input.name)),
        }
    }
    for r in recorded {
        if !now.iter().any(|i| i.name == r.name) {
            out.push(format!("input {} is no longer used", r.name));
        }
    }
    out
}
