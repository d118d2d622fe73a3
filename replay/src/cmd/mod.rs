//! One module per CLI verb; each `run` returns the process exit code:
//! 0 fine, 1 a finding (divergence, corruption), 2 cannot proceed (usage, input).

/// Prints a line on stdout; when the reader has gone away (`tape … | head`), exits quietly.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            $crate::cmd::stdout_failed(e)
        }
    }};
}

/// `tape audit`.
pub mod audit;
/// `tape bench`.
pub mod bench;
/// `tape compare`.
pub mod compare;
/// `tape diff`.
pub mod diff;
/// `tape explain`.
pub mod explain;
/// `tape export`.
pub mod export;
/// `tape fuzz`.
pub mod fuzz;
/// `tape hash`.
pub mod hash;
/// `tape metrics`.
pub mod metrics;
/// `tape repair`.
pub mod repair;
/// `tape replay`.
pub mod replay;
/// `tape report`.
pub mod report;
/// `tape run`.
pub mod run;
/// `tape scenarios`.
pub mod scenarios;
/// `tape show`.
pub mod show;
/// `tape sweep`.
pub mod sweep;
/// `tape verify`.
pub mod verify;

use std::path::Path;
use std::process::ExitCode;

use tape_engine::ledger::LedgerReadError;

/// Exit code: all fine.
pub const EXIT_OK: u8 = 0;
/// Exit code: a finding (divergence, corruption, torn tail).
pub const EXIT_FINDING: u8 = 1;
/// Exit code: cannot proceed (usage error, missing or unreadable input).
pub const EXIT_INPUT: u8 = 2;

/// Reports a ledger read error in one sentence and returns its exit code: 1 for damage
/// found, 2 for a file that cannot be read as a ledger at all.
pub fn report_read_error(path: &Path, error: &LedgerReadError) -> ExitCode {
    let hint = match error {
        LedgerReadError::Io { source } if source.kind() == std::io::ErrorKind::NotFound => {
            " (check the path)"
        }
        _ => "",
    };
    eprintln!("tape: {}: {error}{hint}", path.display());
    ExitCode::from(if error.is_damage() {
        EXIT_FINDING
    } else {
        EXIT_INPUT
    })
}

/// Ends the process after stdout failed: quietly (0) for a closed pipe, else exit 2.
pub fn stdout_failed(error: std::io::Error) -> ! {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(i32::from(EXIT_OK));
    }
    eprintln!("tape: cannot write to standard output: {error}");
    std::process::exit(i32::from(EXIT_INPUT));
}

/// Formats a byte count for people.
pub fn human_bytes(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1} kB", b / 1e3)
    } else {
        format!("{bytes} B")
    }
}

/// Formats a count with thousands separators.
pub fn human_count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Seconds since `start`, for reporting only: the wall clock never reaches the core.
#[allow(clippy::disallowed_methods)]
pub fn now() -> std::time::Instant {
    std::time::Instant::now()
}
