//! Parquet files as a [`Table`] of typed cells, read in record batches so memory stays
//! constant in the file's length (it grows with the batch size and with one row group's
//! compressed pages, never with the number of rows).
//!
//! Columns are named by the file's schema and read by their Arrow type:
//!
//! | Arrow type                                              | Cell                  |
//! |---------------------------------------------------------|-----------------------|
//! | `Utf8`, `LargeUtf8`, `Utf8View`, `Dictionary(_, Utf8…)` | text                  |
//! | `Int8` … `Int64`, `UInt8` … `UInt64`                    | integer               |
//! | `Float32`, `Float64`                                    | float (NaN stays NaN) |
//! | `Decimal32`, `Decimal64`, `Decimal128`                  | float, by its scale   |
//! | `Timestamp` (any unit, any time zone)                   | instant (UTC)         |
//! | `Date32`, `Date64`                                      | date                  |
//! | `Null`, and any null value                              | missing               |
//!
//! # Invariants
//!
//! - Rows are numbered from 1, the first data row (a CSV numbers its header row 1, so the
//!   same bar is CSV row N + 1).
//! - A number reads as the CSV holding the same decimal would read: a decimal is converted
//!   with one correct rounding, and a `Float32` is taken as the shortest decimal it displays
//!   as (`150.12f32` is 150.12, not 150.1199951171875).
//!
//! # Known limitations
//!
//! - A column of any other type (booleans, binary, lists, structs, times of day, ...) is
//!   refused when the file is opened, even if no bar needs it.
//! - A `Timestamp` without a time zone is taken as UTC; Arrow stores every timestamp as an
//!   offset from the UTC epoch, so a zone only changes how it is displayed.

use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Decimal128Type, Decimal32Type, Decimal64Type, Float32Type, Float64Type,
    Int16Type, Int32Type, Int64Type, Int8Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::file::metadata::ParquetMetaData;
use tape_engine::time::{Ts, NANOS_PER_DAY};

use super::files::DataFile;
use super::table::{Cell, Table};
use super::{decimal_f64, displayed_f64, LoadError};

/// Rows decoded at a time: large enough to amortise decoding, small enough to stay in cache.
const BATCH_ROWS: usize = 4096;

/// Opens a data file as a table.
pub(crate) fn open(file: &DataFile) -> Result<Box<dyn Table>, LoadError> {
    Ok(Box::new(ParquetTable::new(file.shown(), file.path()?)?))
}

/// A Parquet file read forward, one record at a time.
pub struct ParquetTable {
    file: String,
    headers: Vec<String>,
    batches: ParquetRecordBatchReader,
    /// The current batch's columns.
    columns: Vec<Column>,
    /// Rows in the current batch.
    len: usize,
    /// The current record's index in the batch.
    index: usize,
    row: u64,
}

/// One column of the current batch.
struct Column {
    array: ArrayRef,
    /// For a dictionary column: each row's index into the dictionary's values.
    keys: Vec<usize>,
}

impl ParquetTable {
    /// Opens the Parquet file at `path`; `file` names it in errors.
    pub fn new(file: &str, path: &Path) -> Result<Self, LoadError> {
        let open_error = |detail: String| LoadError::Open {
            file: file.to_string(),
            detail,
        };
        let handle = File::open(path).map_err(|e| open_error(e.to_string()))?;
        let file_len = handle
            .metadata()
            .map_err(|e| open_error(e.to_string()))?
            .len();
        let builder = contained(|| ParquetRecordBatchReaderBuilder::try_new(handle))
            .map_err(&open_error)?
            .map_err(|e| open_error(format!("not a readable Parquet file ({e})")))?;
        check_column_ranges(builder.metadata(), file_len).map_err(open_error)?;
        let schema = builder.schema().clone();
        for field in schema.fields() {
            if !readable(field.data_type()) {
                return Err(LoadError::Columns {
                    file: file.to_string(),
                    detail: format!(
                        "column '{}' is of type {}, which Tape does not read; store it as text, an integer, a float, a decimal, a timestamp or a date, or leave it out of the file",
                        field.name(),
                        field.data_type()
                    ),
                });
            }
        }
        let batches = contained(|| builder.with_batch_size(BATCH_ROWS).build())
            .map_err(&open_error)?
            .map_err(|e| open_error(format!("not a readable Parquet file ({e})")))?;
        Ok(Self {
            file: file.to_string(),
            headers: schema.fields().iter().map(|f| f.name().clone()).collect(),
            batches,
            columns: Vec::new(),
            len: 0,
            index: 0,
            row: 0,
        })
    }

