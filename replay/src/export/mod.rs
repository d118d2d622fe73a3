//! A ledger's events as tables: one table per event kind, one row per event, one column per
//! field. `tape export` writes them as CSV or Parquet; docs/schemas.md lists every column.
//!
//! Read first: [`scan`] (the first pass: the ledger checked whole, and each kind's
//! [`Table`] of columns found from its events) and [`write`] (the second pass: rows streamed
//! into one [`TableWriter`] per kind).
//!
//! The columns come from the events themselves, through
//! [`EventBody::fields`](tape_engine::event::EventBody::fields), the same walk
//! `tape show` prints: a new kind or a new field is exported without new code here. A field
//! that only some events of a kind carry (an order's `trail`, `good_for_bars`, `cycle`) becomes
//! a nullable column, present when at least one event of the ledger has it.
//!
//! # Invariants
//! - Fixed-point values are exact: Parquet decimals of the raw integer, CSV decimal text.
//! - Memory does not grow with the number of events: CSV rows go straight to the file, Parquet
//!   rows are buffered at most [`ROWS_PER_GROUP`] per table.
//! - No file named like a table (`<kind>.<ext>`) appears in the output directory before every
//!   table of the export is complete: tables are written to hidden temporary files, synced,
//!   and renamed into place at the end.
//!
//! # Known limitations
//! - The ledger is read twice (once to find the columns, once to write), so it must not change
//!   in between: the second pass checks that its fingerprint is the first's.

mod csv_table;
#[cfg(feature = "parquet")]
mod parquet_table;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};

use tape_engine::event::{Causes, Event, EventKind, FieldValue};
use tape_engine::fixed::{Money, Price, Quantity};
use tape_engine::ledger::{Header, LedgerReadError, LedgerReader};
use tape_engine::time::{civil_from_days, Ts, NANOS_PER_DAY, NANOS_PER_SECOND};
use tempfile::NamedTempFile;

use crate::render::{float_text, Renderer};

/// Rows per Parquet row group, and the most rows a Parquet table holds in memory.
pub const ROWS_PER_GROUP: usize = 1 << 16;

/// Events between two progress reports.
const PROGRESS_EVERY: u64 = crate::drive::PROGRESS_EVERY;

/// A table file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Comma-separated text, exact decimals, RFC 3339 timestamps. Every build writes it.
    Csv,
    /// Apache Parquet, typed columns (decimals, UTC timestamps). Needs the `parquet` feature.
    Parquet,
    /// The trend system's seven CSV files (docs/trend-system.md §7), not one table per kind.
    #[value(name = "trend-csv")]
    TrendCsv,
}

impl Format {
    /// The file extension, and the name used in messages and JSON.
    pub const fn extension(self) -> &'static str {
        match self {
            Format::Csv | Format::TrendCsv => "csv",
            Format::Parquet => "parquet",
        }
    }

    /// Whether this build writes the format.
    pub const fn is_built(self) -> bool {
        match self {
            Format::Csv | Format::TrendCsv => true,
            Format::Parquet => cfg!(feature = "parquet"),
        }
    }

    /// The table file name of an event kind: `fill.parquet`.
    pub fn file_name(self, kind: EventKind) -> String {
        format!("{}.{}", kind.name(), self.extension())
    }
}

/// Why an export failed. A ledger that cannot be read is [`ExportError::Ledger`], reported
/// like every other command's read error.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The ledger is damaged or not a ledger.
    #[error("{0}")]
    Ledger(#[from] LedgerReadError),
    /// This build has no Parquet writer.
    #[error(
        "--format parquet needs a build with Parquet support: build it with `cargo build \
         --release --features parquet` (or install it with `cargo install --path replay \
         --features parquet`), or export with --format csv"
    )]
    ParquetNotBuilt,
    /// A table file is already there and `--force` was not given.
    #[error("{}: already exists (pass --force to replace it, or choose another --out)", .path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// The output directory cannot be made or is not a directory.
    #[error("{}: cannot use as the output directory: {source} (give a directory with --out)", .path.display())]
    OutDir {
        /// The directory.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// Writing, syncing or renaming a table failed.
    #[error("{}: cannot write the table: {source} (check the free space and permissions)", .path.display())]
    Write {
        /// The table's file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The Parquet encoder refused a table.
    #[cfg(feature = "parquet")]
    #[error("{}: cannot write Parquet: {source}", .path.display())]
    Parquet {
        /// The table's file.
        path: PathBuf,
        /// What the encoder said.
        source: parquet::errors::ParquetError,
    },
    /// The ledger changed between the two passes.
    #[error(
        "{}: the ledger changed while it was exported (export it again once it is complete)",
        .path.display()
    )]
    Changed {
        /// The ledger.
        path: PathBuf,
    },
}

