use std::path::PathBuf;
use std::process::ExitCode;

use super::{human_count, now, EXIT_INPUT, EXIT_OK};
use crate::progress::Progress;
use crate::sweep::{write_csv, RunResult, Sweep, SweepError};

/// Arguments of `tape sweep`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The sweep spec (TOML): a base scenario, `seeds` and a `[grid]` of parameter values.
    pub spec: PathBuf,
    /// Runs at once, each on its own core [default: the machine's cores].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Directory for `results.csv` (and kept ledgers) [default: sweeps/<spec name>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Replace an existing results table.
    #[arg(long)]
    pub force: bool,
    /// Keep every run's ledger in DIR/ledgers (they are large: off by default).
    #[arg(long)]
    pub keep_ledgers: bool,
    /// Run only this run (its id in the table), keep its ledger, print its fingerprint.
    #[arg(long, value_name = "ID")]
    pub run: Option<usize>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
}

fn fail(error: &SweepError) -> ExitCode {
    eprintln!("tape: {error}");
    ExitCode::from(EXIT_INPUT)
}

/// Runs a sweep: every grid point × seed in parallel into one table sorted by run id.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let sweep = match Sweep::load(&args.spec) {
        Ok(s) => s,
        Err(e) => return Ok(fail(&e)),
    };
    let out = args.out.clone().unwrap_or_else(|| {
        let stem = args
            .spec
            .file_stem()
            .map_or_else(|| "sweep".to_string(), |s| s.to_string_lossy().into_owned());
        PathBuf::from("sweeps").join(stem)
    });
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("tape: cannot make {}: {e}", out.display());
        return Ok(ExitCode::from(EXIT_INPUT));
    }
    let runs = sweep.runs();
    if let Some(id) = args.run {
        let Some(run) = runs.get(id) else {
            eprintln!(
                "tape: {}: no run {id}: its runs are 0 to {}",
                args.spec.display(),
                runs.len().saturating_sub(1)
            );
            return Ok(ExitCode::from(EXIT_INPUT));
        };
        let ledger = out.join(format!("run-{id:06}.tape"));
        let result = match sweep.execute(run, &ledger) {
            Ok(r) => r,
            Err(e) => return Ok(fail(&e)),
        };
        if args.json {
            let v = serde_json::json!({
                "run": id, "params": run.describe(), "fingerprint": result.fingerprint,
                "ledger": ledger.display().to_string(),
            });
            say!("{v}");
        } else {
            say!("run           {id} ({})", run.describe());
            say!("ledger        {}", ledger.display());
            say!("fingerprint   {}", result.fingerprint);
        }
        return Ok(ExitCode::from(EXIT_OK));
    }
    let table = out.join("results.csv");
    if table.exists() && !args.force {
        eprintln!(
            "tape: {} exists (pass --force to replace it, or choose another --out)",
            table.display()
        );
        return Ok(ExitCode::from(EXIT_INPUT));
    }
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let ledgers = out.join("ledgers");
    if args.keep_ledgers {
        if let Err(e) = std::fs::create_dir_all(&ledgers) {
            eprintln!("tape: cannot make {}: {e}", ledgers.display());
            return Ok(ExitCode::from(EXIT_INPUT));
        }
    }
    let progress = Progress::new(runs.len() as u64, "runs", args.json).with_message("sweep");
    let started = now();
    let results = sweep.run_all(
        threads,
        args.keep_ledgers.then_some(ledgers.as_path()),
        &|done| progress.set(done as u64),
    );
    progress.finish();
    let results: Vec<RunResult> = match results {
        Ok(r) => r,
        Err(e) => return Ok(fail(&e)),
    };
    if let Err(e) = write_csv(&table, &sweep.keys(), &results) {
        return Ok(fail(&e));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let best = results
        .iter()
        .filter(|r| r.figures.returns.sharpe.is_some())
        .max_by(|a, b| {
            let (x, y) = (a.figures.returns.sharpe, b.figures.returns.sharpe);
            x.partial_cmp(&y)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(b.run.id.cmp(&a.run.id))
        });
    let per_s = if elapsed > 0.0 {
        results.len() as f64 / elapsed
    } else {
        0.0
    };
    if args.json {
        let v = serde_json::json!({
            "spec": args.spec.display().to_string(),
            "runs": results.len(),
            "threads": threads,
            "table": table.display().to_string(),
            "best_by_sharpe": best.map(|b| serde_json::json!({
                "run": b.run.id, "params": b.run.describe(),
                "sharpe": b.figures.returns.sharpe, "fingerprint": b.fingerprint,
            })),
            "elapsed_s": elapsed,
            "runs_per_s": per_s,
        });
        say!("{v}");
    } else {
        say!(
            "sweep         {} runs on {threads} threads in {elapsed:.2} s ({per_s:.1} runs/s)",
            human_count(results.len() as u64)
        );
        say!("table         {}", table.display());
        if let Some(b) = best {
            say!(
                "best Sharpe   {:.3}, run {} ({}) — the best of {} trials: expect less out of sample",
                b.figures.returns.sharpe.unwrap_or(0.0),
                b.run.id,
                b.run.describe(),
                results.len()
            );
        }
    }
    Ok(ExitCode::from(EXIT_OK))
}
