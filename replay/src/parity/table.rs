//! Tables — CSV files, and Parquet files in a build with the `parquet` feature — as typed
//! cells: their summary (rows, columns and types, a hash of the data that does not depend on
//! how it is encoded) and their comparison, row by row, column by column.
//!
//! # Invariants
//! - Both tables are streamed: memory holds one row of each (one record batch for Parquet)
//!   and the symbols seen, never a whole table.
//! - A column named like a date index (`date`, `ts`, `timestamp`, `time`, `datetime`) or a
//!   symbol (`symbol`, `ticker`), and every integer, boolean or text value, is compared
//!   exactly in both modes; only floats and decimals get a tolerance.
//!
//! # Known limitations
//! - Rows are paired by position: a row inserted near the top makes every later row differ
//!   (the report is capped, and the row counts and date index say what happened).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use tape_engine::time::{civil_from_days, Ts};

use super::report::{Difference, FileStatus, Place, Report, What};
use super::tolerance::{decimal_f64, same_bits, Category, Mode, Tolerance};
use super::ParityError;

/// Column names that make a column the date index (compared as is, never with a tolerance).
pub const DATE_NAMES: &[&str] = &["date", "ts", "timestamp", "time", "datetime"];
/// Column names that make a column the symbol (its set of values is compared too).
pub const SYMBOL_NAMES: &[&str] = &["symbol", "ticker"];

/// One value of a row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell<'a> {
    /// Missing (an empty CSV field, a Parquet null).
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer of any width up to 64 bits, signed or not.
    Int(i128),
    /// A binary float (a `Float32` is widened exactly).
    Float(f64),
    /// An exact decimal `raw × 10^-scale`.
    Decimal(i128, u32),
    /// An instant, nanoseconds since the epoch (UTC).
    Time(i64),
    /// A calendar date, days since 1970-01-01.
    Date(i64),
    /// Text.
    Text(&'a str),
}

impl Cell<'_> {
    /// The value as text for reports.
    pub fn text(&self) -> String {
        match *self {
            Cell::Null => "(empty)".to_string(),
            Cell::Bool(b) => b.to_string(),
            Cell::Int(i) => i.to_string(),
            Cell::Float(f) => format!("{f:?}"),
            Cell::Decimal(raw, scale) => decimal_text(raw, scale),
            Cell::Time(ns) => Ts(ns).to_string(),
            Cell::Date(days) => {
                let (y, m, d) = civil_from_days(days);
                format!("{y:04}-{m:02}-{d:02}")
            }
            Cell::Text(t) => t.to_string(),
        }
    }

    /// The number, if the cell is one.
    fn number(&self) -> Option<f64> {
        match *self {
            Cell::Int(i) => Some(i as f64),
            Cell::Float(f) => Some(f),
            Cell::Decimal(raw, scale) => Some(decimal_f64(raw, scale)),
            _ => None,
        }
    }

    /// Feeds the value to a hasher in a form that depends on the value only: a tag, then
    /// fixed-width little-endian bytes (text: its length, then its bytes).
    pub fn hash_into(&self, hasher: &mut super::files::StreamHasher) {
        match *self {
            Cell::Null => {
                hasher.update(&[0]);
            }
            Cell::Bool(b) => {
                hasher.update(&[1, u8::from(b)]);
            }
            Cell::Int(i) => {
                hasher.update(&[2]);
                hasher.update(&i.to_le_bytes());
            }
            Cell::Float(f) => {
                // One NaN: a NaN's payload bits are not data.
                let bits = if f.is_nan() {
                    f64::NAN.to_bits()
                } else {
                    f.to_bits()
                };
                hasher.update(&[3]);
                hasher.update(&bits.to_le_bytes());
            }
            Cell::Decimal(raw, scale) => {
                // 1.50 at scale 2 is 1.5 at scale 1: strip trailing zeros.
                let (mut raw, mut scale) = (raw, scale);
                while scale > 0 && raw % 10 == 0 {
                    raw /= 10;
                    scale -= 1;
                }
                hasher.update(&[4]);
                hasher.update(&raw.to_le_bytes());
                hasher.update(&scale.to_le_bytes());
            }
            Cell::Time(ns) => {
                hasher.update(&[5]);
                hasher.update(&ns.to_le_bytes());
            }
            Cell::Date(days) => {
                hasher.update(&[6]);
                hasher.update(&days.to_le_bytes());
            }
            Cell::Text(t) => {
                hasher.update(&[7]);
                hasher.update(&(t.len() as u64).to_le_bytes());
                hasher.update(t.as_bytes());
            }
        }
    }
}