/// What a column holds, and so its Parquet type and CSV text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// `u64`: seqs, ids, counts.
    UInt64,
    /// `i64`.
    Int64,
    /// `f64`: analytics.
    Float64,
    /// A [`Price`]: decimal, 8 places.
    Price,
    /// A [`Quantity`]: decimal, 8 places.
    Quantity,
    /// [`Money`]: decimal, 6 places.
    Money,
    /// UTF-8 text: names (symbols, features, rules, sides), digests, reason values.
    Text,
    /// A UTC time in nanoseconds.
    Timestamp,
    /// A list of seqs: an event's causes.
    Seqs,
}

/// Digits of every decimal column: an `i64` raw value has at most 19, so every value of the
/// ledger fits exactly.
pub const DECIMAL_PRECISION: u8 = 19;

impl ColumnType {
    /// The type's name in docs/schemas.md and the `--json` summary.
    pub const fn name(self) -> &'static str {
        match self {
            ColumnType::UInt64 => "uint64",
            ColumnType::Int64 => "int64",
            ColumnType::Float64 => "float64",
            ColumnType::Price | ColumnType::Quantity => "decimal(19,8)",
            ColumnType::Money => "decimal(19,6)",
            ColumnType::Text => "string",
            ColumnType::Timestamp => "timestamp(ns,UTC)",
            ColumnType::Seqs => "list<uint64>",
        }
    }

    /// Decimal places of a decimal column.
    pub const fn scale(self) -> Option<i8> {
        match self {
            ColumnType::Price | ColumnType::Quantity => Some(8),
            ColumnType::Money => Some(6),
            _ => None,
        }
    }
}

/// Which part of a field a column holds: a reason is two columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    /// `seq`, `ts`, `causes`.
    Envelope,
    /// The field's value.
    Whole,
    /// A reason's rule name: `<field>_rule`.
    Rule,
    /// A reason's values as `name=value …`: `<field>_values`.
    Values,
}

/// One column of a table.
#[derive(Clone, Debug)]
pub struct Column {
    /// The column's name: the field's, or `<field>_rule` / `<field>_values` for a reason.
    pub name: String,
    /// What it holds.
    pub ty: ColumnType,
    /// Whether a row may have no value (an optional price, or a field some events lack).
    pub nullable: bool,
    field: &'static str,
    part: Part,
}

/// The columns of one kind's table, found from the ledger's events, and its row count.
#[derive(Clone, Debug)]
pub struct Table {
    /// The event kind.
    pub kind: EventKind,
    /// `seq`, `ts`, `causes`, then the payload's fields in wire order.
    pub columns: Vec<Column>,
    /// Events of this kind.
    pub rows: u64,
    /// Rows that had a value for each column, while scanning.
    seen: Vec<u64>,
}

/// The columns a field becomes: `(part, type, nullable)`.
fn columns_of(value: &FieldValue) -> &'static [(Part, ColumnType, bool)] {
    match value {
        FieldValue::U64(_) => &[(Part::Whole, ColumnType::UInt64, false)],
        FieldValue::I64(_) => &[(Part::Whole, ColumnType::Int64, false)],
        FieldValue::F64(_) => &[(Part::Whole, ColumnType::Float64, false)],
        FieldValue::Price(_) => &[(Part::Whole, ColumnType::Price, false)],
        FieldValue::OptPrice(_) => &[(Part::Whole, ColumnType::Price, true)],
        FieldValue::Quantity(_) => &[(Part::Whole, ColumnType::Quantity, false)],
        FieldValue::Money(_) => &[(Part::Whole, ColumnType::Money, false)],
        FieldValue::Symbol(_)
        | FieldValue::Feature(_)
        | FieldValue::Word(_)
        | FieldValue::Digest(_) => &[(Part::Whole, ColumnType::Text, false)],
        FieldValue::Reason(_) => &[
            (Part::Rule, ColumnType::Text, false),
            (Part::Values, ColumnType::Text, false),
        ],
    }
}

