use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tape_engine::ledger::{fingerprint_hex, LedgerReader};

use super::{human_count, now, report_read_error, EXIT_FINDING, EXIT_INPUT, EXIT_OK};
use crate::drive::{causal_chain, replay_ledger_into, ReplayCopy, ReplayError, ReplayVerdict};
use crate::progress::Progress;
use crate::render::Renderer;

/// Arguments of `tape replay`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The ledger to re-execute.
    pub file: PathBuf,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// The debugger: re-execute only up to the first slice at or after this time (or date)
    /// and print the strategy's state and the portfolio there (needs `--inspect`).
    #[arg(long, requires = "inspect")]
    pub until: Option<String>,
    /// With `--until`: print the state there instead of checking the whole ledger.
    #[arg(long, requires = "until")]
    pub inspect: bool,
    /// With `--inspect`: only this symbol's state and position.
    #[arg(long, requires = "inspect")]
    pub symbol: Option<String>,
    /// Also write the re-derived ledger here (kept only when the replay is OK; then it is
    /// byte-identical to FILE).
    #[arg(long, value_name = "FILE", conflicts_with = "until")]
    pub out: Option<PathBuf>,
    /// With `--out`: replace an existing file.
    #[arg(long, requires = "out")]
    pub force: bool,
}

/// Re-executes the core from the recorded inputs and compares every derived event byte for
/// byte; prints OK with the fingerprint, or the first divergence and its causal chain.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(until) = &args.until {
        return inspect(&args, until);
    }
    let total = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    let progress = Progress::new(total, "bytes", args.json).with_message("replay");
    let started = now();
    let mut copy = match &args.out {
        Some(out) => match open_copy(&args.file, out, args.force) {
            Ok(c) => Some(c),
            Err(code) => return Ok(code),
        },
        None => None,
    };
    let verdict = replay_ledger_into(
        &args.file,
        &mut |offset| progress.set(offset),
        copy.as_mut().map(|c| &mut c.1),
    );
    progress.finish();
    if let Some((partial, copy)) = copy {
        let sealed = copy.finish();
        let keep = matches!(verdict, Ok(ReplayVerdict::Identical(_))) && sealed.is_ok();
        let out = args.out.as_deref().unwrap_or(&partial);
        if keep {
            if let Err(e) = std::fs::rename(&partial, out) {
                let _ = std::fs::remove_file(&partial);
                eprintln!("tape: cannot write {}: {e}", out.display());
                return Ok(ExitCode::from(EXIT_INPUT));
            }
        } else {
            let _ = std::fs::remove_file(&partial);
            let _ = std::fs::remove_file(tape_engine::ledger::durable::mark_path(&partial));
            if let Err(e) = sealed {
                eprintln!("tape: cannot write {}: {e}", out.display());
                return Ok(ExitCode::from(EXIT_INPUT));
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    match verdict {
        Ok(ReplayVerdict::Identical(summary)) => {
            let per_s = if elapsed > 0.0 {
                summary.events as f64 / elapsed
            } else {
                0.0
            };
            let fingerprint = fingerprint_hex(&summary.fingerprint);
            if args.json {
                let v = serde_json::json!({
                    "ok": true, "fingerprint": fingerprint, "events": summary.events,
                    "elapsed_s": elapsed, "events_per_s": per_s,
                });
                say!("{v}");
            } else {
                say!(
                    "OK {fingerprint} ({} events re-derived byte for byte; {} events/s)",
                    human_count(summary.events),
                    human_count(per_s as u64)
                );
            }
            Ok(ExitCode::from(EXIT_OK))
        }
        Ok(ReplayVerdict::Diverged(d)) => {
            let header = LedgerReader::open(&args.file).map(|r| r.header().clone());
            let header = match header {
                Ok(h) => h,
                Err(e) => return Ok(report_read_error(&args.file, &e)),
            };
            let r = Renderer::new(&header);
            let kind = d
                .expected
                .as_ref()
                .or(d.actual.as_ref())
                .map_or("end", |e| e.body.kind().name());
            if args.json {
                let v = serde_json::json!({
                    "ok": false,
                    "seq": d.seq,
                    "kind": kind,
                    "expected": d.expected.as_ref().map(|e| json_value(&r.json(e))),
                    "actual": d.actual.as_ref().map(|e| json_value(&r.json(e))),
                    "note": d.note,
                });
                say!("{v}");
                return Ok(ExitCode::from(EXIT_FINDING));
            }
            say!("DIVERGED at seq {} ({kind})", d.seq);
            match &d.expected {
                Some(e) => say!("  expected (ledger):  {}", r.text(e)),
                None => say!("  expected (ledger):  the ledger ends here"),
            }
            match (&d.actual, &d.note) {
                (Some(a), _) => say!("  actual (re-run):    {}", r.text(a)),
                (None, Some(note)) => {
                    say!("  actual (re-run):    the core refused the recorded input: {note}")
                }
                (None, None) => say!("  actual (re-run):    the core produces nothing here"),
            }
            if let Some(e) = &d.expected {
                if let Ok(chain) = causal_chain(&args.file, e.seq.0) {
                    if chain.len() > 1 {
                        say!("  causal chain of the recorded event:");
                        for c in chain {
                            say!("    {}", r.text(&c));
                        }
                    }
                }
            }
            Ok(ExitCode::from(EXIT_FINDING))
        }
        Err(ReplayError::Read(e)) => {
            if args.json {
                let v = serde_json::json!({ "ok": false, "error": e.to_string(), "offset": e.offset() });
                say!("{v}");
            }
            Ok(report_read_error(&args.file, &e))
        }
        Err(e @ (ReplayError::Plan(_) | ReplayError::Write(_))) => {
            eprintln!("tape: {}: {e}", args.file.display());
            Ok(ExitCode::from(EXIT_INPUT))
        }
    }
}

/// The re-derived copy, written under a partial name next to `out` until the replay is OK.
fn open_copy(file: &Path, out: &Path, force: bool) -> Result<(PathBuf, ReplayCopy), ExitCode> {
    if out.exists() && !force {
        eprintln!(
            "tape: {} exists (pass --force to replace it, or choose another --out)",
            out.display()
        );
        return Err(ExitCode::from(EXIT_INPUT));
    }
    let header = match LedgerReader::open(file) {
        Ok(r) => r.header().clone(),
        Err(e) => return Err(report_read_error(file, &e)),
    };
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "replay.tape".to_string());
    let partial = out.with_file_name(format!(".{name}.partial"));
    match ReplayCopy::create(&partial, &header, true) {
        Ok(copy) => Ok((partial, copy)),
        Err(e) => {
            eprintln!("tape: cannot write {}: {e}", out.display());
            Err(ExitCode::from(EXIT_INPUT))
        }
    }
}

/// A JSON line of ours as a value, to nest it in another object.
fn json_value(line: &str) -> serde_json::Value {
    serde_json::from_str(line).expect("the renderer writes valid JSON")
}

/// The debugger: re-executes the ledger's inputs up to the first slice at or after `until`
/// and prints the strategy's state and the portfolio at that close.
fn inspect(args: &Args, until: &str) -> anyhow::Result<ExitCode> {
    let usage = |message: String| {
        eprintln!("tape: {message}");
        Ok(ExitCode::from(EXIT_INPUT))
    };
    let Ok(asked) = tape_engine::time::Ts::parse(until) else {
        return usage(format!(
            "--until {until}: not a time or a date (2020-01-28 or 2020-01-28T21:00:00Z)"
        ));
    };
    let mut reader = match LedgerReader::open(&args.file) {
        Ok(r) => r,
        Err(e) => return Ok(report_read_error(&args.file, &e)),
    };
    let header = reader.header().clone();
    let symbols: Vec<tape_engine::event::SymbolId> = match &args.symbol {
        Some(name) => match header.symbols.iter().position(|s| s == name) {
            Some(i) => vec![tape_engine::event::SymbolId(i as u32)],
            None => return usage(format!("--symbol {name} is not in this ledger")),
        },
        None => (0..header.symbols.len() as u32)
            .map(tape_engine::event::SymbolId)
            .collect(),
    };
    // The slice: the first bar time at or after the one asked for.
    let mut at = None;
    loop {
        match reader.next_event() {
            Ok(Some(f))
                if f.header.ts >= asked.0 && f.kind() == tape_engine::event::EventKind::Bar =>
            {
                at = Some(tape_engine::time::Ts(f.header.ts));
                break;
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => return Ok(report_read_error(&args.file, &e)),
        }
    }
    let Some(at) = at else {
        return usage(format!(
            "{}: no bar at or after {asked}",
            args.file.display()
        ));
    };
    let (core, _) = match crate::drive::core_at(&args.file, at) {
        Ok(c) => c,
        Err(ReplayError::Read(e)) => return Ok(report_read_error(&args.file, &e)),
        Err(e) => {
            eprintln!("tape: {}: {e}", args.file.display());
            return Ok(ExitCode::from(EXIT_FINDING));
        }
    };
    let inspection = super::audit::Inspection::of(&header, &core, &symbols);
    if args.json {
        say!("{{\"at\":\"{at}\",{}}}", inspection.json_fields());
    } else {
        say!("replayed      {} to {at}", args.file.display());
        inspection.print();
    }
    Ok(ExitCode::from(EXIT_OK))
}