/// Exact decimal text of `raw × 10^-scale`.
pub fn decimal_text(raw: i128, scale: u32) -> String {
    let digits = raw.unsigned_abs().to_string();
    let sign = if raw < 0 { "-" } else { "" };
    let scale = scale as usize;
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (whole, fraction) = padded.split_at(padded.len() - scale);
    format!("{sign}{whole}.{fraction}")
}

/// What a column holds, for comparing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    /// No value at all (every cell empty or null).
    Empty,
    /// Booleans.
    Boolean,
    /// Integers.
    Integer,
    /// Binary floats.
    Float,
    /// Exact decimals.
    Decimal,
    /// Instants.
    Time,
    /// Dates.
    Date,
    /// Text (and, for Parquet, lists, shown as text).
    Text,
}

impl ColumnKind {
    /// Numbers that are compared by value, with a tolerance when either is not an integer.
    fn numeric(self) -> bool {
        matches!(
            self,
            ColumnKind::Integer | ColumnKind::Float | ColumnKind::Decimal
        )
    }
}

/// A column: its name, its type as the file states it, and how it is compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// The name in the header or schema.
    pub name: String,
    /// The type, as the manifest prints it (`float`, `integer`, `string`… for CSV;
    /// `float64`, `decimal128(19, 6)`, `timestamp[ns, UTC]`… for Parquet).
    pub type_name: String,
    /// How its values are compared.
    pub kind: ColumnKind,
}

/// What a table holds, from one pass over it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSummary {
    /// `csv` or `parquet`.
    pub format: &'static str,
    /// Data rows (not counting a CSV header).
    pub rows: u64,
    /// Columns in order.
    pub columns: Vec<Column>,
    /// BLAKE3 of the column names and the values, independent of the encoding.
    pub blake3: [u8; 32],
}

impl TableSummary {
    /// The summary as the manifest's `table` object.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "format": self.format,
            "rows": self.rows,
            "columns": self.columns.iter().map(|c| serde_json::json!({
                "name": c.name,
                "type": c.type_name,
            })).collect::<Vec<_>>(),
            "blake3": blake3::Hash::from(self.blake3).to_hex().as_str(),
        })
    }
}

/// A table read forward, one row at a time.
pub trait Rows {
    /// Moves to the next row; `Ok(false)` at the end.
    fn advance(&mut self) -> Result<bool, ParityError>;
    /// A cell of the current row (`Cell::Null` past its width).
    fn cell(&self, column: usize) -> Cell<'_>;
    /// The cell's text as stored, for formats that store text (CSV): two cells with the same
    /// text in columns of the same type hold the same value, without parsing either.
    fn text(&self, _column: usize) -> Option<&str> {
        None
    }
}

/// The formats a table can be in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableFormat {
    /// Comma-separated text with a header row.
    Csv,
    /// Apache Parquet.
    Parquet,
}

/// Reads a table whole once: its summary.
pub fn summarise(
    path: &Path,
    shown: &str,
    format: TableFormat,
) -> Result<TableSummary, ParityError> {
    match format {
        TableFormat::Csv => super::csv_table::summarise(path, shown),
        TableFormat::Parquet => parquet_summary(path, shown),
    }
}

#[cfg(feature = "parquet")]
fn parquet_summary(path: &Path, shown: &str) -> Result<TableSummary, ParityError> {
    super::parquet_table::summarise(path, shown)
}

#[cfg(not(feature = "parquet"))]
fn parquet_summary(_path: &Path, shown: &str) -> Result<TableSummary, ParityError> {
    Err(ParityError::NeedsParquet {
        path: shown.to_string(),
    })
}

fn open_rows<'s>(
    path: &Path,
    shown: &str,
    format: TableFormat,
    summary: &'s TableSummary,
) -> Result<Box<dyn Rows + 's>, ParityError> {
    match format {
        TableFormat::Csv => Ok(Box::new(super::csv_table::CsvRows::open(
            path, shown, summary,
        )?)),
        TableFormat::Parquet => open_parquet(path, shown),
    }
}