impl Table {
    fn new(kind: EventKind) -> Self {
        let envelope = |name: &'static str, ty| Column {
            name: name.to_string(),
            ty,
            nullable: false,
            field: name,
            part: Part::Envelope,
        };
        Self {
            kind,
            columns: vec![
                envelope("seq", ColumnType::UInt64),
                envelope("ts", ColumnType::Timestamp),
                envelope("causes", ColumnType::Seqs),
            ],
            rows: 0,
            seen: vec![0; 3],
        }
    }

    /// The table's file name in `format`.
    pub fn file_name(&self, format: Format) -> String {
        format.file_name(self.kind)
    }

    fn position(&self, field: &str, part: Part) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.part == part && c.field == field)
    }

    /// Adds one event's fields: a field not seen before becomes a column after the field that
    /// precedes it in this event, so columns keep the wire order.
    fn observe(&mut self, fields: &[(&'static str, FieldValue)]) {
        self.rows += 1;
        for seen in &mut self.seen[..3] {
            *seen += 1;
        }
        let mut at = 3;
        for (field, value) in fields {
            for &(part, ty, nullable) in columns_of(value) {
                let i = match self.position(field, part) {
                    Some(i) => {
                        let column = &mut self.columns[i];
                        // The engine gives each field of a kind one type; a second one is a bug
                        // in `EventBody::fields`, not bad input.
                        assert_eq!(
                            column.ty,
                            ty,
                            "{} events carry field {field} with two types",
                            self.kind.name()
                        );
                        column.nullable |= nullable;
                        i
                    }
                    None => {
                        let name = match part {
                            Part::Rule => format!("{field}_rule"),
                            Part::Values => format!("{field}_values"),
                            Part::Whole | Part::Envelope => field.to_string(),
                        };
                        self.columns.insert(
                            at,
                            Column {
                                name,
                                ty,
                                nullable,
                                field,
                                part,
                            },
                        );
                        self.seen.insert(at, 0);
                        at
                    }
                };
                self.seen[i] += 1;
                at = i + 1;
            }
        }
    }

    /// After the scan: a column some rows lack is nullable.
    fn close(&mut self) {
        for (column, &seen) in self.columns.iter_mut().zip(&self.seen) {
            if seen < self.rows {
                column.nullable = true;
            }
        }
    }

    /// One event as cells, one per column (`Cell::Null` where the event lacks the field).
    /// False if the event has a field the scan did not see: the ledger changed since.
    fn fill(&self, renderer: &Renderer<'_>, event: &Event, row: &mut Vec<Cell>) -> bool {
        row.clear();
        row.resize_with(self.columns.len(), || Cell::Null);
        row[0] = Cell::U64(event.seq.0);
        row[1] = Cell::Ts(event.ts);
        row[2] = Cell::Seqs(event.causes);
        for (field, value) in event.body.fields() {
            let mut put = |part, cell| match self.position(field, part) {
                Some(i) => {
                    row[i] = cell;
                    true
                }
                None => false,
            };
            let known = match value {
                FieldValue::Reason(r) => {
                    let (rule, values) = renderer.reason(&r);
                    put(Part::Rule, Cell::Text(rule)) && put(Part::Values, Cell::Text(values))
                }
                FieldValue::U64(v) => put(Part::Whole, Cell::U64(v)),
                FieldValue::I64(v) => put(Part::Whole, Cell::I64(v)),
                FieldValue::F64(v) => put(Part::Whole, Cell::F64(v)),
                FieldValue::Price(p) => put(Part::Whole, Cell::Price(p)),
                FieldValue::OptPrice(p) => put(Part::Whole, p.map_or(Cell::Null, Cell::Price)),
                FieldValue::Quantity(q) => put(Part::Whole, Cell::Quantity(q)),
                FieldValue::Money(m) => put(Part::Whole, Cell::Money(m)),
                FieldValue::Symbol(s) => put(Part::Whole, Cell::Text(renderer.symbol(s.0))),
                FieldValue::Feature(f) => put(Part::Whole, Cell::Text(renderer.feature(f.0))),
                other @ (FieldValue::Word(_) | FieldValue::Digest(_)) => {
                    put(Part::Whole, Cell::Text(renderer.plain(&other)))
                }
            };
            if !known {
                return false;
            }
        }
        true
    }
}

/// One value of a row, typed like its column.
#[derive(Clone, Debug)]
pub enum Cell {
    /// No value (an absent optional price or field).
    Null,
    /// A `u64`.
    U64(u64),
    /// An `i64`.
    I64(i64),
    /// An `f64`.
    F64(f64),
    /// A price.
    Price(Price),
    /// A quantity.
    Quantity(Quantity),
    /// Money.
    Money(Money),
    /// Text.
    Text(String),
    /// A time.
    Ts(Ts),
    /// Causes.
    Seqs(Causes),
}

/// `2020-01-02T21:00:00.000000000Z`: RFC 3339 in UTC, always nine fraction digits, so every
/// value has one width and one format string reads them all.
pub fn write_rfc3339_nanos(out: &mut String, ts: Ts) {
    let (y, m, d) = civil_from_days(ts.day());
    let in_day = ts.0.rem_euclid(NANOS_PER_DAY);
    let secs = in_day / NANOS_PER_SECOND;
    let sub = in_day % NANOS_PER_SECOND;
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{sub:09}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
}

/// A cell as CSV text: empty for null, exact decimals, floats in their shortest round-trip
/// form, causes separated by spaces.
pub fn write_text(out: &mut String, cell: &Cell) {
    match cell {
        Cell::Null => {}
        Cell::U64(v) => {
            let _ = write!(out, "{v}");
        }
        Cell::I64(v) => {
            let _ = write!(out, "{v}");
        }
        Cell::F64(v) => out.push_str(&float_text(*v)),
        Cell::Price(p) => {
            let _ = write!(out, "{p}");
        }
        Cell::Quantity(q) => {
            let _ = write!(out, "{q}");
        }
        Cell::Money(m) => {
            let _ = write!(out, "{m}");
        }
        Cell::Text(t) => out.push_str(t),
        Cell::Ts(ts) => write_rfc3339_nanos(out, *ts),
        Cell::Seqs(causes) => {
            for (i, c) in causes.as_slice().iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                let _ = write!(out, "{}", c.0);
            }
        }
    }
}

