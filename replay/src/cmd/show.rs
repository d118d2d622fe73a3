use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use tape_engine::event::EventKind;
use tape_engine::ledger::LedgerReader;
use tape_engine::time::Ts;

use super::{report_read_error, EXIT_INPUT, EXIT_OK};
use crate::render::Renderer;

/// Arguments of `tape show`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The ledger to print.
    pub file: PathBuf,
    /// First event: a seq (e.g. 120) or a time (2020-01-02, 2020-01-02T21:00:00Z).
    #[arg(long)]
    pub from: Option<String>,
    /// Last event (inclusive): a seq or a time.
    #[arg(long)]
    pub to: Option<String>,
    /// Only these kinds (e.g. bar, signal, order_submitted, fill); repeat or comma-separate.
    #[arg(long, value_delimiter = ',')]
    pub kind: Vec<String>,
    /// Only events about this symbol.
    #[arg(long)]
    pub symbol: Option<String>,
    /// JSON lines instead of text.
    #[arg(long)]
    pub json: bool,
}

/// A `--from`/`--to` bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bound {
    Seq(u64),
    Time(Ts),
}

fn parse_bound(flag: &str, text: &str) -> Result<Bound, String> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse()
            .map(Bound::Seq)
            .map_err(|_| format!("{flag} {text}: seq is too large"));
    }
    Ts::parse(text)
        .map(Bound::Time)
        .map_err(|e| format!("{flag}: {e}, or give a seq number"))
}

/// Prints events, filtered, as text or JSON lines.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let usage = |message: String| {
        eprintln!("tape: {message}");
        Ok(ExitCode::from(EXIT_INPUT))
    };
    let from = match args
        .from
        .as_deref()
        .map(|t| parse_bound("--from", t))
        .transpose()
    {
        Ok(b) => b,
        Err(m) => return usage(m),
    };
    let to = match args
        .to
        .as_deref()
        .map(|t| parse_bound("--to", t))
        .transpose()
    {
        Ok(b) => b,
        Err(m) => return usage(m),
    };
    let mut kinds = Vec::new();
    for k in &args.kind {
        match EventKind::from_name(k.trim()) {
            Some(kind) => kinds.push(kind),
            None => {
                let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.name()).collect();
                return usage(format!(
                    "--kind {k} is not an event kind (known: {})",
                    known.join(", ")
                ));
            }
        }
    }
    let mut reader = match LedgerReader::open(&args.file) {
        Ok(r) => r,
        Err(e) => return Ok(report_read_error(&args.file, &e)),
    };
    let header = reader.header().clone();
    let symbol = match &args.symbol {
        Some(name) => match header.symbols.iter().position(|s| s == name) {
            Some(i) => Some(i as u32),
            None => {
                return usage(format!(
                    "--symbol {name} is not in this ledger (it has {} symbols, e.g. {})",
                    header.symbols.len(),
                    header.symbols.first().map_or("none", |s| s.as_str())
                ))
            }
        },
        None => None,
    };
    let renderer = Renderer::new(&header);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    loop {
        let frame = match reader.next_event() {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                let _ = out.flush();
                return Ok(report_read_error(&args.file, &e));
            }
        };
        let (seq, ts) = (frame.header.seq, Ts(frame.header.ts));
        let before_start = match from {
            Some(Bound::Seq(s)) => seq < s,
            Some(Bound::Time(t)) => ts < t,
            None => false,
        };
        let past_end = match to {
            Some(Bound::Seq(s)) => seq > s,
            Some(Bound::Time(t)) => ts > t,
            None => false,
        };
        if past_end {
            break;
        }
        if before_start || (!kinds.is_empty() && !kinds.contains(&frame.kind())) {
            continue;
        }
        let event = match frame.decode() {
            Ok(e) => e,
            Err(e) => {
                let _ = out.flush();
                return Ok(report_read_error(&args.file, &e));
            }
        };
        if symbol.is_some() && event.body.symbol().map(|s| s.0) != symbol {
            continue;
        }
        let line = if args.json {
            renderer.json(&event)
        } else {
            renderer.text(&event)
        };
        if writeln!(out, "{line}").is_err() {
            // The reader of our output went away (e.g. `| head`): stop quietly.
            return Ok(ExitCode::from(EXIT_OK));
        }
    }
    let _ = out.flush();
    Ok(ExitCode::from(EXIT_OK))
}
