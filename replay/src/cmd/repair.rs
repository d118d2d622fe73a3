use std::path::PathBuf;
use std::process::ExitCode;

use tape_engine::ledger::{fingerprint_hex, repair, RepairError, RepairOutcome};

use super::{human_bytes, human_count, report_read_error, EXIT_INPUT, EXIT_OK};

/// Arguments of `tape repair`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The ledger to repair (in place, unless --out is given).
    pub file: PathBuf,
    /// Write the repaired ledger here and leave FILE untouched.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Keeps the longest valid prefix of a ledger with a torn tail and says what was dropped;
/// refuses to cut over corruption.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(out) = &args.out {
        if out.exists() {
            eprintln!(
                "tape: {} exists; choose another --out (repair never overwrites a file)",
                out.display()
            );
            return Ok(ExitCode::from(EXIT_INPUT));
        }
    }
    match repair(&args.file, args.out.as_deref()) {
        Ok(RepairOutcome::Intact { events }) => {
            say!(
                "OK: nothing to repair ({} events, the ledger is complete)",
                human_count(events)
            );
            Ok(ExitCode::from(EXIT_OK))
        }
        Ok(RepairOutcome::Repaired {
            cut_at,
            dropped_bytes,
            kept_events,
            fingerprint,
        }) => {
            let target = args.out.as_ref().unwrap_or(&args.file);
            let dropped = if dropped_bytes < 1_000 {
                format!("{dropped_bytes} bytes")
            } else {
                format!("{} ({dropped_bytes} bytes)", human_bytes(dropped_bytes))
            };
            say!(
                "repaired {}: cut the torn tail at byte {cut_at}, dropped {dropped}, kept {} events",
                target.display(),
                human_count(kept_events)
            );
            say!("fingerprint {}", fingerprint_hex(&fingerprint));
            Ok(ExitCode::from(EXIT_OK))
        }
        Err(RepairError::Read(e)) => Ok(report_read_error(&args.file, &e)),
        Err(e @ (RepairError::Write { .. } | RepairError::Locked { .. })) => {
            eprintln!("tape: {e}");
            Ok(ExitCode::from(EXIT_INPUT))
        }
    }
}
