//! Point-in-time feature tables: rows of `available_at`, `symbol`, `name`, `value`, in CSV
//! (plain or gzip) or Parquet (a `.parquet` name). Each row becomes a `feature` input event
//! at its `available_at` time, so a strategy sees a value only from the moment it was
//! available — the as-of join happens in the core, in time order, never ahead of it.
//!
//! A date without a time becomes available at `available_time` (UTC) of that day. Rows of
//! one symbol must be in `available_at` order within a file (files are streamed, never
//! sorted in memory); rows for symbols outside the run are skipped and counted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use tape_engine::event::{Feature, FeatureId, SymbolId};
use tape_engine::ledger::InputSource;
use tape_engine::sequencer::{SourcedInput, TimedInput};
use tape_engine::time::Ts;

use super::csv::CsvTable;
use super::files::DataFile;
use super::table::{column, instant, number, text, time_of_day, Table, TimeFormat, TimeRule};
use super::{BarSource, LoadError};

fn midnight() -> String {
    "00:00".to_string()
}

/// The `[features]` table of a scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSpec {
    /// Feature files, relative to the scenario file's directory.
    pub files: Vec<String>,
    /// How `available_at` is written.
    #[serde(default)]
    pub time_format: TimeFormat,
    /// For dates: the time of day (UTC, `HH:MM`) a value dated that day became available.
    #[serde(default = "midnight")]
    pub available_time: String,
}

/// Where a feature row's values are.
#[derive(Clone, Copy, Debug)]
struct Columns {
    available_at: usize,
    symbol: usize,
    name: usize,
    value: usize,
}

impl Columns {
    fn detect(table: &dyn Table) -> Result<Self, LoadError> {
        let hint = "a feature table has the columns available_at, symbol, name and value";
        let col = |name: &str| column(table, None, &[name], name, hint);
        Ok(Self {
            available_at: col("available_at")?,
            symbol: col("symbol")?,
            name: col("name")?,
            value: col("value")?,
        })
    }
}

/// One checked row.
struct FeatureRow {
    ts: Ts,
    symbol: String,
    name: String,
    value: f64,
    row: u64,
}

/// A feature file, read forward.
struct FeatureRows {
    table: Box<dyn Table>,
    columns: Columns,
    times: TimeRule,
}

impl FeatureRows {
    fn open(file: &DataFile, times: TimeRule) -> Result<Self, LoadError> {
        let shown = file.shown();
        let table: Box<dyn Table> = if shown.ends_with(".parquet") || shown.ends_with(".pq") {
            super::parquet::open(file)?
        } else {
            Box::new(CsvTable::new(shown, file.open()?)?)
        };
        let columns = Columns::detect(table.as_ref())?;
        Ok(Self {
            table,
            columns,
            times,
        })
    }

