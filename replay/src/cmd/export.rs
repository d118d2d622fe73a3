use std::path::PathBuf;
use std::process::ExitCode;

use tape_engine::ledger::fingerprint_hex;

use super::{human_bytes, human_count, now, report_read_error, EXIT_INPUT, EXIT_OK};
use crate::export::{self, ExportError, Format};
use crate::progress::Progress;

/// Arguments of `tape export`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The ledger to export.
    pub file: PathBuf,
    /// Table format: csv (every build), parquet (a build with `--features parquet`), or
    /// trend-csv (the trend system's seven files).
    #[arg(long, value_enum)]
    pub format: Format,
    /// Directory for the tables (`bar.csv`, `fill.csv`, …); made if missing.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Replace the tables of an earlier export in the directory.
    #[arg(long)]
    pub force: bool,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
}

fn fail(args: &Args, error: &ExportError) -> ExitCode {
    match error {
        ExportError::Ledger(e) => report_read_error(&args.file, e),
        other => {
            eprintln!("tape: {other}");
            ExitCode::from(EXIT_INPUT)
        }
    }
}

/// Writes one table per event kind of the ledger into `--out`, then a summary: tables, rows
/// and bytes.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.format == Format::TrendCsv {
        return trend_csv(&args);
    }
    if !args.format.is_built() {
        return Ok(fail(&args, &ExportError::ParquetNotBuilt));
    }
    if let Err(e) = export::check_out_dir(&args.out, args.format, args.force) {
        return Ok(fail(&args, &e));
    }
    let started = now();
    let total = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    let progress = Progress::new(total, "bytes", args.json).with_message("scan");
    let layout = export::scan(&args.file, &mut |offset| progress.set(offset));
    progress.finish();
    let layout = match layout {
        Ok(l) => l,
        Err(e) => return Ok(fail(&args, &e)),
    };
    let progress = Progress::new(total, "bytes", args.json).with_message("export");
    let written = export::write(
        &args.file,
        &layout,
        args.format,
        &args.out,
        args.force,
        &mut |offset| progress.set(offset),
    );
    progress.finish();
    let written = match written {
        Ok(w) => w,
        Err(e) => return Ok(fail(&args, &e)),
    };
    let elapsed = started.elapsed().as_secs_f64();
    let rows: u64 = written.iter().map(|w| w.rows).sum();
    let bytes: u64 = written.iter().map(|w| w.bytes).sum();
    let rows_per_s = if elapsed > 0.0 {
        rows as f64 / elapsed
    } else {
        0.0
    };
    let file_name = |w: &export::Written| {
        w.path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    };
    if args.json {
        let tables: Vec<serde_json::Value> = written
            .iter()
            .zip(&layout.tables)
            .map(|(w, table)| {
                let columns: Vec<serde_json::Value> = table
                    .columns
                    .iter()
                    .map(|c| {
                        serde_json::json!({
                            "name": c.name,
                            "type": c.ty.name(),
                            "nullable": c.nullable,
                        })
                    })
                    .collect();
                serde_json::json!({
                    "kind": w.kind.name(),
                    "file": file_name(w),
                    "path": w.path.display().to_string(),
                    "rows": w.rows,
                    "bytes": w.bytes,
                    "columns": columns,
                })
            })
            .collect();
        let v = serde_json::json!({
            "ledger": args.file.display().to_string(),
            "fingerprint": fingerprint_hex(&layout.fingerprint),
            "scenario": layout.header.scenario,
            "format": args.format.extension(),
            "out": args.out.display().to_string(),
            "events": layout.events,
            "rows": rows,
            "bytes": bytes,
            "tables": tables,
            "elapsed_s": elapsed,
            "rows_per_s": rows_per_s,
        });
        say!("{v}");
    } else {
        say!(
            "exported      {} ({}, {}) as {}",
            args.file.display(),
            layout.header.scenario,
            &fingerprint_hex(&layout.fingerprint)[..16],
            args.format.extension()
        );
        say!("into          {}", args.out.display());
        for w in &written {
            say!(
                "  {:<24} {:>12} {} {:>10}  {}",
                w.kind.name(),
                human_count(w.rows),
                if w.rows == 1 { "row " } else { "rows" },
                human_bytes(w.bytes),
                file_name(w)
            );
        }
        say!(
            "total         {} rows in {} tables, {} ({elapsed:.2} s, {} rows/s)",
            human_count(rows),
            written.len(),
            human_bytes(bytes),
            human_count(rows_per_s as u64)
        );
    }
    Ok(ExitCode::from(EXIT_OK))
}

/// `--format trend-csv`: the trend system's seven files.
fn trend_csv(args: &Args) -> anyhow::Result<ExitCode> {
    use crate::trend_outputs::{self, OutputError, FILES};
    if !args.force {
        if let Some(path) = FILES.iter().map(|f| args.out.join(f)).find(|p| p.exists()) {
            eprintln!(
                "tape: {} exists (pass --force to replace the trend files, or choose another --out)",
                path.display()
            );
            return Ok(ExitCode::from(EXIT_INPUT));
        }
    }
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        eprintln!("tape: cannot make {}: {e}", args.out.display());
        return Ok(ExitCode::from(EXIT_INPUT));
    }
    let started = now();
    let counts = match trend_outputs::write(&args.file, &args.out) {
        Ok(c) => c,
        Err(OutputError::Read(e))
        | Err(OutputError::Metrics(crate::metrics::MetricsError::Read(e))) => {
            return Ok(report_read_error(&args.file, &e))
        }
        Err(e @ OutputError::Metrics(_)) => {
            eprintln!("tape: {}: {e}", args.file.display());
            return Ok(ExitCode::from(super::EXIT_FINDING));
        }
        Err(e) => {
            eprintln!("tape: {e}");
            return Ok(ExitCode::from(EXIT_INPUT));
        }
    };
    let elapsed = started.elapsed().as_secs_f64();
    let files: Vec<(&str, u64, u64)> = FILES
        .iter()
        .zip(counts)
        .map(|(f, rows)| {
            let bytes = std::fs::metadata(args.out.join(f)).map_or(0, |m| m.len());
            (*f, rows, bytes)
        })
        .collect();
    if args.json {
        let list: Vec<serde_json::Value> = files
            .iter()
            .map(|(f, rows, bytes)| serde_json::json!({ "file": f, "rows": rows, "bytes": bytes }))
            .collect();
        let v = serde_json::json!({
            "ledger": args.file.display().to_string(),
            "format": "trend-csv",
            "out": args.out.display().to_string(),
            "files": list,
            "elapsed_s": elapsed,
        });
        say!("{v}");
    } else {
        say!("exported      {} as trend-csv", args.file.display());
        say!("into          {}", args.out.display());
        for (f, rows, bytes) in &files {
            say!(
                "  {:<24} {:>12} {} {:>10}",
                f,
                human_count(*rows),
                if *rows == 1 { "row " } else { "rows" },
                human_bytes(*bytes)
            );
        }
        say!("elapsed       {elapsed:.2} s");
    }
    Ok(ExitCode::from(EXIT_OK))
}
