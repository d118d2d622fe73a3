use std::path::PathBuf;
use std::process::ExitCode;

use tape_engine::time::Ts;

use super::{report_read_error, EXIT_FINDING, EXIT_INPUT, EXIT_OK};
use crate::metrics::{self, date_text, Figure, Metrics, MetricsError, Options, DETAIL_ROWS};

/// Arguments of `tape metrics`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The ledger.
    pub file: PathBuf,
    /// One JSON object (figures and daily paths) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also list every closed round trip.
    #[arg(long)]
    pub trades: bool,
    /// The conventions and the window of the figures.
    #[command(flatten)]
    pub figures: FigureArgs,
}

/// Computes and prints a ledger's figures. Exits 1 when the ledger is damaged or its
/// snapshots disagree with its fills, 2 when it cannot be read.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let options = match args.figures.options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("tape: {message}");
            return Ok(ExitCode::from(EXIT_INPUT));
        }
    };
    let m = match metrics::from_ledger(&args.file, &options) {
        Ok(m) => m,
        Err(MetricsError::Read(e)) => return Ok(report_read_error(&args.file, &e)),
        Err(e) => {
            eprintln!("tape: {}: {e}", args.file.display());
            return Ok(ExitCode::from(EXIT_FINDING));
        }
    };
    if args.json {
        say!("{}", m.to_json(args.trades));
    } else {
        print_text(&m, args.trades);
    }
    Ok(ExitCode::from(EXIT_OK))
}

/// The options that choose how figures are computed, shared by `tape metrics` and `tape
/// report`.
#[derive(Debug, clap::Args)]
pub struct FigureArgs {
    /// Return periods per year for annualising [default: 252, or 365 when any day with a
    /// snapshot is a Saturday or Sunday].
    #[arg(long, value_name = "N")]
    pub periods_per_year: Option<f64>,
    /// Annual risk-free rate as a fraction (0.02 = 2 %), for Sharpe and Sortino.
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    pub risk_free: f64,
    /// Only days from this date (YYYY-MM-DD): leaves a warm-up out; the first return is
    /// measured from the equity at the last close before it.
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Only days up to this date (YYYY-MM-DD), inclusive.
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
}

impl FigureArgs {
    /// The options, or the sentence that says which is out of range.
    pub fn options(&self) -> Result<Options, String> {
        if let Some(p) = self.periods_per_year {
            if !(p.is_finite() && p > 0.0) {
                return Err(format!(
                    "--periods-per-year must be a positive number, not {p}"
                ));
            }
        }
        if !self.risk_free.is_finite() {
            return Err("--risk-free must be a finite number".into());
        }
        let day = |flag: &str, text: Option<&str>| match text {
            None => Ok(None),
            Some(t) => Ts::parse(t)
                .map(|ts| Some(ts.day()))
                .map_err(|_| format!("{flag} {t}: give a date as YYYY-MM-DD")),
        };
        Ok(Options {
            periods_per_year: self.periods_per_year,
            risk_free_rate: self.risk_free,
            from_day: day("--from", self.from.as_deref())?,
            to_day: day("--to", self.to.as_deref())?,
        })
    }
}

fn pct(x: f64) -> String {
    format!("{:.2} %", x * 100.0)
}

fn ratio(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_string(), |v| format!("{v:.3}"))
}

fn print_text(m: &Metrics, trades: bool) {
    let first = m
        .days
        .first()
        .map_or_else(|| "–".into(), |d| date_text(d.day));
    let last = m
        .days
        .last()
        .map_or_else(|| "–".into(), |d| date_text(d.day));
    say!(
        "{} days, {first} to {last}{}",
        m.days.len(),
        if m.complete {
            ""
        } else {
            " (incomplete ledger: no run_finished)"
        }
    );
    say!(
        "annualised with {} periods a year ({}), risk-free rate {}",
        m.conventions.periods_per_year,
        m.conventions.periods_per_year_source,
        pct(m.conventions.risk_free_rate)
    );
    say!("");
    for (name, figure) in m.summary().into_iter().flatten() {
        let value = match figure {
            Figure::Money(x) => format!("{x:.2}"),
            Figure::Percent(x) => pct(x),
            Figure::Ratio(x) => ratio(x),
            Figure::Text(t) => t,
        };
        let indent = if DETAIL_ROWS.contains(&name) {
            "  "
        } else {
            ""
        };
        let label = format!("{indent}{name}");
        say!("{label:<24}{value}");
    }
    say!("");
    let counts: Vec<String> = m.events.iter().map(|(k, n)| format!("{k}={n}")).collect();
    say!("events: {}", counts.join(" "));
    say!(
        "accounting: {} snapshots equal the account rebuilt from the fills, exactly",
        m.snapshots_checked
    );
    say!("fingerprint {}", m.fingerprint);
    if trades {
        say!("");
        say!(
            "{:<10} {:<6} {:<22} {:<22} {:>6} {:>12} {:>12} {:>12} {:>14}",
            "symbol",
            "side",
            "opened",
            "closed",
            "fills",
            "quantity",
            "entry",
            "exit",
            "pnl"
        );
        for t in &m.round_trips {
            say!(
                "{:<10} {:<6} {:<22} {:<22} {:>6} {:>12.4} {:>12.4} {:>12.4} {:>14.2}",
                t.symbol,
                t.side,
                t.opened.to_string(),
                t.closed.to_string(),
                t.fills,
                t.quantity,
                t.entry_price,
                t.exit_price,
                t.pnl
            );
        }
    }
}