#[cfg(feature = "parquet")]
fn open_parquet<'s>(path: &Path, shown: &str) -> Result<Box<dyn Rows + 's>, ParityError> {
    Ok(Box::new(super::parquet_table::ParquetRows::open(
        path, shown,
    )?))
}

#[cfg(not(feature = "parquet"))]
fn open_parquet<'s>(_path: &Path, shown: &str) -> Result<Box<dyn Rows + 's>, ParityError> {
    Err(ParityError::NeedsParquet {
        path: shown.to_string(),
    })
}

/// What a column is to the comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Date,
    Symbol,
    Value,
}

fn role(name: &str) -> Role {
    let lower = name.to_ascii_lowercase();
    if DATE_NAMES.contains(&lower.as_str()) {
        Role::Date
    } else if SYMBOL_NAMES.contains(&lower.as_str()) {
        Role::Symbol
    } else {
        Role::Value
    }
}

/// A column of the baseline paired with the candidate's column of the same name.
struct Pair {
    name: String,
    a: usize,
    b: usize,
    role: Role,
    tolerance: (Category, Tolerance),
    /// Both columns have one type: equal text is an equal value.
    same_type: bool,
}

/// How two cells compare.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Verdict {
    /// Equal, or within tolerance.
    Same,
    /// Different beyond tolerance; the difference for numbers.
    Differs(Option<f64>),
}

/// Compares two cells. `tolerance` is `None` for exact fields; exact mode ignores it.
pub fn compare_cells(
    a: Cell<'_>,
    b: Cell<'_>,
    mode: Mode,
    tolerance: Option<Tolerance>,
) -> Verdict {
    let same = match (a, b) {
        (Cell::Null, Cell::Null) => true,
        (Cell::Int(x), Cell::Int(y)) => x == y,
        (Cell::Bool(x), Cell::Bool(y)) => x == y,
        (Cell::Text(x), Cell::Text(y)) => x == y,
        (Cell::Time(x), Cell::Time(y)) | (Cell::Date(x), Cell::Date(y)) => x == y,
        (x, y) => match (x.number(), y.number()) {
            (Some(p), Some(q)) => {
                let same = match (mode, tolerance, x, y) {
                    (Mode::Tolerant, Some(t), Cell::Decimal(r, s), Cell::Decimal(u, v)) => {
                        t.matches_decimal((r, s), (u, v))
                    }
                    (Mode::Tolerant, Some(t), ..) => t.matches(p, q),
                    (_, _, Cell::Decimal(r, s), Cell::Decimal(u, v)) => decimal_eq((r, s), (u, v)),
                    _ => same_bits(p, q),
                };
                if same {
                    return Verdict::Same;
                }
                return Verdict::Differs(Some((q - p).abs()));
            }
            _ => false,
        },
    };
    if same {
        Verdict::Same
    } else {
        Verdict::Differs(None)
    }
}

/// Whether two decimals are the same number.
fn decimal_eq(a: (i128, u32), b: (i128, u32)) -> bool {
    let (x, y) = if a.1 <= b.1 { (a, b) } else { (b, a) };
    10i128
        .checked_pow(y.1 - x.1)
        .and_then(|f| x.0.checked_mul(f))
        .is_some_and(|scaled| scaled == y.0)
}

