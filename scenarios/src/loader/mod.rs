//! Loaders for users' data, and the data guard that checks every bar they deliver.

/// CSV and gzip-compressed CSV files as tables.
pub mod csv;
/// Point-in-time feature tables.
pub mod features;
/// Bar files of every format, and the guard run over their rows.
pub mod files;
/// The data guard: per-check policies and the data report.
pub mod guard;
/// Records with named columns, shared by CSV and Parquet.
pub mod table;

/// Databento DBN files of OHLCV bars (a build with the `dbn` feature).
#[cfg(feature = "dbn")]
pub mod dbn;
/// Parquet files as tables of typed cells (a build with the `parquet` feature).
#[cfg(feature = "parquet")]
pub mod parquet;

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

/// `mantissa × 10^exponent`, correctly rounded: the number parsing that decimal from text
/// gives, so a price stored as an integer of 1e-9 units (DBN) or as a decimal (Parquet) equals
/// the same price read from a CSV.
#[cfg(any(feature = "parquet", feature = "dbn"))]
fn decimal_f64(mantissa: i128, exponent: i32) -> f64 {
    // Powers of ten that f64 holds exactly.
    const EXACT: [f64; 23] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];
    let power = EXACT.get(exponent.unsigned_abs() as usize);
    match power {
        // Both operands exact, so the one rounding is IEEE's: the correctly rounded result.
        Some(&p) if mantissa.unsigned_abs() <= 1 << 53 => {
            if exponent < 0 {
                mantissa as f64 / p
            } else {
                mantissa as f64 * p
            }
        }
        // Rust's float parsing rounds correctly whatever the digits.
        _ => displayed_f64(format_args!("{mantissa}e{exponent}")).unwrap_or(f64::NAN),
    }
}

/// The f64 that text written by `args` parses as, without allocating.
#[cfg(any(feature = "parquet", feature = "dbn"))]
fn displayed_f64(args: std::fmt::Arguments<'_>) -> Option<f64> {
    struct Buffer {
        bytes: [u8; 96],
        len: usize,
    }
    impl std::fmt::Write for Buffer {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            let end = self.len + s.len();
            let to = self.bytes.get_mut(self.len..end).ok_or(std::fmt::Error)?;
            to.copy_from_slice(s.as_bytes());
            self.len = end;
            Ok(())
        }
    }
    let mut buffer = Buffer {
        bytes: [0; 96],
        len: 0,
    };
    std::fmt::write(&mut buffer, args).ok()?;
    std::str::from_utf8(&buffer.bytes[..buffer.len])
        .ok()?
        .parse()
        .ok()
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