    /// Makes `batch` the current one.
    fn load(&mut self, batch: &RecordBatch) {
        self.columns = batch
            .columns()
            .iter()
            .map(|array| Column {
                array: array.clone(),
                keys: match array.as_any_dictionary_opt() {
                    // `normalized_keys` needs values; without any, every key is null.
                    Some(dict) if !dict.values().is_empty() => dict.normalized_keys(),
                    _ => Vec::new(),
                },
            })
            .collect();
        self.len = batch.num_rows();
        self.index = 0;
    }
}

thread_local! {
    /// Set while this thread is inside the Parquet decoder (see [`contained`]).
    static DECODING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `decode` (a call into the arrow/parquet crates) so that a panic in it becomes an
/// error naming the file instead of ending the process: those crates assert on some malformed
/// files (fuzzing found two such inputs, kept in `fuzz/regressions/parquet_loader/`), and a
/// damaged data file must get a sentence, not a crash. Nothing the loader owns is left half
/// updated: a caller drops the table after such an error.
fn contained<T>(decode: impl FnOnce() -> T) -> Result<T, String> {
    DECODING.with(|d| d.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode));
    DECODING.with(|d| d.set(false));
    result.map_err(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "an unexpected state".to_string());
        format!("the Parquet decoder failed on it ({what}), so the file is damaged; write it again")
    })
}

/// Wraps the process's panic hook so that it stays silent for a panic the Parquet decoder
/// raises inside [`contained`] (which turns it into an error) and behaves as before for every
/// other panic. Call once at start-up, before any Parquet file is read.
pub fn silence_contained_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !DECODING.with(std::cell::Cell::get) {
            previous(info);
        }
    }));
}

/// Checks every column chunk's byte range against the file before anything reads it: the
/// parquet crate asserts (panics) on a negative offset or size, and a range past the end can
/// only be a damaged file. Hostile metadata gets an error, never a panic.
fn check_column_ranges(metadata: &ParquetMetaData, file_len: u64) -> Result<(), String> {
    for (g, group) in metadata.row_groups().iter().enumerate() {
        for column in group.columns() {
            let start = column
                .dictionary_page_offset()
                .unwrap_or_else(|| column.data_page_offset());
            let len = column.compressed_size();
            let inside = u64::try_from(start)
                .ok()
                .zip(u64::try_from(len).ok())
                .and_then(|(s, l)| s.checked_add(l))
                .is_some_and(|end| end <= file_len);
            if !inside {
                return Err(format!(
                    "row group {g}, column '{}': its bytes ({start} + {len}) lie outside the {file_len}-byte file, so the file is damaged or incomplete; write it again",
                    column.column_path()
                ));
            }
        }
    }
    Ok(())
}

/// Whether cells of `data_type` can be read.
fn readable(data_type: &DataType) -> bool {
    use DataType as T;
    match data_type {
        T::Dictionary(_, values) => is_text(values),
        T::Null
        | T::Int8
        | T::Int16
        | T::Int32
        | T::Int64
        | T::UInt8
        | T::UInt16
        | T::UInt32
        | T::UInt64
        | T::Float32
        | T::Float64
        | T::Decimal32(..)
        | T::Decimal64(..)
        | T::Decimal128(..)
        | T::Timestamp(..)
        | T::Date32
        | T::Date64 => true,
        other => is_text(other),
    }
}