/// What the first pass found: the ledger's header, fingerprint and one table per kind
/// present, in kind-code order.
#[derive(Clone, Debug)]
pub struct Layout {
    /// The ledger's header (symbol, feature and rule tables).
    pub header: Header,
    /// The ledger's fingerprint.
    pub fingerprint: [u8; 32],
    /// Events in the ledger.
    pub events: u64,
    /// One table per kind with at least one event.
    pub tables: Vec<Table>,
}

/// The first pass: reads the whole ledger, checking it as `tape verify` does, and finds the
/// columns of each kind. `progress` is called with the bytes read so far.
pub fn scan(path: &Path, progress: &mut dyn FnMut(u64)) -> Result<Layout, ExportError> {
    let mut reader = LedgerReader::open(path)?;
    let mut tables: BTreeMap<EventKind, Table> = BTreeMap::new();
    let mut events = 0u64;
    while let Some(frame) = reader.next_event()? {
        let event = frame.decode()?;
        let kind = event.body.kind();
        tables
            .entry(kind)
            .or_insert_with(|| Table::new(kind))
            .observe(&event.body.fields());
        events += 1;
        if events.is_multiple_of(PROGRESS_EVERY) {
            progress(reader.offset());
        }
    }
    let summary = reader.summary()?;
    let mut tables: Vec<Table> = tables.into_values().collect();
    for table in &mut tables {
        table.close();
    }
    Ok(Layout {
        header: reader.header().clone(),
        fingerprint: summary.fingerprint,
        events,
        tables,
    })
}

