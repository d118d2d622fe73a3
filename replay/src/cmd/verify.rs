use std::path::PathBuf;
use std::process::ExitCode;

use tape_engine::ledger::{
    fingerprint_hex, is_being_written, LedgerReadError, LedgerReader, LedgerSummary,
};

use super::{human_bytes, human_count, now, report_read_error, EXIT_FINDING, EXIT_OK};
use crate::progress::Progress;

/// Arguments of `tape verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The ledger to check.
    pub file: PathBuf,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Checks every checksum and the hash chain; prints OK with the fingerprint or the first bad
/// offset.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let total = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    let progress = Progress::new(total, "bytes", args.json).with_message("verify");
    let started = now();
    let mut read = ReadSoFar::default();
    let result = read_whole(&args.file, &progress, &mut read);
    progress.finish();
    let summary = match result {
        Ok(s) => s,
        Err(LedgerReadError::TornTail { offset, .. }) if is_being_written(&args.file) => {
            return Ok(report_still_being_written(&args, &read, offset));
        }
        Err(e) => {
            if args.json {
                let v = serde_json::json!({ "ok": false, "error": e.to_string(), "offset": e.offset() });
                say!("{v}");
            }
            return Ok(report_read_error(&args.file, &e));
        }
    };
    let elapsed = started.elapsed().as_secs_f64();
    let mb_per_s = if elapsed > 0.0 {
        summary.bytes as f64 / 1e6 / elapsed
    } else {
        0.0
    };
    let fingerprint = fingerprint_hex(&summary.fingerprint);
    if args.json {
        let v = serde_json::json!({
            "ok": true,
            "fingerprint": fingerprint,
            "events": summary.events,
            "blocks": summary.blocks,
            "bytes": summary.bytes,
            "repaired": summary.repaired,
            "elapsed_s": elapsed,
            "mb_per_s": mb_per_s,
        });
        say!("{v}");
    } else {
        let repaired = if summary.repaired {
            ", closed by `tape repair`"
        } else {
            ""
        };
        say!(
            "OK {fingerprint} ({} events, {} blocks, {}{repaired}; {mb_per_s:.0} MB/s)",
            human_count(summary.events),
            human_count(summary.blocks),
            human_bytes(summary.bytes)
        );
    }
    Ok(ExitCode::from(EXIT_OK))
}

/// How far a read got: what a ledger still being written shows so far.
#[derive(Default)]
struct ReadSoFar {
    events: u64,
    sealed_through: u64,
    durable_bytes: Option<u64>,
}

fn read_whole(
    path: &std::path::Path,
    progress: &Progress,
    so_far: &mut ReadSoFar,
) -> Result<LedgerSummary, LedgerReadError> {
    let mut reader = LedgerReader::open(path)?;
    so_far.durable_bytes = reader.durable_bytes();
    let result = (|| {
        while reader.next_event()?.is_some() {
            so_far.events += 1;
            if so_far.events.is_multiple_of(crate::drive::PROGRESS_EVERY) {
                progress.set(reader.offset());
            }
        }
        reader.summary()
    })();
    so_far.sealed_through = reader.sealed_through();
    result
}

/// A torn tail whose writer still holds the lock is a run still going: say what is whole,
/// sealed and durable so far instead of calling it damage. Exit 1: it is not (yet) a
/// complete ledger.
fn report_still_being_written(args: &Args, read: &ReadSoFar, end: u64) -> ExitCode {
    let durable = read
        .durable_bytes
        .map_or("none reported durable".to_string(), |d| {
            format!("{} reported durable", human_bytes(d))
        });
    if args.json {
        let v = serde_json::json!({
            "ok": false, "being_written": true, "events": read.events,
            "sealed_through": read.sealed_through, "offset": end,
            "durable_bytes": read.durable_bytes,
            "error": "the ledger is still being written",
        });
        say!("{v}");
    }
    eprintln!(
        "tape: {} is still being written: {} events verified so far, through byte {end} ({} sealed, {durable}); verify it again once its run has finished",
        args.file.display(),
        human_count(read.events),
        human_bytes(read.sealed_through),
    );
    ExitCode::from(EXIT_FINDING)
}