    fn next_row(&mut self) -> Option<Result<FeatureRow, LoadError>> {
        match self.table.advance() {
            Ok(true) => Some(self.parse()),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }

    fn parse(&self) -> Result<FeatureRow, LoadError> {
        let t = self.table.as_ref();
        let c = self.columns;
        let value = number(t, c.value, "value")?;
        if !value.is_finite() {
            return Err(super::table::row_error(
                t,
                format!("value {value} is not a finite number; drop the row or fix the value"),
            ));
        }
        let name = text(t, c.name);
        if name.is_empty() {
            return Err(super::table::row_error(t, "the name is empty".to_string()));
        }
        Ok(FeatureRow {
            ts: instant(t, c.available_at, self.times)?,
            symbol: text(t, c.symbol),
            name,
            value,
            row: t.row(),
        })
    }
}

/// The feature tables of a run: files resolved, rows checked, names collected.
#[derive(Clone, Debug)]
pub struct FeatureSet {
    files: Vec<DataFile>,
    times: TimeRule,
    names: Vec<String>,
    /// The run's symbols, by name.
    symbols: BTreeMap<String, SymbolId>,
    /// Per file: the run's symbols it has rows for.
    present: Vec<BTreeSet<SymbolId>>,
    /// Index of the first feature file in the header's input list.
    first_input: u32,
    rows: u64,
    skipped: u64,
}

impl FeatureSet {
    /// Resolves the files (relative to `base`) and reads every row once, checking times,
    /// values and per-symbol order, so a bad row stops the run before any ledger exists.
    /// `first_input` is the index the first file gets in the header's input list.
    pub fn open(
        spec: &FeatureSpec,
        base: &Path,
        run_symbols: &[String],
        first_input: u32,
    ) -> Result<Self, LoadError> {
        let date_offset_ns = time_of_day(&spec.available_time).ok_or_else(|| LoadError::Open {
            file: "[features] available_time".to_string(),
            detail: format!("'{}' is not HH:MM", spec.available_time),
        })?;
        if spec.files.is_empty() {
            return Err(LoadError::Open {
                file: "[features] files".to_string(),
                detail: "lists no file".to_string(),
            });
        }
        let times = TimeRule {
            format: spec.time_format,
            date_offset_ns,
        };
        let symbols: BTreeMap<String, SymbolId> = run_symbols
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), SymbolId(i as u32)))
            .collect();
        let files = spec
            .files
            .iter()
            .map(|f| DataFile::resolve(f, base))
            .collect::<Result<Vec<_>, _>>()?;
        let mut names = BTreeSet::new();
        let mut present = Vec::with_capacity(files.len());
        let (mut rows, mut skipped) = (0, 0);
        for file in &files {
            let mut reader = FeatureRows::open(file, times)?;
            let mut last: BTreeMap<SymbolId, (Ts, u64)> = BTreeMap::new();
            while let Some(row) = reader.next_row() {
                let row = row?;
                rows += 1;
                let Some(&id) = symbols.get(&row.symbol) else {
                    skipped += 1;
                    continue;
                };
                if let Some(&(before, before_row)) = last.get(&id) {
                    if row.ts < before {
                        return Err(LoadError::Row {
                            file: file.shown().to_string(),
                            row: row.row,
                            detail: format!(
                                "{}'s available_at {} is earlier than row {before_row}'s {before}; sort each symbol's rows by available_at",
                                row.symbol, row.ts
                            ),
                        });
                    }
                }
                last.insert(id, (row.ts, row.row));
                names.insert(row.name);
            }
            present.push(last.into_keys().collect());
        }
        Ok(Self {
            files,
            times,
            names: names.into_iter().collect(),
            symbols,
            present,
            first_input,
            rows,
            skipped,
        })
    }

    /// Feature names, sorted: `FeatureId(i)` is `names()[i]`.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Rows read, and rows skipped for symbols outside the run.
    pub fn counts(&self) -> (u64, u64) {
        (self.rows, self.skipped)
    }

    /// Each file's name and the BLAKE3 of its bytes, for the ledger header.
    pub fn inputs(&self) -> Result<Vec<InputSource>, LoadError> {
        self.files
            .iter()
            .map(|f| {
                Ok(InputSource {
                    name: f.shown().to_string(),
                    blake3: f.blake3()?,
                })
            })
            .collect()
    }

    /// One stream of feature inputs per file and symbol, in time order.
    pub fn sources(&self) -> Vec<BarSource> {
        let ids: BTreeMap<String, FeatureId> = self
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), FeatureId(i as u32)))
            .collect();
        let mut out: Vec<BarSource> = Vec::new();
        for (index, file) in self.files.iter().enumerate() {
            for &symbol in &self.present[index] {
                out.push(Box::new(FeatureStream {
                    file: file.clone(),
                    times: self.times,
                    rows: None,
                    symbol,
                    symbols: self.symbols.clone(),
                    ids: ids.clone(),
                    input: self.first_input + index as u32,
                    done: false,
                }));
            }
        }
        out
    }
}

/// The feature rows of one symbol in one file.
struct FeatureStream {
    file: DataFile,
    times: TimeRule,
    rows: Option<FeatureRows>,
    symbol: SymbolId,
    symbols: BTreeMap<String, SymbolId>,
    ids: BTreeMap<String, FeatureId>,
    input: u32,
    done: bool,
}

impl Iterator for FeatureStream {
    type Item = Result<TimedInput, LoadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.rows.is_none() {
            match FeatureRows::open(&self.file, self.times) {
                Ok(r) => self.rows = Some(r),
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        let rows = self.rows.as_mut()?;
        loop {
            let row = match rows.next_row() {
                None => {
                    self.done = true;
                    return None;
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Some(Ok(row)) => row,
            };
            if self.symbols.get(&row.symbol) != Some(&self.symbol) {
                continue;
            }
            // Every name was collected when the set was opened from the same bytes.
            let Some(&feature) = self.ids.get(&row.name) else {
                self.done = true;
                return Some(Err(LoadError::Row {
                    file: self.file.shown().to_string(),
                    row: row.row,
                    detail: format!("feature '{}' appeared after the file was checked; was it changed during the run?", row.name),
                }));
            };
            return Some(Ok(TimedInput {
                ts: row.ts,
                input: SourcedInput::Feature(Feature {
                    symbol: self.symbol,
                    feature,
                    input: self.input,
                    row: row.row,
                    value: row.value,
                }),
            }));
        }
    }
}
