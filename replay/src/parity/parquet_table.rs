//! Parquet tables as typed cells, read in record batches (memory holds one batch).
//!
//! | Arrow type | type in the manifest | cell |
//! |---|---|---|
//! | `Boolean` | `boolean` | boolean |
//! | `Int8` … `Int64`, `UInt8` … `UInt64` | `int8` … `uint64` | integer |
//! | `Float32`, `Float64` | `float32`, `float64` | float (a `Float32` widened exactly) |
//! | `Decimal32/64/128(p, s)` | `decimal128(p, s)` … | exact decimal |
//! | `Utf8`, `LargeUtf8`, `Utf8View`, `Dictionary(_, Utf8…)` | `string` | text |
//! | `Timestamp(unit, zone)` | `timestamp[ns, UTC]` … | instant, in nanoseconds |
//! | `Date32`, `Date64` | `date32`, `date64` | date |
//! | `List`/`LargeList` of the above | `list<int64>` … | text: `[1 2 3]` |
//! | `Null` | `null` | missing |
//!
//! The table hash is BLAKE3 over the column names (count, then each name's length and
//! bytes), then every cell row by row, each as its decoded value ([`Cell::hash_into`]):
//! compression, encodings, dictionaries, row groups, page sizes and a decimal's trailing
//! zeros do not change it.

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

use super::files::StreamHasher;
use super::table::{Cell, Column, ColumnKind, Rows, TableSummary};
use super::ParityError;

/// Rows decoded at a time.
const BATCH_ROWS: usize = 8192;

const NANOS_PER_DAY: i64 = tape_engine::time::NANOS_PER_DAY;

/// The manifest's name and the comparison kind of an Arrow type; `None` if not read.
fn column_type(data_type: &DataType) -> Option<(String, ColumnKind)> {
    use DataType as T;
    let plain = |s: &str, k| Some((s.to_string(), k));
    match data_type {
        T::Null => plain("null", ColumnKind::Empty),
        T::Boolean => plain("boolean", ColumnKind::Boolean),
        T::Int8 => plain("int8", ColumnKind::Integer),
        T::Int16 => plain("int16", ColumnKind::Integer),
        T::Int32 => plain("int32", ColumnKind::Integer),
        T::Int64 => plain("int64", ColumnKind::Integer),
        T::UInt8 => plain("uint8", ColumnKind::Integer),
        T::UInt16 => plain("uint16", ColumnKind::Integer),
        T::UInt32 => plain("uint32", ColumnKind::Integer),
        T::UInt64 => plain("uint64", ColumnKind::Integer),
        T::Float32 => plain("float32", ColumnKind::Float),
        T::Float64 => plain("float64", ColumnKind::Float),
        T::Decimal32(p, s) => Some((format!("decimal32({p}, {s})"), ColumnKind::Decimal)),
        T::Decimal64(p, s) => Some((format!("decimal64({p}, {s})"), ColumnKind::Decimal)),
        T::Decimal128(p, s) => Some((format!("decimal128({p}, {s})"), ColumnKind::Decimal)),
        T::Utf8 | T::LargeUtf8 | T::Utf8View => plain("string", ColumnKind::Text),
        T::Dictionary(_, values) if is_text(values) => plain("string", ColumnKind::Text),
        T::Timestamp(unit, zone) => {
            let unit = match unit {
                TimeUnit::Second => "s",
                TimeUnit::Millisecond => "ms",
                TimeUnit::Microsecond => "us",
                TimeUnit::Nanosecond => "ns",
            };
            let zone = zone.as_deref().unwrap_or("none");
            Some((format!("timestamp[{unit}, {zone}]"), ColumnKind::Time))
        }
        T::Date32 => plain("date32", ColumnKind::Date),
        T::Date64 => plain("date64", ColumnKind::Date),
        T::List(item) | T::LargeList(item) => {
            let (inner, kind) = column_type(item.data_type())?;
            (!matches!(item.data_type(), T::List(_) | T::LargeList(_)) && kind != ColumnKind::Empty)
                .then(|| (format!("list<{inner}>"), ColumnKind::Text))
        }
        _ => None,
    }
}

