use std::path::PathBuf;
use std::process::ExitCode;

use super::{EXIT_FINDING, EXIT_INPUT, EXIT_OK};
use crate::parity::tolerance::{Mode, Tolerances};
use crate::parity::{self, Options};

/// Arguments of `tape compare`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The baseline: a ledger, a metrics JSON file, a CSV or Parquet file, or a directory.
    pub baseline: PathBuf,
    /// The candidate, of the same kind as the baseline.
    pub candidate: PathBuf,
    /// How strictly values are compared.
    #[arg(long, value_enum, default_value_t = Mode::Tolerant)]
    pub mode: Mode,
    /// Override a category's tolerance: CATEGORY=ABS[:DECIMALS], e.g. returns=1e-6:8
    /// (categories: returns, drawdown, exposure, turnover, slippage, money). Repeatable.
    #[arg(long = "tol", value_name = "CATEGORY=ABS[:DECIMALS]")]
    pub tol: Vec<String>,
    /// Differences listed in full; the rest are counted.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Compares a candidate with a baseline. Exits 0 when they match, 1 when anything differs
/// beyond tolerance, 2 when an input cannot be read (or a file could not be compared by this
/// build and nothing else differs).
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut tolerances = Tolerances::default();
    for given in &args.tol {
        if let Err(e) = tolerances.apply(given) {
            eprintln!("tape: {e}");
            return Ok(ExitCode::from(EXIT_INPUT));
        }
    }
    let options = Options {
        mode: args.mode,
        tolerances,
        limit: args.limit,
    };
    let (a, b) = (
        args.baseline.display().to_string(),
        args.candidate.display().to_string(),
    );
    let report = match parity::compare((&args.baseline, &a), (&args.candidate, &b), &options) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tape: {e}");
            return Ok(ExitCode::from(EXIT_INPUT));
        }
    };
    if args.json {
        say!("{}", report.json(&a, &b));
    } else {
        for line in report.text(&a, &b) {
            say!("{line}");
        }
    }
    for (file, why) in &report.undecided {
        eprintln!("tape: {file}: {why}");
    }
    Ok(ExitCode::from(if report.total > 0 {
        EXIT_FINDING
    } else if !report.undecided.is_empty() {
        EXIT_INPUT
    } else {
        EXIT_OK
    }))
}
