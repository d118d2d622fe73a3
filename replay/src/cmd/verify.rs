use std::path::PathBuf;
use std::process::ExitCode;

use tape_engine::ledger::{fingerprint_hex, LedgerReader};

use super::{human_bytes, human_count, now, report_read_error, EXIT_OK};
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
    let result = LedgerReader::open(&args.file).and_then(|mut reader| {
        let mut n = 0u64;
        while reader.next_event()?.is_some() {
            n += 1;
            if n.is_multiple_of(crate::drive::PROGRESS_EVERY) {
                progress.set(reader.offset());
            }
        }
        reader.summary()
    });
    progress.finish();
    let summary = match result {
        Ok(s) => s,
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
