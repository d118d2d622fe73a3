//! Loaders for users' data, and the data guard that checks every bar they deliver.

/// CSV and gzip-compressed CSV files.
pub mod csv;
/// The data guard: per-check policies and the data report.
pub mod guard;

use tape_engine::sequencer::TimedInput;

/// A stream of inputs in time order — bars, and the data guard's notes on them — from a file
/// or a generator.
pub type BarSource = Box<dyn Iterator<Item = Result<TimedInput, LoadError>> + Send>;

/// Why data could not be loaded. Each names the file and, for rows, the row number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// A file cannot be opened or read.
    #[error("{file}: {detail}")]
    Open { file: String, detail: String },
    /// The header lacks a needed column.
    #[error("{file}: {detail}")]
    Columns { file: String, detail: String },
    /// A row cannot be parsed.
    #[error("{file}, row {row}: {detail}")]
    Row {
        file: String,
        row: u64,
        detail: String,
    },
    /// A row fails a data-guard check whose policy is `reject`.
    #[error("{file}, row {row}: {check}: {detail} (fix the data, or set [market.guard] {check} = \"quarantine\")")]
    Rejected {
        file: String,
        row: u64,
        check: &'static str,
        detail: String,
    },
}
