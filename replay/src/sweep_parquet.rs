//! A sweep's results as Parquet (`results.parquet`, beside `results.csv`; built with the
//! `parquet` feature).
//!
//! Invariant: the file is a function of the CSV table's cells alone (column types included),
//! so a merged table and a local one, or runs on any number of threads, write the same bytes.
//!
//! | column | Arrow type |
//! |---|---|
//! | `run`, `seed`, `trades` | `UInt64` |
//! | a parameter | `Int64` if every value is an integer, else `Float64` if every value is a number, else `Utf8` |
//! | `fingerprint` | `Utf8` |
//! | every other figure | `Float64`, null where the CSV cell is empty (undefined) |

use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{Float64Builder, Int64Builder, StringBuilder, UInt64Builder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use crate::sweep::SweepError;

/// How one column of the table is typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    UInt64,
    Int64,
    Float64,
    Text,
}

/// The columns the sweep itself writes, by name; the rest (parameters) are typed by their
/// values.
fn fixed_kind(name: &str) -> Option<Kind> {
    match name {
        "run" | "seed" | "trades" => Some(Kind::UInt64),
        "fingerprint" => Some(Kind::Text),
        "total_return" | "cagr" | "volatility" | "sharpe" | "sortino" | "calmar"
        | "max_drawdown" | "turnover_total" | "slippage_total" | "hit_rate" | "profit_factor" => {
            Some(Kind::Float64)
        }
        _ => None,
    }
}

fn cell(row: &[String], i: usize) -> &str {
    row.get(i).map_or("", String::as_str)
}

fn parameter_kind(values: impl Iterator<Item = impl AsRef<str>> + Clone) -> Kind {
    if values.clone().all(|v| v.as_ref().parse::<i64>().is_ok()) {
        Kind::Int64
    } else if values.clone().all(|v| v.as_ref().parse::<f64>().is_ok()) {
        Kind::Float64
    } else {
        Kind::Text
    }
}

/// Writes `path` (through a temporary name, renamed when complete) from the table's header and
/// rows; `sweep` (the spec's digest) goes in the file's key-value metadata.
pub fn write(
    path: &Path,
    header: &[String],
    rows: &[Vec<String>],
    sweep: &str,
) -> Result<(), SweepError> {
    let fail = |e: String| SweepError::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    };
    let kinds: Vec<Kind> = header
        .iter()
        .enumerate()
        .map(|(i, name)| {
            fixed_kind(name).unwrap_or_else(|| parameter_kind(rows.iter().map(|r| cell(r, i))))
        })
        .collect();
    let mut fields = Vec::with_capacity(header.len());
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(header.len());
    for (i, (name, kind)) in header.iter().zip(&kinds).enumerate() {
        let cells = rows.iter().map(|r| cell(r, i));
        let (ty, array): (DataType, ArrayRef) = match kind {
            Kind::UInt64 => {
                let mut b = UInt64Builder::with_capacity(rows.len());
                for c in cells {
                    b.append_option(c.parse().ok());
                }
                (DataType::UInt64, Arc::new(b.finish()))
            }
            Kind::Int64 => {
                let mut b = Int64Builder::with_capacity(rows.len());
                for c in cells {
                    b.append_option(c.parse().ok());
                }
                (DataType::Int64, Arc::new(b.finish()))
            }
            Kind::Float64 => {
                let mut b = Float64Builder::with_capacity(rows.len());
                for c in cells {
                    b.append_option(c.parse().ok());
                }
                (DataType::Float64, Arc::new(b.finish()))
            }
            Kind::Text => {
                let mut b = StringBuilder::new();
                for c in cells {
                    b.append_value(c);
                }
                (DataType::Utf8, Arc::new(b.finish()))
            }
        };
        fields.push(Field::new(name.clone(), ty, *kind == Kind::Float64));
        arrays.push(array);
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| fail(e.to_string()))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_created_by(format!("tape {}", env!("CARGO_PKG_VERSION")))
        .set_key_value_metadata(Some(vec![KeyValue::new(
            "tape.sweep".to_string(),
            sweep.to_string(),
        )]))
        .build();
    let partial = path.with_extension("parquet.partial");
    let file = std::fs::File::create(&partial).map_err(|source| SweepError::Write {
        path: partial.clone(),
        source,
    })?;
    let mut writer =
        ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| fail(e.to_string()))?;
    writer.write(&batch).map_err(|e| fail(e.to_string()))?;
    writer.close().map_err(|e| fail(e.to_string()))?;
    std::fs::rename(&partial, path).map_err(|source| SweepError::Write {
        path: path.to_path_buf(),
        source,
    })
}
