//! Loaders for users' data, and the data guard that checks every bar they deliver.

/// CSV and gzip-compressed CSV files as tables.
pub mod csv;
/// Bar files of every format, and the guard run over their rows.
pub mod files;
/// The data guard: per-check policies and the data report.
pub mod guard;
/// Records with named columns, shared by CSV and Parquet.
pub mod table;

#[cfg(not(feature = "parquet"))]
mod parquet {
    use super::files::DataFile;
    use super::table::Table;
    use super::LoadError;

    pub(crate) fn open(file: &DataFile) -> Result<Box<dyn Table>, LoadError> {
        Err(super::not_built(file.shown(), "parquet"))
    }
}

#[cfg(not(feature = "dbn"))]
mod dbn {
    use super::files::{BarRows, DataFile};
    use super::table::TimeRule;
    use super::LoadError;

    pub(crate) fn open(file: &DataFile, _: TimeRule) -> Result<Box<dyn BarRows>, LoadError> {
        Err(super::not_built(file.shown(), "dbn"))
    }
}

/// The error for a format this build was compiled without.
#[cfg_attr(all(feature = "parquet", feature = "dbn"), allow(dead_code))]
fn not_built(file: &str, feature: &str) -> LoadError {
    LoadError::Open {
        file: file.to_string(),
        detail: format!(
            "this build of tape reads no {feature} files; build it with `cargo build --release --features {feature}` (or `--features formats` for every format)"
        ),
    }
}

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