/// Refuses to overwrite: the first table file of `format` (for any kind, present in this
/// ledger or not) already in `dir`, unless `force`; and a `dir` that is not a directory.
/// Creates nothing: [`write`] makes `dir` once the ledger has been read.
pub fn check_out_dir(dir: &Path, format: Format, force: bool) -> Result<(), ExportError> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(ExportError::OutDir {
                path: dir.to_path_buf(),
                source: std::io::Error::other("it is a file"),
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(ExportError::OutDir {
                path: dir.to_path_buf(),
                source,
            })
        }
    }
    if !force {
        for &kind in EventKind::ALL {
            let path = dir.join(format.file_name(kind));
            if path.exists() {
                return Err(ExportError::Exists { path });
            }
        }
    }
    Ok(())
}

/// Writes one table's rows, then hands back its complete temporary file.
pub trait TableWriter {
    /// Appends one row, one cell per column.
    fn write(&mut self, row: &[Cell]) -> Result<(), ExportError>;
    /// Writes what is buffered and closes the table.
    fn finish(self: Box<Self>) -> Result<NamedTempFile, ExportError>;
}

/// A hidden temporary file in `dir` for the table `name`, removed unless renamed into place.
fn temporary(dir: &Path, name: &str) -> Result<(NamedTempFile, File), ExportError> {
    let failed = |source| ExportError::Write {
        path: dir.join(name),
        source,
    };
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    // A table is an ordinary file once renamed: readable as the umask allows, not private to
    // its writer as temporary files are by default.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let tmp = builder.tempfile_in(dir).map_err(failed)?;
    let file = tmp.as_file().try_clone().map_err(failed)?;
    Ok((tmp, file))
}

fn open_writer(
    format: Format,
    dir: &Path,
    table: &Table,
    layout: &Layout,
) -> Result<Box<dyn TableWriter>, ExportError> {
    let name = table.file_name(format);
    let (tmp, file) = temporary(dir, &name)?;
    let path = dir.join(&name);
    match format {
        // `tape export` writes the trend files through `trend_outputs`, never per table.
        Format::Csv | Format::TrendCsv => {
            Ok(Box::new(csv_table::CsvTable::new(tmp, file, path, table)?))
        }
        #[cfg(feature = "parquet")]
        Format::Parquet => Ok(Box::new(parquet_table::ParquetTable::new(
            tmp, file, path, table, layout,
        )?)),
        #[cfg(not(feature = "parquet"))]
        Format::Parquet => {
            let _ = (tmp, file, layout);
            Err(ExportError::ParquetNotBuilt)
        }
    }
}

/// One table as written.
#[derive(Clone, Debug)]
pub struct Written {
    /// The event kind.
    pub kind: EventKind,
    /// The table's path.
    pub path: PathBuf,
    /// Rows written.
    pub rows: u64,
    /// The file's size.
    pub bytes: u64,
}

