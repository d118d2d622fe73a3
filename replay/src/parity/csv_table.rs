//! CSV tables: a header row of column names, then rows of the same width, UTF-8.
//!
//! A column's type is found from all its values: `empty` (every field empty), `boolean`
//! (`true`/`false` in any case), `integer` (an optional sign and digits), `float` (anything
//! Rust reads as an `f64`, `NaN` and `inf` included), else `string`. An empty field is a
//! missing value in any column.
//!
//! The table hash is BLAKE3 over the parsed fields, header first: for each record, its field
//! count, then each field's length and bytes (all as little-endian `u64` lengths). Quoting,
//! line endings (`\n` or `\r\n`), a final newline and a UTF-8 byte-order mark change the file's
//! bytes but not the fields, so not the table hash; a value written differently (`1.5` and
//! `1.50`) does.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use super::files::StreamHasher;
use super::table::{Cell, Column, ColumnKind, Rows, TableSummary};
use super::ParityError;

fn reader(path: &Path, shown: &str) -> Result<csv::Reader<BufReader<File>>, ParityError> {
    let file = File::open(path).map_err(|source| ParityError::Io {
        path: shown.to_string(),
        source,
    })?;
    Ok(csv::ReaderBuilder::new()
        .has_headers(true)
        .buffer_capacity(1 << 16)
        .from_reader(BufReader::with_capacity(1 << 16, file)))
}

fn csv_error(shown: &str, error: &csv::Error) -> ParityError {
    if let csv::ErrorKind::Io(e) = error.kind() {
        return ParityError::Io {
            path: shown.to_string(),
            source: std::io::Error::new(e.kind(), e.to_string()),
        };
    }
    ParityError::Csv {
        path: shown.to_string(),
        line: error.position().map_or(0, csv::Position::line),
        detail: match error.kind() {
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => format!("{len} fields where the header has {expected_len}"),
            csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_string(),
            _ => error.to_string(),
        },
    }
}

/// What the values of a column seen so far allow it to be.
#[derive(Clone, Copy)]
struct Inference {
    any: bool,
    boolean: bool,
    integer: bool,
    float: bool,
}

impl Inference {
    const START: Self = Self {
        any: false,
        boolean: true,
        integer: true,
        float: true,
    };

    fn see(&mut self, field: &str) {
        if field.is_empty() {
            return;
        }
        self.any = true;
        if self.boolean && !is_bool(field) {
            self.boolean = false;
        }
        if self.integer && field.parse::<i128>().is_err() {
            self.integer = false;
        }
        if self.float && !self.integer && field.parse::<f64>().is_err() {
            self.float = false;
        }
    }

    fn kind(self) -> ColumnKind {
        if !self.any {
            ColumnKind::Empty
        } else if self.boolean {
            ColumnKind::Boolean
        } else if self.integer {
            ColumnKind::Integer
        } else if self.float {
            ColumnKind::Float
        } else {
            ColumnKind::Text
        }
    }
}

fn is_bool(field: &str) -> bool {
    field.eq_ignore_ascii_case("true") || field.eq_ignore_ascii_case("false")
}

fn type_name(kind: ColumnKind) -> &'static str {
    match kind {
        ColumnKind::Empty => "empty",
        ColumnKind::Boolean => "boolean",
        ColumnKind::Integer => "integer",
        ColumnKind::Float => "float",
        _ => "string",
    }
}

fn hash_record(hasher: &mut StreamHasher, record: &csv::StringRecord) {
    hasher.update(&(record.len() as u64).to_le_bytes());
    for field in record {
        hasher.update(&(field.len() as u64).to_le_bytes());
        hasher.update(field.as_bytes());
    }
}

/// Reads a CSV file whole once: rows, column types, table hash.
pub fn summarise(path: &Path, shown: &str) -> Result<TableSummary, ParityError> {
    let mut r = reader(path, shown)?;
    let header = r.headers().map_err(|e| csv_error(shown, &e))?.clone();
    let mut hasher = StreamHasher::new();
    hash_record(&mut hasher, &header);
    let mut inference = vec![Inference::START; header.len()];
    let mut record = csv::StringRecord::new();
    let mut rows = 0u64;
    while r
        .read_record(&mut record)
        .map_err(|e| csv_error(shown, &e))?
    {
        rows += 1;
        hash_record(&mut hasher, &record);
        for (inf, field) in inference.iter_mut().zip(record.iter()) {
            inf.see(field);
        }
    }
    let columns = header
        .iter()
        .zip(&inference)
        .map(|(name, inf)| Column {
            name: name.to_string(),
            type_name: type_name(inf.kind()).to_string(),
            kind: inf.kind(),
        })
        .collect();
    Ok(TableSummary {
        format: "csv",
        rows,
        columns,
        blake3: hasher.finish(),
    })
}

/// A CSV file's rows as typed cells, by the column types of its summary.
pub struct CsvRows<'s> {
    reader: csv::Reader<BufReader<File>>,
    shown: String,
    record: csv::StringRecord,
    columns: &'s [Column],
    done: bool,
}

impl<'s> CsvRows<'s> {
    /// Opens the file again for a second pass, typed by `summary`.
    pub fn open(path: &Path, shown: &str, summary: &'s TableSummary) -> Result<Self, ParityError> {
        let mut reader = reader(path, shown)?;
        reader.headers().map_err(|e| csv_error(shown, &e))?;
        Ok(Self {
            reader,
            shown: shown.to_string(),
            record: csv::StringRecord::new(),
            columns: &summary.columns,
            done: false,
        })
    }
}

impl Rows for CsvRows<'_> {
    fn advance(&mut self) -> Result<bool, ParityError> {
        if self.done {
            return Ok(false);
        }
        let more = self
            .reader
            .read_record(&mut self.record)
            .map_err(|e| csv_error(&self.shown, &e))?;
        self.done = !more;
        Ok(more)
    }

    fn cell(&self, column: usize) -> Cell<'_> {
        let Some(field) = self.record.get(column) else {
            return Cell::Null;
        };
        if field.is_empty() {
            return Cell::Null;
        }
        let kind = self
            .columns
            .get(column)
            .map_or(ColumnKind::Text, |c| c.kind);
        // A field that no longer parses as its column's type (the file changed between the
        // passes) is compared as text.
        match kind {
            ColumnKind::Boolean => Cell::Bool(field.eq_ignore_ascii_case("true")),
            ColumnKind::Integer => field.parse().map_or(Cell::Text(field), Cell::Int),
            ColumnKind::Float => field.parse().map_or(Cell::Text(field), Cell::Float),
            _ => Cell::Text(field),
        }
    }

    fn text(&self, column: usize) -> Option<&str> {
        self.record.get(column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(values: &[&str]) -> ColumnKind {
        let mut inf = Inference::START;
        for v in values {
            inf.see(v);
        }
        inf.kind()
    }

    #[test]
    fn column_types_from_every_value() {
        assert_eq!(kind(&["", ""]), ColumnKind::Empty);
        assert_eq!(kind(&["true", "FALSE", ""]), ColumnKind::Boolean);
        assert_eq!(
            kind(&["1", "-2", "+3", "18446744073709551615"]),
            ColumnKind::Integer
        );
        assert_eq!(kind(&["1", "2.5"]), ColumnKind::Float);
        assert_eq!(kind(&["1e-7", "NaN", "inf"]), ColumnKind::Float);
        assert_eq!(kind(&["1.5", "n/a"]), ColumnKind::Text);
        assert_eq!(kind(&["AAPL"]), ColumnKind::Text);
        assert_eq!(kind(&["2024-01-02"]), ColumnKind::Text);
    }
}