/// Compares two tables of one format, after their bytes were found to differ. Pushes the
/// differences into `report`; returns the file's status.
pub fn compare(
    file: &str,
    a: (&Path, &str),
    b: (&Path, &str),
    format: TableFormat,
    options: &super::Options,
    report: &mut Report,
) -> Result<FileStatus, ParityError> {
    let (mode, tolerances) = (options.mode, &options.tolerances);
    // Each table is read whole once, on its own thread: the summaries decide what follows.
    let (sa, sb) = std::thread::scope(|scope| {
        let other = scope.spawn(|| summarise(b.0, b.1, format));
        let sa = summarise(a.0, a.1, format);
        let sb = other
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (sa, sb)
    });
    let (sa, sb) = (sa?, sb?);
    if sa.blake3 == sb.blake3 && sa.columns == sb.columns {
        return Ok(FileStatus::Equal);
    }
    let before = report.total;
    let names = |s: &TableSummary| s.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    let (na, nb) = (names(&sa), names(&sb));
    if na != nb {
        let missing: Vec<&String> = na.iter().filter(|n| !nb.contains(n)).collect();
        let extra: Vec<&String> = nb.iter().filter(|n| !na.contains(n)).collect();
        let detail = if missing.is_empty() && extra.is_empty() {
            "the same columns in another order".to_string()
        } else {
            let list = |v: &[&String]| {
                if v.is_empty() {
                    "none".to_string()
                } else {
                    v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
                }
            };
            format!("missing: {}; extra: {}", list(&missing), list(&extra))
        };
        let mut d = Difference::new(file, What::Columns, na.join(" "), nb.join(" "));
        d.key = Some(detail);
        report.push(d);
    }
    // Pair columns by name (the first of a repeated name).
    let mut pairs = Vec::new();
    for (i, column) in sa.columns.iter().enumerate() {
        let Some(j) = sb.columns.iter().position(|c| c.name == column.name) else {
            continue;
        };
        if sa.columns[..i].iter().any(|c| c.name == column.name) {
            continue;
        }
        let other = &sb.columns[j];
        let compatible = match mode {
            Mode::Exact => column.type_name == other.type_name,
            Mode::Tolerant => {
                column.kind == other.kind
                    || column.kind == ColumnKind::Empty
                    || other.kind == ColumnKind::Empty
                    || (column.kind.numeric() && other.kind.numeric())
            }
        };
        if !compatible {
            report.push(
                Difference::new(
                    file,
                    What::ColumnType,
                    column.type_name.clone(),
                    other.type_name.clone(),
                )
                .column(column.name.clone()),
            );
        }
        let category = Category::of([column.name.as_str()]);
        pairs.push(Pair {
            name: column.name.clone(),
            a: i,
            b: j,
            role: role(&column.name),
            tolerance: (category, tolerances.get(category)),
            same_type: column.kind == other.kind,
        });
    }
    if sa.rows != sb.rows {
        report.push(Difference::new(
            file,
            What::Rows,
            sa.rows.to_string(),
            sb.rows.to_string(),
        ));
    }
    let date = pairs
        .iter()
        .find(|p| p.role == Role::Date)
        .map(|p| (p.a, p.b));
    let symbol = pairs
        .iter()
        .find(|p| p.role == Role::Symbol)
        .map(|p| (p.a, p.b));
    let mut symbols_a = BTreeSet::new();
    let mut symbols_b = BTreeSet::new();
    let mut ra = open_rows(a.0, a.1, format, &sa)?;
    let mut rb = open_rows(b.0, b.1, format, &sb)?;
    let mut row = 0u64;
    let mut key = String::new();
    loop {
        let more_a = ra.advance()?;
        let more_b = rb.advance()?;
        if let (true, Some((i, _))) = (more_a, symbol) {
            note_symbol(&mut symbols_a, ra.cell(i));
        }
        if let (true, Some((_, j))) = (more_b, symbol) {
            note_symbol(&mut symbols_b, rb.cell(j));
        }
        if !more_a && !more_b {
            break;
        }
        if !(more_a && more_b) {
            continue;
        }
        row += 1;
        key.clear();
        for pair in &pairs {
            if pair.same_type {
                if let (Some(p), Some(q)) = (ra.text(pair.a), rb.text(pair.b)) {
                    if p == q {
                        continue;
                    }
                }
            }
            let (x, y) = (ra.cell(pair.a), rb.cell(pair.b));
            let tolerance = (pair.role == Role::Value).then_some(pair.tolerance.1);
            let Verdict::Differs(difference) = compare_cells(x, y, mode, tolerance) else {
                continue;
            };
            if key.is_empty() {
                key = row_key(ra.as_ref(), date, symbol);
            }
            let what = match pair.role {
                Role::Date => What::DateIndex,
                _ => What::Value,
            };
            // As stored, when the format stores text: `1227693.00`, not `1227693.0`.
            let shown = |rows: &dyn Rows, i: usize, cell: Cell<'_>| {
                rows.text(i).map_or_else(|| cell.text(), str::to_string)
            };
            let (p, q) = (shown(ra.as_ref(), pair.a, x), shown(rb.as_ref(), pair.b, y));
            let mut d = Difference::new(file, what, p, q).column(pair.name.clone());
            d.at = Some(Place::Row(row));
            d.key = (!key.is_empty()).then(|| key.clone());
            d.difference = difference;
            let floats = matches!(x, Cell::Float(_) | Cell::Decimal(..))
                || matches!(y, Cell::Float(_) | Cell::Decimal(..));
            if mode == Mode::Tolerant && pair.role == Role::Value && floats {
                d.tolerance = Some(pair.tolerance);
            }
            report.push(d);
        }
    }
    if symbols_a != symbols_b {
        let missing: Vec<&str> = symbols_a
            .difference(&symbols_b)
            .map(String::as_str)
            .collect();
        let extra: Vec<&str> = symbols_b
            .difference(&symbols_a)
            .map(String::as_str)
            .collect();
        let mut d = Difference::new(
            file,
            What::Symbols,
            format!("{} symbols", symbols_a.len()),
            format!("{} symbols", symbols_b.len()),
        );
        let mut detail = String::new();
        if !missing.is_empty() {
            let _ = write!(detail, "missing: {}", missing.join(" "));
        }
        if !extra.is_empty() {
            if !detail.is_empty() {
                detail.push_str("; ");
            }
            let _ = write!(detail, "extra: {}", extra.join(" "));
        }
        d.key = Some(detail);
        report.push(d);
    }
    Ok(if report.total > before {
        FileStatus::Differs
    } else {
        FileStatus::Equal
    })
}

