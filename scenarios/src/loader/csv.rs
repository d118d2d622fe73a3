//! CSV files, plain or gzip-compressed (by a `.gz` name), as a [`Table`] of text cells.
//! Rows are numbered as a spreadsheet shows them: the header is row 1.

use std::io::Read;

use super::table::{Cell, Table};
use super::LoadError;

/// A CSV file read forward, one record at a time.
pub struct CsvTable {
    file: String,
    headers: Vec<String>,
    records: csv::StringRecordsIntoIter<Box<dyn Read + Send>>,
    record: csv::StringRecord,
    row: u64,
}

impl CsvTable {
    /// Reads the header of `bytes` (already decompressed); `file` names it in errors.
    pub fn new(file: &str, bytes: Box<dyn Read + Send>) -> Result<Self, LoadError> {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(bytes);
        let headers = reader
            .headers()
            .map_err(|e| LoadError::Row {
                file: file.to_string(),
                row: 1,
                detail: e.to_string(),
            })?
            .iter()
            .map(str::to_string)
            .collect();
        Ok(Self {
            file: file.to_string(),
            headers,
            records: reader.into_records(),
            record: csv::StringRecord::new(),
            row: 1,
        })
    }
}

impl Table for CsvTable {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn advance(&mut self) -> Result<bool, LoadError> {
        let Some(record) = self.records.next() else {
            return Ok(false);
        };
        self.row += 1;
        self.record = record.map_err(|e| LoadError::Row {
            file: self.file.clone(),
            row: self.row,
            detail: e.to_string(),
        })?;
        Ok(true)
    }

    fn cell(&self, column: usize) -> Cell<'_> {
        match self.record.get(column) {
            Some(text) => Cell::Text(text),
            None => Cell::Null,
        }
    }

    fn row(&self) -> u64 {
        self.row
    }

    fn file(&self) -> &str {
        &self.file
    }
}