fn is_text(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

/// Opens a Parquet file: its reader and its columns, every type checked.
fn open(path: &Path, shown: &str) -> Result<(ParquetRecordBatchReader, Vec<Column>), ParityError> {
    let bad = |detail: String| ParityError::Parquet {
        path: shown.to_string(),
        detail,
    };
    let file = File::open(path).map_err(|source| ParityError::Io {
        path: shown.to_string(),
        source,
    })?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| bad(e.to_string()))?;
    let mut columns = Vec::new();
    for field in builder.schema().fields() {
        let (type_name, kind) =
            column_type(field.data_type()).ok_or_else(|| ParityError::ParquetColumn {
                path: shown.to_string(),
                column: field.name().clone(),
                data_type: field.data_type().to_string(),
            })?;
        columns.push(Column {
            name: field.name().clone(),
            type_name,
            kind,
        });
    }
    let reader = builder
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| bad(e.to_string()))?;
    Ok((reader, columns))
}

/// Reads a Parquet file whole once: rows, column types, table hash.
pub fn summarise(path: &Path, shown: &str) -> Result<TableSummary, ParityError> {
    let mut rows = ParquetRows::open(path, shown)?;
    let mut hasher = StreamHasher::new();
    hasher.update(&(rows.columns.len() as u64).to_le_bytes());
    for c in &rows.columns {
        hasher.update(&(c.name.len() as u64).to_le_bytes());
        hasher.update(c.name.as_bytes());
    }
    let width = rows.columns.len();
    let mut count = 0u64;
    while rows.advance()? {
        count += 1;
        for i in 0..width {
            rows.cell(i).hash_into(&mut hasher);
        }
    }
    Ok(TableSummary {
        format: "parquet",
        rows: count,
        columns: rows.columns,
        blake3: hasher.finish(),
    })
}

/// One column of the current batch.
struct BatchColumn {
    array: ArrayRef,
    /// A dictionary column: each row's index into its values.
    keys: Vec<usize>,
    /// A list column: each row as text (`None` for null).
    texts: Vec<Option<String>>,
}

/// A Parquet file read forward, row by row.
pub struct ParquetRows {
    shown: String,
    reader: ParquetRecordBatchReader,
    columns: Vec<Column>,
    batch: Vec<BatchColumn>,
    len: usize,
    /// The current row in the batch, plus one (0 before the first).
    next: usize,
    done: bool,
}

impl ParquetRows {
    /// Opens the file.
    pub fn open(path: &Path, shown: &str) -> Result<Self, ParityError> {
        let (reader, columns) = open(path, shown)?;
        Ok(Self {
            shown: shown.to_string(),
            reader,
            columns,
            batch: Vec::new(),
            len: 0,
            next: 0,
            done: false,
        })
    }

    fn load(&mut self, batch: &RecordBatch) {
        self.batch = batch
            .columns()
            .iter()
            .map(|array| BatchColumn {
                array: array.clone(),
                keys: match array.as_any_dictionary_opt() {
                    Some(dict) if !dict.values().is_empty() => dict.normalized_keys(),
                    _ => Vec::new(),
                },
                texts: list_texts(array.as_ref()),
            })
            .collect();
        self.len = batch.num_rows();
        self.next = 0;
    }
}

impl Rows for ParquetRows {
    fn advance(&mut self) -> Result<bool, ParityError> {
        if self.done {
            return Ok(false);
        }
        // Batches can be empty (an empty row group): skip them.
        while self.next >= self.len {
            match self.reader.next() {
                None => {
                    self.done = true;
                    return Ok(false);
                }
                Some(Ok(batch)) => self.load(&batch),
                Some(Err(e)) => {
                    return Err(ParityError::Parquet {
                        path: self.shown.clone(),
                        detail: e.to_string(),
                    })
                }
            }
        }
        self.next += 1;
        Ok(true)
    }

    fn cell(&self, column: usize) -> Cell<'_> {
        let Some(col) = self.batch.get(column) else {
            return Cell::Null;
        };
        let i = self.next.wrapping_sub(1);
        if i >= col.array.len() || col.array.is_null(i) {
            return Cell::Null;
        }
        if !col.texts.is_empty() {
            return col
                .texts
                .get(i)
                .and_then(|t| t.as_deref())
                .map_or(Cell::Null, Cell::Text);
        }
        if !col.keys.is_empty() {
            let Some(dict) = col.array.as_any_dictionary_opt() else {
                return Cell::Null;
            };
            let values = dict.values().as_ref();
            return match col.keys.get(i) {
                Some(&k) if !values.is_null(k) => value(values, k).unwrap_or(Cell::Null),
                _ => Cell::Null,
            };
        }
        value(col.array.as_ref(), i).unwrap_or(Cell::Null)
    }
}

