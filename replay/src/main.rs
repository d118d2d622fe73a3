//! `tape`: an event-sourced backtester whose every decision is in a verifiable ledger.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tape_replay::cmd;

/// Tape: seeded, deterministic backtests written to an append-only, hash-chained ledger that
/// can be verified, replayed bit for bit and audited bar by bar.
#[derive(Debug, Parser)]
#[command(name = "tape", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a scenario (the built-in default if none) and write its ledger.
    Run(cmd::run::Args),
    /// Check a ledger's checksums and hash chain.
    Verify(cmd::verify::Args),
    /// Re-execute a ledger's inputs and compare every derived event byte for byte.
    Replay(cmd::replay::Args),
    /// Cut a torn tail off a ledger (never over corruption).
    Repair(cmd::repair::Args),
    /// Print a ledger's events as text or JSON lines.
    Show(cmd::show::Args),
    /// Everything at one bar: its causal chains, the strategy's state, the portfolio.
    Audit(cmd::audit::Args),
    /// Print the causal tree of one event, back to the inputs that caused it.
    Explain(cmd::explain::Args),
    /// Compare two ledgers: the first event that differs, counts by kind, equity over time.
    Diff(cmd::diff::Args),
    /// Performance figures from a ledger: returns, risk, drawdown, turnover, trades.
    Metrics(cmd::metrics::Args),
    /// Write a ledger's events as tables, one per event kind (CSV or Parquet).
    Export(cmd::export::Args),
    /// Write a run's report: one self-contained HTML page with figures, charts and trades.
    Report(cmd::report::Args),
    /// Content hashes of a ledger or a directory of outputs, as a stable JSON manifest.
    Hash(cmd::hash::Args),
    /// Check that a candidate's outputs match a baseline's, exactly or within tolerances.
    Compare(cmd::compare::Args),
    /// Run a parameter sweep (a grid, random samples, seeds, walk-forward) in parallel, in shards or on Ray.
    Sweep(cmd::sweep::Args),
    /// Check for look-ahead: the prefix property over many cuts, and fill timing.
    Fuzz(cmd::fuzz::Args),
    /// Measure throughput and latency on a seeded one-minute market.
    Bench(cmd::bench::Args),
    /// List the built-in scenarios, or print one.
    Scenarios(cmd::scenarios::Args),
}

fn main() -> ExitCode {
    // A damaged Parquet file gets an error sentence from the loader, without a panic report.
    #[cfg(feature = "parquet")]
    tape_scenarios::loader::parquet::silence_contained_panics();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => cmd::run::run(args),
        Command::Verify(args) => cmd::verify::run(args),
        Command::Replay(args) => cmd::replay::run(args),
        Command::Repair(args) => cmd::repair::run(args),
        Command::Show(args) => cmd::show::run(args),
        Command::Audit(args) => cmd::audit::run(args),
        Command::Explain(args) => cmd::explain::run(args),
        Command::Diff(args) => cmd::diff::run(args),
        Command::Metrics(args) => cmd::metrics::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::Hash(args) => cmd::hash::run(args),
        Command::Compare(args) => cmd::compare::run(args),
        Command::Sweep(args) => cmd::sweep::run(args),
        Command::Bench(args) => cmd::bench::run(args),
        Command::Export(args) => cmd::export::run(args),
        Command::Fuzz(args) => cmd::fuzz::run(args),
        Command::Scenarios(args) => cmd::scenarios::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            // One sentence: each cause adds only what the message before it does not say.
            let mut message = String::new();
            for cause in error.chain() {
                let text = cause.to_string();
                if !message.contains(&text) {
                    if !message.is_empty() {
                        message.push_str(": ");
                    }
                    message.push_str(&text);
                }
            }
            eprintln!("tape: {message}");
            ExitCode::from(cmd::EXIT_INPUT)
        }
    }
}
