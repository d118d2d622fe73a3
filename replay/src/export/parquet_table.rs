//! One table as Parquet: typed columns, zstd-compressed, one row group per
//! [`ROWS_PER_GROUP`] rows, so at most that many rows of a table are in memory.
//!
//! | column type | Arrow type | Parquet physical / logical type |
//! |---|---|---|
//! | `uint64` | `UInt64` | `INT64` / `INTEGER(64, unsigned)` |
//! | `int64` | `Int64` | `INT64` |
//! | `float64` | `Float64` | `DOUBLE` |
//! | price, quantity | `Decimal128(19, 8)` | `FIXED_LEN_BYTE_ARRAY(9)` / `DECIMAL(19, 8)` |
//! | money | `Decimal128(19, 6)` | `FIXED_LEN_BYTE_ARRAY(9)` / `DECIMAL(19, 6)` |
//! | `string` | `Utf8` | `BYTE_ARRAY` / `STRING` |
//! | `ts` | `Timestamp(ns, "UTC")` | `INT64` / `TIMESTAMP(NANOS, UTC)` |
//! | `causes` | `List<UInt64>` | a `LIST` of `INT64` / `INTEGER(64, unsigned)` |

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::builder::{
    Decimal128Builder, Float64Builder, Int64Builder, ListBuilder, StringBuilder,
    TimestampNanosecondBuilder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use tape_engine::ledger::fingerprint_hex;
use tempfile::NamedTempFile;

use super::{
    Cell, ColumnType, ExportError, Layout, Table, TableWriter, DECIMAL_PRECISION, ROWS_PER_GROUP,
};

/// The Arrow type of a column.
fn data_type(ty: ColumnType) -> DataType {
    match ty {
        ColumnType::UInt64 => DataType::UInt64,
        ColumnType::Int64 => DataType::Int64,
        ColumnType::Float64 => DataType::Float64,
        ColumnType::Price | ColumnType::Quantity | ColumnType::Money => {
            DataType::Decimal128(DECIMAL_PRECISION, ty.scale().expect("a decimal type"))
        }
        ColumnType::Text => DataType::Utf8,
        ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
        ColumnType::Seqs => DataType::List(seq_item()),
    }
}

/// The item of a causes list: a seq, never null.
fn seq_item() -> Arc<Field> {
    Arc::new(Field::new("item", DataType::UInt64, false))
}

/// A column's values while its row group fills.
enum Builder {
    UInt64(UInt64Builder),
    Int64(Int64Builder),
    Float64(Float64Builder),
    Decimal(Decimal128Builder),
    Text(StringBuilder),
    Timestamp(TimestampNanosecondBuilder),
    Seqs(ListBuilder<UInt64Builder>),
}

impl Builder {
    fn new(ty: ColumnType) -> Self {
        match ty {
            ColumnType::UInt64 => Builder::UInt64(UInt64Builder::new()),
            ColumnType::Int64 => Builder::Int64(Int64Builder::new()),
            ColumnType::Float64 => Builder::Float64(Float64Builder::new()),
            ColumnType::Price | ColumnType::Quantity | ColumnType::Money => Builder::Decimal(
                Decimal128Builder::new()
                    .with_precision_and_scale(
                        DECIMAL_PRECISION,
                        ty.scale().expect("a decimal type"),
                    )
                    .expect("precision 19 with scale 6 or 8 is a valid decimal"),
            ),
            ColumnType::Text => Builder::Text(StringBuilder::new()),
            ColumnType::Timestamp => {
                Builder::Timestamp(TimestampNanosecondBuilder::new().with_timezone("UTC"))
            }
            ColumnType::Seqs => {
                Builder::Seqs(ListBuilder::new(UInt64Builder::new()).with_field(seq_item()))
            }
        }
    }

    fn append(&mut self, cell: &Cell) {
        match (self, cell) {
            (Builder::UInt64(b), Cell::U64(v)) => b.append_value(*v),
            (Builder::Int64(b), Cell::I64(v)) => b.append_value(*v),
            (Builder::Float64(b), Cell::F64(v)) => b.append_value(*v),
            (Builder::Decimal(b), Cell::Price(p)) => b.append_value(p.raw().into()),
            (Builder::Decimal(b), Cell::Quantity(q)) => b.append_value(q.raw().into()),
            (Builder::Decimal(b), Cell::Money(m)) => b.append_value(m.raw().into()),
            (Builder::Text(b), Cell::Text(t)) => b.append_value(t),
            (Builder::Timestamp(b), Cell::Ts(ts)) => b.append_value(ts.0),
            (Builder::Seqs(b), Cell::Seqs(causes)) => {
                for seq in causes.as_slice() {
                    b.values().append_value(seq.0);
                }
                b.append(true);
            }
            (Builder::UInt64(b), Cell::Null) => b.append_null(),
            (Builder::Int64(b), Cell::Null) => b.append_null(),
            (Builder::Float64(b), Cell::Null) => b.append_null(),
            (Builder::Decimal(b), Cell::Null) => b.append_null(),
            (Builder::Text(b), Cell::Null) => b.append_null(),
            (Builder::Timestamp(b), Cell::Null) => b.append_null(),
            (Builder::Seqs(b), Cell::Null) => b.append(false),
            // Cells are made from the same columns (`Table::fill`): a mismatch is a bug.
            (_, cell) => unreachable!("a {cell:?} cell in a column of another type"),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::UInt64(b) => Arc::new(b.finish()),
            Builder::Int64(b) => Arc::new(b.finish()),
            Builder::Float64(b) => Arc::new(b.finish()),
            Builder::Decimal(b) => Arc::new(b.finish()),
            Builder::Text(b) => Arc::new(b.finish()),
            Builder::Timestamp(b) => Arc::new(b.finish()),
            Builder::Seqs(b) => Arc::new(b.finish()),
        }
    }
}

/// A Parquet table being written to its temporary file.
pub struct ParquetTable {
    tmp: NamedTempFile,
    writer: ArrowWriter<File>,
    schema: SchemaRef,
    builders: Vec<Builder>,
    buffered: usize,
    path: PathBuf,
}

impl ParquetTable {
    /// Opens the table with its schema, and the ledger's fingerprint, scenario and the kind
    /// in the file's key-value metadata.
    pub fn new(
        tmp: NamedTempFile,
        file: File,
        path: PathBuf,
        table: &Table,
        layout: &Layout,
    ) -> Result<Self, ExportError> {
        let fields: Vec<Field> = table
            .columns
            .iter()
            .map(|c| Field::new(c.name.clone(), data_type(c.ty), c.nullable))
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let metadata = vec![
            KeyValue::new("tape.kind".to_string(), table.kind.name().to_string()),
            KeyValue::new("tape.scenario".to_string(), layout.header.scenario.clone()),
            KeyValue::new(
                "tape.fingerprint".to_string(),
                fingerprint_hex(&layout.fingerprint),
            ),
        ];
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(ROWS_PER_GROUP))
            .set_created_by(format!("tape {}", env!("CARGO_PKG_VERSION")))
            .set_key_value_metadata(Some(metadata))
            .build();
        let failed = |source| ExportError::Parquet {
            path: path.clone(),
            source,
        };
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(failed)?;
        let builders = table.columns.iter().map(|c| Builder::new(c.ty)).collect();
        Ok(Self {
            tmp,
            writer,
            schema,
            builders,
            buffered: 0,
            path,
        })
    }

    fn failed(&self, source: ParquetError) -> ExportError {
        ExportError::Parquet {
            path: self.path.clone(),
            source,
        }
    }

    /// Writes the buffered rows as one row group.
    fn flush(&mut self) -> Result<(), ExportError> {
        if self.buffered == 0 {
            return Ok(());
        }
        let arrays: Vec<ArrayRef> = self.builders.iter_mut().map(Builder::finish).collect();
        let batch =
            RecordBatch::try_new(self.schema.clone(), arrays).map_err(|e| self.failed(e.into()))?;
        self.buffered = 0;
        let result = self.writer.write(&batch).and_then(|()| self.writer.flush());
        result.map_err(|e| self.failed(e))
    }
}

impl TableWriter for ParquetTable {
    fn write(&mut self, row: &[Cell]) -> Result<(), ExportError> {
        for (builder, cell) in self.builders.iter_mut().zip(row) {
            builder.append(cell);
        }
        self.buffered += 1;
        if self.buffered >= ROWS_PER_GROUP {
            self.flush()?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<NamedTempFile, ExportError> {
        self.flush()?;
        let Self {
            tmp, writer, path, ..
        } = *self;
        writer.close().map_err(|source| ExportError::Parquet {
            path: path.clone(),
            source,
        })?;
        Ok(tmp)
    }
}