/// Each row of a list column as text; empty for any other column.
fn list_texts(array: &dyn Array) -> Vec<Option<String>> {
    let render = |items: ArrayRef| {
        let parts: Vec<String> = (0..items.len())
            .map(|j| {
                if items.is_null(j) {
                    "null".to_string()
                } else {
                    value(items.as_ref(), j).map_or_else(|| "null".to_string(), |c| c.text())
                }
            })
            .collect();
        format!("[{}]", parts.join(" "))
    };
    if let Some(list) = array.as_list_opt::<i32>() {
        return (0..list.len())
            .map(|i| (!list.is_null(i)).then(|| render(list.value(i))))
            .collect();
    }
    if let Some(list) = array.as_list_opt::<i64>() {
        return (0..list.len())
            .map(|i| (!list.is_null(i)).then(|| render(list.value(i))))
            .collect();
    }
    Vec::new()
}

/// The value at `i` (not null) of a plain (not dictionary, not list) array.
fn value(array: &dyn Array, i: usize) -> Option<Cell<'_>> {
    macro_rules! int {
        ($t:ty) => {
            Cell::Int(i128::from(array.as_primitive_opt::<$t>()?.value(i)))
        };
    }
    macro_rules! decimal {
        ($t:ty, $scale:expr) => {
            Cell::Decimal(
                i128::from(array.as_primitive_opt::<$t>()?.value(i)),
                u32::try_from($scale).ok()?,
            )
        };
    }
    macro_rules! time {
        ($t:ty, $nanos:expr) => {{
            let raw = array.as_primitive_opt::<$t>()?.value(i);
            raw.checked_mul($nanos)
                .map_or(Cell::Int(i128::from(raw)), Cell::Time)
        }};
    }
    Some(match array.data_type() {
        DataType::Boolean => Cell::Bool(array.as_boolean_opt()?.value(i)),
        DataType::Utf8 => Cell::Text(array.as_string_opt::<i32>()?.value(i)),
        DataType::LargeUtf8 => Cell::Text(array.as_string_opt::<i64>()?.value(i)),
        DataType::Utf8View => Cell::Text(array.as_string_view_opt()?.value(i)),
        DataType::Int8 => int!(Int8Type),
        DataType::Int16 => int!(Int16Type),
        DataType::Int32 => int!(Int32Type),
        DataType::Int64 => int!(Int64Type),
        DataType::UInt8 => int!(UInt8Type),
        DataType::UInt16 => int!(UInt16Type),
        DataType::UInt32 => int!(UInt32Type),
        DataType::UInt64 => int!(UInt64Type),
        DataType::Float32 => {
            Cell::Float(f64::from(array.as_primitive_opt::<Float32Type>()?.value(i)))
        }
        DataType::Float64 => Cell::Float(array.as_primitive_opt::<Float64Type>()?.value(i)),
        DataType::Decimal32(_, s) => decimal!(Decimal32Type, *s),
        DataType::Decimal64(_, s) => decimal!(Decimal64Type, *s),
        DataType::Decimal128(_, s) => decimal!(Decimal128Type, *s),
        DataType::Timestamp(TimeUnit::Second, _) => time!(TimestampSecondType, 1_000_000_000),
        DataType::Timestamp(TimeUnit::Millisecond, _) => time!(TimestampMillisecondType, 1_000_000),
        DataType::Timestamp(TimeUnit::Microsecond, _) => time!(TimestampMicrosecondType, 1_000),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => time!(TimestampNanosecondType, 1),
        DataType::Date32 => Cell::Date(i64::from(array.as_primitive_opt::<Date32Type>()?.value(i))),
        DataType::Date64 => {
            // Milliseconds, meant to be a midnight.
            let ms = array.as_primitive_opt::<Date64Type>()?.value(i);
            Cell::Date(ms.div_euclid(NANOS_PER_DAY / 1_000_000))
        }
        _ => return None,
    })
}
