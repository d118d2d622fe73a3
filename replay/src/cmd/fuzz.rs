use std::process::ExitCode;

use super::{human_count, now, EXIT_FINDING, EXIT_OK};
use crate::fuzz::{fuzz, plan_factory};
use crate::plan::RunPlan;
use crate::progress::Progress;
use crate::render::Renderer;

/// Arguments of `tape fuzz`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A built-in scenario name or a scenario TOML file.
    #[arg(default_value = "default")]
    pub scenario: String,
    /// Cuts to try (at least 1).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    pub cuts: u32,
    /// Seed of the cut times and of the other futures.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Market seed of the scenario (overrides the scenario's).
    #[arg(long)]
    pub market_seed: Option<u64>,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Checks the prefix property over many cuts and every fill's timing; prints OK or the
/// smallest counterexample with its causal chain.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let plan = RunPlan::load(&args.scenario, args.market_seed)?;
    let progress = Progress::new(args.cuts.into(), "cuts", args.json).with_message("fuzz");
    let started = now();
    let report = fuzz(&plan, &plan_factory, args.cuts, args.seed, &mut |done| {
        progress.set(done.into())
    });
    progress.finish();
    let report = report?;
    let elapsed = started.elapsed().as_secs_f64();
    let renderer = Renderer::new(&plan.header);
    let line = |e: &tape_engine::event::Event| {
        serde_json::from_str::<serde_json::Value>(&renderer.json(e)).expect("valid JSON")
    };
    if args.json {
        let v = serde_json::json!({
            "ok": report.passed(),
            "scenario": plan.scenario.name,
            "cuts": report.cuts,
            "leaking_cuts": report.leaking_cuts,
            "fills_checked": report.fills_checked,
            "elapsed_s": elapsed,
            "leak": report.first_leak.as_ref().map(|l| serde_json::json!({
                "cut": l.cut.to_string(),
                "future_seed": l.future_seed,
                "seq": l.seq,
                "original": l.original.as_ref().map(line),
                "other": l.other.as_ref().map(line),
                "chain": l.chain.iter().map(line).collect::<Vec<_>>(),
            })),
            "same_bar_fill": report.same_bar_fill.as_ref().map(|f| serde_json::json!({
                "order": line(&f.order),
                "fill": line(&f.fill),
            })),
        });
        say!("{v}");
    } else {
        say!(
            "fuzz          {} (market seed {}), {} cuts from seed {}",
            plan.scenario.name,
            plan.scenario.seed,
            report.cuts,
            args.seed
        );
        if let Some(l) = &report.first_leak {
            say!(
                "LEAK          {} of {} cuts: events known by the cut changed when only the future did",
                report.leaking_cuts,
                report.cuts
            );
            say!("  smallest counterexample: cut {} (other future from seed {}), first difference at seq {}", l.cut, l.future_seed, l.seq);
            match &l.original {
                Some(e) => say!("  original run:        {}", renderer.text(e)),
                None => say!("  original run:        (no event)"),
            }
            match &l.other {
                Some(e) => say!("  with another future: {}", renderer.text(e)),
                None => say!("  with another future: (no event)"),
            }
            if !l.chain.is_empty() {
                say!("  its causal chain (with another future):");
                for e in &l.chain {
                    say!("    {}", renderer.text(e));
                }
            }
        }
        if let Some(f) = &report.same_bar_fill {
            say!("LOOK-AHEAD FILL an order filled on the bar it was decided on ([execution] fill = \"same_bar_close\"?)");
            say!("  decided: {}", renderer.text(&f.order));
            say!("  filled:  {}", renderer.text(&f.fill));
        }
        if report.passed() {
            say!(
                "OK            {} cuts: every event known by each cut was identical under another future; {} fills all on a later bar than their decision",
                report.cuts,
                human_count(report.fills_checked)
            );
        }
        say!(
            "elapsed       {elapsed:.2} s ({:.0} cuts/s)",
            f64::from(report.cuts) / elapsed.max(1e-9)
        );
    }
    Ok(ExitCode::from(if report.passed() {
        EXIT_OK
    } else {
        EXIT_FINDING
    }))
}
