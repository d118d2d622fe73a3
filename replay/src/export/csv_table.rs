//! One table as CSV: a header row of column names, then one line per event, written as it
//! comes (nothing is held but the writer's buffer).
//!
//! Every value is text: exact decimals for fixed-point values, RFC 3339 UTC timestamps with
//! nine fraction digits, causes separated by spaces, and an empty field for no value.

use std::fs::File;
use std::path::PathBuf;

use tempfile::NamedTempFile;

use super::{write_text, Cell, ExportError, Table, TableWriter};

/// The writer's buffer: large enough that a write call moves many rows at once.
const BUFFER_BYTES: usize = 1 << 18;

/// A CSV table being written to its temporary file.
pub struct CsvTable {
    tmp: NamedTempFile,
    out: csv::Writer<File>,
    path: PathBuf,
    text: String,
}

impl CsvTable {
    /// Opens the table and writes its header row.
    pub fn new(
        tmp: NamedTempFile,
        file: File,
        path: PathBuf,
        table: &Table,
    ) -> Result<Self, ExportError> {
        let out = csv::WriterBuilder::new()
            .buffer_capacity(BUFFER_BYTES)
            .from_writer(file);
        let mut this = Self {
            tmp,
            out,
            path,
            text: String::with_capacity(64),
        };
        let names = table.columns.iter().map(|c| c.name.as_str());
        let result = this.out.write_record(names);
        this.check(result)?;
        Ok(this)
    }

    fn check<T>(&self, result: csv::Result<T>) -> Result<T, ExportError> {
        result.map_err(|e| ExportError::Write {
            path: self.path.clone(),
            source: e.into(),
        })
    }
}

impl TableWriter for CsvTable {
    fn write(&mut self, row: &[Cell]) -> Result<(), ExportError> {
        for cell in row {
            self.text.clear();
            write_text(&mut self.text, cell);
            let result = self.out.write_field(&self.text);
            self.check(result)?;
        }
        let result = self.out.write_record(None::<&[u8]>);
        self.check(result)
    }

    fn finish(mut self: Box<Self>) -> Result<NamedTempFile, ExportError> {
        let result = self.out.flush().map_err(csv::Error::from);
        self.check(result)?;
        Ok(self.tmp)
    }
}