fn note_symbol(set: &mut BTreeSet<String>, cell: Cell<'_>) {
    if let Cell::Text(s) = cell {
        if !set.contains(s) {
            set.insert(s.to_string());
        }
    } else if cell != Cell::Null {
        set.insert(cell.text());
    }
}

/// The baseline row's date and symbol, for reports.
fn row_key(
    rows: &dyn Rows,
    date: Option<(usize, usize)>,
    symbol: Option<(usize, usize)>,
) -> String {
    let parts: Vec<String> = [date, symbol]
        .into_iter()
        .flatten()
        .map(|(i, _)| rows.cell(i))
        .filter(|c| *c != Cell::Null)
        .map(|c| c.text())
        .collect();
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_text_is_exact() {
        assert_eq!(decimal_text(11_072_214, 5), "110.72214");
        assert_eq!(decimal_text(-5, 3), "-0.005");
        assert_eq!(decimal_text(42, 0), "42");
    }

    #[test]
    fn decimals_equal_across_scales() {
        assert!(decimal_eq((150, 2), (15, 1)));
        assert!(!decimal_eq((151, 2), (15, 1)));
    }

    #[test]
    fn exact_fields_ignore_the_tolerance() {
        let t = Category::Returns.default_tolerance();
        let v = |a, b, tol| compare_cells(a, b, Mode::Tolerant, tol);
        assert_eq!(
            v(Cell::Int(1), Cell::Int(2), Some(t)),
            Verdict::Differs(None)
        );
        assert_eq!(
            v(Cell::Float(0.1), Cell::Float(0.1 + 1e-12), Some(t)),
            Verdict::Same
        );
        // The date index and symbols have no tolerance, even when they are numbers.
        assert!(matches!(
            v(Cell::Float(0.1), Cell::Float(0.1 + 1e-12), None),
            Verdict::Differs(Some(_))
        ));
        assert_eq!(v(Cell::Text("a"), Cell::Text("a"), None), Verdict::Same);
        assert_eq!(
            v(Cell::Null, Cell::Float(0.0), Some(t)),
            Verdict::Differs(None)
        );
        // Integers written without a fraction compare with floats by value.
        assert_eq!(
            v(Cell::Int(100), Cell::Float(100.0), Some(t)),
            Verdict::Same
        );
    }

    #[test]
    fn exact_mode_compares_bits() {
        let t = Some(Category::Returns.default_tolerance());
        let v = |a, b| compare_cells(a, b, Mode::Exact, t);
        assert!(matches!(
            v(Cell::Float(0.1), Cell::Float(0.1 + 1e-12)),
            Verdict::Differs(Some(_))
        ));
        assert_eq!(
            v(Cell::Float(f64::NAN), Cell::Float(f64::NAN)),
            Verdict::Same
        );
        assert!(matches!(
            v(Cell::Float(0.0), Cell::Float(-0.0)),
            Verdict::Differs(_)
        ));
        assert_eq!(
            v(Cell::Decimal(150, 2), Cell::Decimal(15, 1)),
            Verdict::Same
        );
    }

    #[test]
    fn roles_by_name() {
        assert_eq!(role("Date"), Role::Date);
        assert_eq!(role("ts"), Role::Date);
        assert_eq!(role("ticker"), Role::Symbol);
        assert_eq!(role("close"), Role::Value);
    }
}