/// The second pass: writes every table of `layout` into `dir`, then renames them into place
/// (replacing existing ones only with `force`, which also removes the tables of this format
/// whose kind the ledger does not have, so `dir` holds this ledger's tables only).
pub fn write(
    path: &Path,
    layout: &Layout,
    format: Format,
    dir: &Path,
    force: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<Written>, ExportError> {
    if !format.is_built() {
        return Err(ExportError::ParquetNotBuilt);
    }
    check_out_dir(dir, format, force)?;
    std::fs::create_dir_all(dir).map_err(|source| ExportError::OutDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut index: BTreeMap<EventKind, usize> = BTreeMap::new();
    let mut writers = Vec::with_capacity(layout.tables.len());
    for (i, table) in layout.tables.iter().enumerate() {
        index.insert(table.kind, i);
        writers.push(open_writer(format, dir, table, layout)?);
    }
    let renderer = Renderer::new(&layout.header);
    let mut reader = LedgerReader::open(path)?;
    let mut row = Vec::new();
    let mut rows = vec![0u64; layout.tables.len()];
    let mut events = 0u64;
    let changed = || ExportError::Changed {
        path: path.to_path_buf(),
    };
    while let Some(frame) = reader.next_event()? {
        let event = frame.decode()?;
        let i = *index.get(&event.body.kind()).ok_or_else(changed)?;
        if !layout.tables[i].fill(&renderer, &event, &mut row) {
            return Err(changed());
        }
        writers[i].write(&row)?;
        rows[i] += 1;
        events += 1;
        if events.is_multiple_of(PROGRESS_EVERY) {
            progress(reader.offset());
        }
    }
    let summary = reader.summary()?;
    let same_rows = layout.tables.iter().zip(&rows).all(|(t, &r)| t.rows == r);
    if summary.fingerprint != layout.fingerprint || !same_rows {
        return Err(changed());
    }
    // Every table is complete before any is renamed into place.
    let mut done = Vec::with_capacity(writers.len());
    for writer in writers {
        done.push(writer.finish()?);
    }
    let mut written = Vec::with_capacity(done.len());
    for ((tmp, table), rows) in done.into_iter().zip(&layout.tables).zip(rows) {
        let target = dir.join(table.file_name(format));
        let failed = |source| ExportError::Write {
            path: target.clone(),
            source,
        };
        tmp.as_file().sync_all().map_err(failed)?;
        let bytes = tmp.as_file().metadata().map_err(failed)?.len();
        let persisted = if force {
            tmp.persist(&target)
        } else {
            tmp.persist_noclobber(&target)
        };
        if let Err(e) = persisted {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                return Err(ExportError::Exists { path: target });
            }
            return Err(failed(e.error));
        }
        written.push(Written {
            kind: table.kind,
            path: target,
            rows,
            bytes,
        });
    }
    if force {
        for &kind in EventKind::ALL {
            if index.contains_key(&kind) {
                continue;
            }
            let stale = dir.join(format.file_name(kind));
            match std::fs::remove_file(&stale) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(ExportError::Write {
                        path: stale,
                        source,
                    })
                }
            }
        }
    }
    // The renames survive a crash once the directory is synced.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| ExportError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tape_engine::event::{
        EventBody, OrderId, OrderSubmitted, OrderType, Reason, RuleId, Side, SymbolId, TimeInForce,
    };

    #[test]
    fn timestamps_always_carry_nine_fraction_digits() {
        let mut s = String::new();
        write_rfc3339_nanos(&mut s, Ts::from_date(2020, 1, 2));
        assert_eq!(s, "2020-01-02T00:00:00.000000000Z");
        s.clear();
        write_rfc3339_nanos(&mut s, Ts(Ts::from_date(1969, 12, 31).0 + 5));
        assert_eq!(s, "1969-12-31T00:00:00.000000005Z");
        s.clear();
        write_rfc3339_nanos(&mut s, Ts(1_388_610_000_123_456_789));
        assert_eq!(s, "2014-01-01T21:00:00.123456789Z");
    }

    #[test]
    fn a_field_only_some_events_carry_becomes_a_nullable_column_in_wire_order() {
        let order = |cycle: Option<u32>| {
            EventBody::OrderSubmitted(OrderSubmitted {
                order: OrderId(0),
                symbol: SymbolId(0),
                side: Side::Buy,
                order_type: OrderType::Market,
                time_in_force: TimeInForce::Gtc,
                quantity: Quantity::from_raw(1),
                limit_price: None,
                stop_price: None,
                trail: None,
                cycle,
                reason: Reason::new(RuleId(0), &[]),
            })
        };
        let mut table = Table::new(EventKind::OrderSubmitted);
        table.observe(&order(None).fields());
        table.observe(&order(Some(3)).fields());
        table.close();
        let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "seq",
                "ts",
                "causes",
                "order",
                "symbol",
                "side",
                "order_type",
                "time_in_force",
                "quantity",
                "limit_price",
                "stop_price",
                "cycle",
                "reason_rule",
                "reason_values"
            ]
        );
        let nullable = |name: &str| {
            table
                .columns
                .iter()
                .find(|c| c.name == name)
                .map(|c| c.nullable)
        };
        assert_eq!(nullable("cycle"), Some(true));
        assert_eq!(nullable("limit_price"), Some(true));
        assert_eq!(nullable("quantity"), Some(false));
        assert_eq!(table.rows, 2);
    }
}