fn is_text(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

/// The text at `i` of a string array.
fn text_at(array: &dyn Array, i: usize) -> Option<&str> {
    match array.data_type() {
        DataType::Utf8 => Some(array.as_string_opt::<i32>()?.value(i)),
        DataType::LargeUtf8 => Some(array.as_string_opt::<i64>()?.value(i)),
        DataType::Utf8View => Some(array.as_string_view_opt()?.value(i)),
        _ => None,
    }
}

/// The value at `i` (not null) of a column of a readable type; `None` if it cannot be
/// represented (a date or time beyond the years 1677–2262 that `Ts` spans).
fn value(column: &Column, i: usize) -> Option<Cell<'_>> {
    let array = column.array.as_ref();
    macro_rules! int {
        ($t:ty) => {
            Cell::Int(i64::from(array.as_primitive_opt::<$t>()?.value(i)))
        };
    }
    macro_rules! decimal {
        ($t:ty, $scale:expr) => {
            Cell::Float(decimal_f64(
                i128::from(array.as_primitive_opt::<$t>()?.value(i)),
                -i32::from($scale),
            ))
        };
    }
    macro_rules! time {
        ($t:ty, $nanos:expr) => {
            Cell::Time(Ts(array
                .as_primitive_opt::<$t>()?
                .value(i)
                .checked_mul($nanos)?))
        };
    }
    Some(match array.data_type() {
        DataType::Null => Cell::Null,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Cell::Text(text_at(array, i)?),
        DataType::Dictionary(..) => {
            let values = array.as_any_dictionary_opt()?.values().as_ref();
            let key = *column.keys.get(i)?;
            if values.is_null(key) {
                Cell::Null
            } else {
                Cell::Text(text_at(values, key)?)
            }
        }
        DataType::Int8 => int!(Int8Type),
        DataType::Int16 => int!(Int16Type),
        DataType::Int32 => int!(Int32Type),
        DataType::Int64 => int!(Int64Type),
        DataType::UInt8 => int!(UInt8Type),
        DataType::UInt16 => int!(UInt16Type),
        DataType::UInt32 => int!(UInt32Type),
        DataType::UInt64 => {
            let v = array.as_primitive_opt::<UInt64Type>()?.value(i);
            i64::try_from(v).map_or(Cell::Float(v as f64), Cell::Int)
        }
        DataType::Float32 => {
            let v = array.as_primitive_opt::<Float32Type>()?.value(i);
            // The decimal it was written from, as far as an f32 can tell.
            Cell::Float(displayed_f64(format_args!("{v}")).unwrap_or(f64::from(v)))
        }
        DataType::Float64 => Cell::Float(array.as_primitive_opt::<Float64Type>()?.value(i)),
        DataType::Decimal32(_, scale) => decimal!(Decimal32Type, *scale),
        DataType::Decimal64(_, scale) => decimal!(Decimal64Type, *scale),
        DataType::Decimal128(_, scale) => decimal!(Decimal128Type, *scale),
        DataType::Timestamp(TimeUnit::Second, _) => time!(TimestampSecondType, 1_000_000_000),
        DataType::Timestamp(TimeUnit::Millisecond, _) => time!(TimestampMillisecondType, 1_000_000),
        DataType::Timestamp(TimeUnit::Microsecond, _) => time!(TimestampMicrosecondType, 1_000),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => time!(TimestampNanosecondType, 1),
        DataType::Date32 => {
            let days = i64::from(array.as_primitive_opt::<Date32Type>()?.value(i));
            Cell::Date(Ts(days.checked_mul(NANOS_PER_DAY)?))
        }
        DataType::Date64 => {
            // Milliseconds, meant to be a midnight; a stray time of day is dropped.
            let ms = array.as_primitive_opt::<Date64Type>()?.value(i);
            let days = ms.div_euclid(NANOS_PER_DAY / 1_000_000);
            Cell::Date(Ts(days.checked_mul(NANOS_PER_DAY)?))
        }
        _ => return None,
    })
}

impl Table for ParquetTable {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn advance(&mut self) -> Result<bool, LoadError> {
        self.index += 1;
        // Batches can be empty (an empty row group): skip them.
        while self.index >= self.len {
            let next = contained(|| self.batches.next()).map_err(|detail| LoadError::Row {
                file: self.file.clone(),
                row: self.row + 1,
                detail,
            })?;
            match next {
                None => return Ok(false),
                Some(Ok(batch)) => self.load(&batch),
                Some(Err(e)) => {
                    return Err(LoadError::Row {
                        file: self.file.clone(),
                        row: self.row + 1,
                        detail: format!("cannot be read ({e}); the file may be damaged"),
                    })
                }
            }
        }
        self.row += 1;
        Ok(true)
    }

    fn cell(&self, column: usize) -> Cell<'_> {
        let Some(col) = self.columns.get(column) else {
            return Cell::Null;
        };
        if self.index >= col.array.len() || col.array.is_null(self.index) {
            return Cell::Null;
        }
        value(col, self.index).unwrap_or(Cell::Null)
    }

    fn row(&self) -> u64 {
        self.row
    }

    fn file(&self) -> &str {
        &self.file
    }
}
