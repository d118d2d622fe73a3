//! Bar files — CSV (plain or gzip), Parquet and Databento DBN — in two shapes: one file per
//! symbol, or one long file with a symbol column. Files stream in constant memory; a long
//! file is read once per symbol (filtered), and the sequencer merges the symbols' streams in
//! time order. Every row passes the data guard before the core sees it.
//!
//! Columns of CSV and Parquet files are recognised by name, case-insensitively: time
//! (`date`, `datetime`, `timestamp`, `time`, `ts_event`), `open`, `high`, `low`, `close`,
//! `volume`, the symbol (`symbol`, `ticker`) and the adjusted close (`adj close`,
//! `adj_close`, `adjusted_close`, used only to tell splits from crashes). Times may be dates
//! (`2000-03-01`, stamped at `close_time` UTC), date-times (`2000-03-01T20:00:00Z`, taken as
//! the bar's close) or epoch seconds, milliseconds or nanoseconds (told apart by magnitude
//! unless `time_format` says); Parquet's own date and timestamp types are read as such.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tape_engine::event::{Bar, SymbolId};
use tape_engine::event::{DataNote, Reason, ReasonValue};
use tape_engine::fixed::{Price, Quantity};
use tape_engine::ledger::InputSource;
use tape_engine::sequencer::{SourcedInput, TimedBar, TimedInput};
use tape_engine::time::Ts;

use super::csv::CsvTable;
use super::guard::{split_ratio, Check, DataReport, Finding, GuardSpec, Policy};
pub use super::table::TimeFormat;
use super::table::{
    column, find_column, instant, number, row_error, text, time_of_day, Cell, Table, TimeRule,
};
use super::{BarSource, LoadError};
use crate::calendar::TradingDays;
use crate::scenario::DaysSpec;

/// The bytes of data files shipped inside the binary, by name (`builtin:NAME`).
const EMBEDDED: &[(&str, &[u8])] = &[("stocks.csv.gz", include_bytes!("../../data/stocks.csv.gz"))];

fn default_close_time() -> String {
    "21:00".to_string()
}

/// The `kind` of a file market table: the files' format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// CSV files, plain or gzip-compressed (a `.gz` name).
    Csv,
    /// Parquet files (a build with the `parquet` feature).
    Parquet,
    /// Databento DBN files of an OHLCV schema, plain or zstd-compressed (a build with the
    /// `dbn` feature).
    Dbn,
}

impl FileFormat {
    /// The kind's name in a scenario.
    pub fn name(self) -> &'static str {
        match self {
            FileFormat::Csv => "csv",
            FileFormat::Parquet => "parquet",
            FileFormat::Dbn => "dbn",
        }
    }
}

/// The `[market]` table of `kind = "csv"`, `"parquet"` or `"dbn"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    /// The files' format.
    pub kind: FileFormat,
    /// Files, relative to the scenario file's directory (or `builtin:stocks.csv.gz`).
    pub files: Vec<String>,
    /// The symbols to load (default: every symbol found), named as in the data.
    #[serde(default)]
    pub symbols: Vec<String>,
    /// The symbol column's name; without one, each file is one symbol named by its stem.
    #[serde(default)]
    pub symbol_column: Option<String>,
    /// The time column's name (default: recognised by name).
    #[serde(default)]
    pub time_column: Option<String>,
    /// How times are written.
    #[serde(default)]
    pub time_format: TimeFormat,
    /// For dates: the time of day (UTC, `HH:MM`) a daily bar is stamped at, its close.
    #[serde(default = "default_close_time")]
    pub close_time: String,
    /// First time to load (inclusive), a date or a time.
    #[serde(default)]
    pub start: Option<String>,
    /// Last time to load (exclusive), a date or a time.
    #[serde(default)]
    pub end: Option<String>,
    /// Use the adjusted close: open, high, low and close are scaled by `adjusted / close` of
    /// their row (and volume by its inverse), so splits and dividends leave no jumps. Needs an
    /// adjusted-close column.
    #[serde(default)]
    pub adjust: bool,
    /// Which days the market trades, `"weekdays"` (equities) or `"always"` (24/7): a
    /// calendar, which turns on the guard's gap check. Without it no gap is checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<DaysSpec>,
    /// Days without trading (`YYYY-MM-DD`), for the gap check; needs `days`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<String>,
    /// Data guard policies.
    #[serde(default)]
    pub guard: GuardSpec,
}

impl FileSpec {
    /// A table of `kind` over `files` with every other field at the default a scenario file
    /// gets when it leaves the field out.
    pub fn new(kind: FileFormat, files: Vec<String>) -> Self {
        Self {
            kind,
            files,
            symbols: Vec::new(),
            symbol_column: None,
            time_column: None,
            time_format: TimeFormat::default(),
            close_time: default_close_time(),
            start: None,
            end: None,
            adjust: false,
            days: None,
            holidays: Vec::new(),
            guard: GuardSpec::default(),
        }
    }

    /// The trading days the gap check counts by, if the market names them.
    pub fn trading_days(&self) -> Result<Option<TradingDays>, LoadError> {
        let Some(days) = self.days else {
            if let Some(first) = self.holidays.first() {
                return Err(LoadError::Open {
                    file: "[market] holidays".to_string(),
                    detail: format!(
                        "'{first}' is given without days; add days = \"weekdays\" (or \"always\")"
                    ),
                });
            }
            return Ok(None);
        };
        let mut holidays = Vec::with_capacity(self.holidays.len());
        for h in &self.holidays {
            let day =
                Ts::parse(h)
                    .ok()
                    .filter(|_| h.len() == 10)
                    .ok_or_else(|| LoadError::Open {
                        file: "[market] holidays".to_string(),
                        detail: format!("'{h}' is not a date YYYY-MM-DD"),
                    })?;
            holidays.push(day.day());
        }
        holidays.sort_unstable();
        Ok(Some(TradingDays {
            every_day: days == DaysSpec::Always,
            holidays: holidays.into(),
        }))
    }

    /// The data rules this market's notes may name (the ledger's rule table holds these).
    pub fn guard_rules(&self) -> &'static [tape_engine::event::RuleSpec] {
        super::guard::guard_rules(self.days.is_some())
    }
}

/// A file as named in the scenario and where its bytes are.
#[derive(Clone, Debug)]
pub(crate) struct DataFile {
    shown: String,
    path: Option<PathBuf>,
    embedded: Option<&'static [u8]>,
    /// For a file without a symbol column: the one symbol it holds.
    only_symbol: Option<String>,
}

impl DataFile {
    /// The file as the scenario names it.
    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    /// The file on disk, or an error for a built-in (only CSV files are built in).
    #[cfg_attr(not(any(feature = "parquet", feature = "dbn")), allow(dead_code))]
    pub(crate) fn path(&self) -> Result<&Path, LoadError> {
        self.path.as_deref().ok_or_else(|| LoadError::Open {
            file: self.shown.clone(),
            detail: "built-in data files are CSV; set kind = \"csv\"".to_string(),
        })
    }

    pub(crate) fn resolve(name: &str, base: &Path) -> Result<Self, LoadError> {
        if let Some(builtin) = name.strip_prefix("builtin:") {
            let bytes = EMBEDDED
                .iter()
                .find(|(n, _)| *n == builtin)
                .map(|(_, b)| *b)
                .ok_or_else(|| LoadError::Open {
                    file: name.to_string(),
                    detail: format!("no built-in data file '{builtin}' (built-ins: stocks.csv.gz)"),
                })?;
            return Ok(Self {
                shown: name.to_string(),
                path: None,
                embedded: Some(bytes),
                only_symbol: None,
            });
        }
        let path = base.join(name);
        if !path.is_file() {
            return Err(LoadError::Open {
                file: path.display().to_string(),
                detail: "no such file (paths are relative to the scenario file)".to_string(),
            });
        }
        Ok(Self {
            shown: name.to_string(),
            path: Some(path),
            embedded: None,
            only_symbol: None,
        })
    }

    /// The file's bytes, gzip-decompressed for a `.gz` name.
    pub(crate) fn open(&self) -> Result<Box<dyn Read + Send>, LoadError> {
        let raw: Box<dyn Read + Send> = match (&self.embedded, &self.path) {
            (Some(bytes), _) => Box::new(*bytes),
            (None, Some(path)) => Box::new(BufReader::with_capacity(
                1 << 16,
                File::open(path).map_err(|e| LoadError::Open {
                    file: self.shown.clone(),
                    detail: e.to_string(),
                })?,
            )),
            (None, None) => unreachable!("a data file is embedded or on disk"),
        };
        Ok(if self.shown.ends_with(".gz") {
            Box::new(flate2::read::MultiGzDecoder::new(raw))
        } else {
            raw
        })
    }

    pub(crate) fn blake3(&self) -> Result<[u8; 32], LoadError> {
        let mut hasher = blake3::Hasher::new();
        match (&self.embedded, &self.path) {
            (Some(bytes), _) => {
                hasher.update(bytes);
            }
            (None, Some(path)) => {
                hasher
                    .update_reader(File::open(path).map_err(|e| LoadError::Open {
                        file: self.shown.clone(),
                        detail: e.to_string(),
                    })?)
                    .map_err(|e| LoadError::Open {
                        file: self.shown.clone(),
                        detail: e.to_string(),
                    })?;
            }
            (None, None) => unreachable!("a data file is embedded or on disk"),
        }
        Ok(*hasher.finalize().as_bytes())
    }

    /// The symbol a file without a symbol column holds: its name up to the first dot.
    fn stem_symbol(&self) -> String {
        let mut name = self.shown.rsplit(['/', '\\']).next().unwrap_or(&self.shown);
        for ext in [".gz", ".csv", ".txt", ".parquet", ".pq"] {
            name = name.strip_suffix(ext).unwrap_or(name);
        }
        name.to_string()
    }
}

/// Where a bar's values are in a table's records.
#[derive(Clone, Copy, Debug)]
struct Columns {
    time: usize,
    open: usize,
    high: usize,
    low: usize,
    close: usize,
    volume: usize,
    symbol: Option<usize>,
    adjusted: Option<usize>,
}

impl Columns {
    fn detect(table: &dyn Table, spec: &FileSpec) -> Result<Self, LoadError> {
        let rename = "rename it, or name it in [market] (time_column, symbol_column)";
        let usual = |names: &[&str], what: &str| column(table, None, names, what, rename);
        let symbol = match &spec.symbol_column {
            Some(name) => Some(column(
                table,
                Some(name),
                &[],
                &format!("'{name}'"),
                rename,
            )?),
            None => find_column(table.headers(), &["symbol", "ticker"]),
        };
        Ok(Self {
            time: column(
                table,
                spec.time_column.as_deref(),
                &["date", "datetime", "timestamp", "time", "ts_event"],
                "time",
                rename,
            )?,
            open: usual(&["open", "o"], "open")?,
            high: usual(&["high", "h"], "high")?,
            low: usual(&["low", "l"], "low")?,
            close: usual(&["close", "c"], "close")?,
            volume: usual(&["volume", "vol", "v"], "volume")?,
            symbol,
            adjusted: find_column(
                table.headers(),
                &["adj close", "adj_close", "adjusted_close", "adjclose"],
            ),
        })
    }
}

/// One parsed row, before the guard.
pub(crate) struct Row {
    pub(crate) number: u64,
    pub(crate) ts: Ts,
    pub(crate) open: f64,
    pub(crate) high: f64,
    pub(crate) low: f64,
    pub(crate) close: f64,
    pub(crate) volume: f64,
    pub(crate) adjusted: Option<f64>,
}

/// A file's bars, row by row, each with its symbol, in file order.
pub(crate) trait BarRows: Send {
    /// Whether rows name their symbol; a file whose rows do not holds one symbol.
    fn has_symbols(&self) -> bool;
    /// The next row, or `None` at the end.
    fn next_row(&mut self) -> Option<Result<(String, Row), LoadError>>;
}

/// Bars from a table (CSV or Parquet).
struct TableBars {
    table: Box<dyn Table>,
    columns: Columns,
    stem: String,
    times: TimeRule,
    adjust: bool,
}

impl TableBars {
    fn new(
        table: Box<dyn Table>,
        spec: &FileSpec,
        stem: String,
        times: TimeRule,
    ) -> Result<Self, LoadError> {
        let columns = Columns::detect(table.as_ref(), spec)?;
        Ok(Self {
            table,
            columns,
            stem,
            times,
            adjust: spec.adjust,
        })
    }

    fn parse(&self) -> Result<(String, Row), LoadError> {
        let t = self.table.as_ref();
        let c = &self.columns;
        let symbol = match c.symbol {
            Some(i) => text(t, i),
            None => self.stem.clone(),
        };
        let adjusted = match c.adjusted.map(|i| (i, t.cell(i))) {
            Some((_, Cell::Null)) | Some((_, Cell::Text(""))) | None => None,
            Some((i, _)) => Some(number(t, i, "adjusted close")?),
        };
        let mut row = Row {
            number: t.row(),
            ts: instant(t, c.time, self.times)?,
            open: number(t, c.open, "open")?,
            high: number(t, c.high, "high")?,
            low: number(t, c.low, "low")?,
            close: number(t, c.close, "close")?,
            volume: number(t, c.volume, "volume")?,
            adjusted,
        };
        if self.adjust {
            let adjusted = adjusted.ok_or_else(|| {
                row_error(
                    t,
                    "adjust = true needs an adjusted close in every row".to_string(),
                )
            })?;
            let factor = adjusted / row.close;
            row.open *= factor;
            row.high *= factor;
            row.low *= factor;
            row.close = adjusted;
            row.volume /= factor;
            row.adjusted = Some(adjusted);
        }
        Ok((symbol, row))
    }
}

impl BarRows for TableBars {
    fn has_symbols(&self) -> bool {
        self.columns.symbol.is_some()
    }

    fn next_row(&mut self) -> Option<Result<(String, Row), LoadError>> {
        match self.table.advance() {
            Ok(true) => Some(self.parse()),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

/// A file's rows inside the scenario's time window.
struct RowReader {
    rows: Box<dyn BarRows>,
    file: String,
    stem: String,
    window: (Option<Ts>, Option<Ts>),
}

impl RowReader {
    fn open(
        file: &DataFile,
        spec: &FileSpec,
        times: TimeRule,
        window: (Option<Ts>, Option<Ts>),
    ) -> Result<Self, LoadError> {
        let stem = file.stem_symbol();
        let rows: Box<dyn BarRows> = match spec.kind {
            FileFormat::Csv => Box::new(TableBars::new(
                Box::new(CsvTable::new(&file.shown, file.open()?)?),
                spec,
                stem.clone(),
                times,
            )?),
            FileFormat::Parquet => Box::new(TableBars::new(
                super::parquet::open(file)?,
                spec,
                stem.clone(),
                times,
            )?),
            // DBN bars carry no adjusted close: refuse, rather than run unadjusted unasked.
            FileFormat::Dbn if spec.adjust => {
                return Err(LoadError::Open {
                    file: file.shown.clone(),
                    detail: "DBN bars have no adjusted close, so adjust = true cannot apply; set adjust = false".to_string(),
                })
            }
            FileFormat::Dbn => super::dbn::open(file, times)?,
        };
        Ok(Self {
            rows,
            file: file.shown.clone(),
            stem,
            window,
        })
    }

    /// The next row (with its symbol) inside the time window.
    fn next_row(&mut self) -> Option<Result<(String, Row), LoadError>> {
        loop {
            match self.rows.next_row()? {
                Ok((_, ref row))
                    if self.window.0.is_some_and(|s| row.ts < s)
                        || self.window.1.is_some_and(|e| row.ts >= e) =>
                {
                    continue
                }
                other => return Some(other),
            }
        }
    }
}

/// The guard's memory of one symbol: its last accepted bar.
#[derive(Clone, Copy, Debug, Default)]
struct SymbolGuard {
    last_ts: Option<Ts>,
    last_close: Option<f64>,
    last_adjusted: Option<f64>,
}

/// A finding to record in the ledger: the check and the numbers it saw.
#[derive(Clone, Debug, PartialEq)]
struct Note {
    check: Check,
    values: Vec<ReasonValue>,
}

/// What the guard decided about a row.
enum Verdict {
    /// Deliver the bar, after its warning notes (usually none).
    Keep(Bar, Vec<Note>),
    /// Drop the bar; the note says why.
    Drop(Note),
}

/// Checks a row against the guard; records findings; `Err` on a rejecting policy.
#[allow(clippy::too_many_arguments)]
fn guard_row(
    spec: &GuardSpec,
    calendar: Option<&TradingDays>,
    state: &mut SymbolGuard,
    file: &str,
    symbol: &str,
    id: SymbolId,
    row: &Row,
    report: &mut DataReport,
) -> Result<Verdict, LoadError> {
    report.rows += 1;
    let real = |values: &[f64]| values.iter().map(|&v| ReasonValue::Real(v)).collect();
    let prices_seen: Vec<ReasonValue> = real(&[row.open, row.high, row.low, row.close]);
    let dropped =
        |check: Check, values: Vec<ReasonValue>| Ok(Verdict::Drop(Note { check, values }));
    let place = format!("{file}, row {}, {symbol} at {}", row.number, row.ts);
    let flag =
        |check: Check, detail: String, report: &mut DataReport| -> Result<Policy, LoadError> {
            let policy = spec.policy(check);
            if policy == Policy::Reject {
                return Err(LoadError::Rejected {
                    file: file.to_string(),
                    row: row.number,
                    check: check.name(),
                    detail: format!("{symbol} at {}: {detail}", row.ts),
                });
            }
            report.record(Finding {
                check,
                policy,
                place: place.clone(),
                detail,
            });
            Ok(policy)
        };
    let prices = [
        ("open", row.open),
        ("high", row.high),
        ("low", row.low),
        ("close", row.close),
    ];
    if let Some((name, v)) = prices.iter().find(|(_, v)| !(v.is_finite() && *v > 0.0)) {
        flag(
            Check::InvalidPrice,
            format!("{name} = {v} is not a positive number"),
            report,
        )?;
        return dropped(Check::InvalidPrice, prices_seen);
    }
    let to_price = |v: f64| Price::from_f64(v).ok();
    let (Some(open), Some(high), Some(low), Some(close)) = (
        to_price(row.open),
        to_price(row.high),
        to_price(row.low),
        to_price(row.close),
    ) else {
        flag(
            Check::InvalidPrice,
            "a price is out of the representable range".to_string(),
            report,
        )?;
        return dropped(Check::InvalidPrice, prices_seen);
    };
    if !(row.volume.is_finite() && row.volume >= 0.0) {
        flag(
            Check::NegativeVolume,
            format!("volume = {}", row.volume),
            report,
        )?;
        return dropped(Check::NegativeVolume, real(&[row.volume]));
    }
    let Ok(volume) = Quantity::from_f64(row.volume) else {
        flag(
            Check::NegativeVolume,
            format!("volume = {} is out of range", row.volume),
            report,
        )?;
        return dropped(Check::NegativeVolume, real(&[row.volume]));
    };
    let bar = match Bar::new(id, open, high, low, close, volume) {
        Ok(bar) => bar,
        Err(e) => {
            flag(Check::InconsistentBar, e.to_string(), report)?;
            return dropped(Check::InconsistentBar, prices_seen);
        }
    };
    if let Some(last) = state.last_ts {
        if row.ts <= last {
            let what = if row.ts == last {
                "a duplicate of"
            } else {
                "earlier than"
            };
            flag(
                Check::OutOfOrder,
                format!("time {} is {what} the previous bar's {last}", row.ts),
                report,
            )?;
            return dropped(Check::OutOfOrder, vec![ReasonValue::Int(last.0)]);
        }
    }
    let mut warned = Vec::new();
    if let (Some(days), Some(last)) = (calendar, state.last_ts) {
        let missing = days.sessions_between(last, row.ts);
        if missing > u64::from(spec.max_gap_sessions) {
            let values = vec![
                ReasonValue::Int(last.0),
                ReasonValue::Int(i64::try_from(missing).unwrap_or(i64::MAX)),
            ];
            let detail = format!(
                "{missing} trading days without a bar since {last} (more than max_gap_sessions = {})",
                spec.max_gap_sessions
            );
            if flag(Check::Gap, detail, report)? == Policy::Quarantine {
                // Only this bar goes: the next one is measured from it.
                state.last_ts = Some(row.ts);
                return dropped(Check::Gap, values);
            }
            warned.push(Note {
                check: Check::Gap,
                values,
            });
        }
    }
    if let Some(prev) = state.last_close {
        let ratio = row.close / prev;
        // A split moves the unadjusted close by the split factor while the adjusted close
        // moves as the market did: their ratio is the factor (a dividend gives ~0.99).
        let split = match (row.adjusted, state.last_adjusted) {
            (Some(a), Some(pa)) if pa > 0.0 && a > 0.0 => split_ratio(ratio / (a / pa)),
            _ => None,
        };
        let finding = match split {
            Some(k) => {
                let (new, old) = split_words(k);
                Some((Check::Split, format!("close {prev} -> {} ({ratio:.4}×) while the adjusted close moved {:+.1}%: a {new}-for-{old} split", row.close, (ratio / k - 1.0) * 100.0)))
            }
            None if (ratio - 1.0).abs() > spec.absurd_return_threshold => Some((
                Check::AbsurdReturn,
                format!(
                    "close {prev} -> {} is a {:+.1}% move",
                    row.close,
                    (ratio - 1.0) * 100.0
                ),
            )),
            None => None,
        };
        if let Some((check, detail)) = finding {
            let values = real(&[prev, row.close, ratio]);
            if flag(check, detail, report)? == Policy::Quarantine {
                // The level moved (a split, or a jump in the data): later rows are compared
                // with it, or every one after a split would be dropped too.
                state.last_close = Some(row.close);
                state.last_adjusted = row.adjusted;
                return dropped(check, values);
            }
            warned.push(Note { check, values });
        }
    }
    state.last_ts = Some(row.ts);
    state.last_close = Some(row.close);
    state.last_adjusted = row.adjusted;
    report.bars += 1;
    report.first_ts = Some(report.first_ts.map_or(row.ts, |t| t.min(row.ts)));
    Ok(Verdict::Keep(bar, warned))
}

/// "new for old" shares of a split whose price ratio is `k` (0.5 → 2-for-1).
fn split_words(k: f64) -> (u32, u32) {
    let x = 1.0 / k;
    let near = |a: f64, b: f64| (a - b).abs() < 1e-9;
    if near(x, 1.5) {
        (3, 2)
    } else if near(x, 1.0 / 1.5) {
        (2, 3)
    } else if x >= 1.0 {
        (x.round() as u32, 1)
    } else {
        (1, (1.0 / x).round() as u32)
    }
}

/// A market of files: its files resolved, its symbols found, its data checked.
#[derive(Clone, Debug)]
pub struct FileMarket {
    spec: FileSpec,
    files: Vec<DataFile>,
    times: TimeRule,
    window: (Option<Ts>, Option<Ts>),
    symbols: Vec<String>,
    report: DataReport,
    calendar: Option<TradingDays>,
}

impl FileMarket {
    /// Resolves the files (relative to `base`), finds the symbols and runs the data guard
    /// over every row once, so a rejecting policy stops the run before anything is written.
    pub fn open(spec: &FileSpec, base: &Path) -> Result<Self, LoadError> {
        let threshold = spec.guard.absurd_return_threshold;
        if !(threshold.is_finite() && threshold > 0.0) {
            return Err(LoadError::Open {
                file: "[market.guard] absurd_return_threshold".to_string(),
                detail: format!("{threshold} must be a positive fraction (0.5 = ±50%)"),
            });
        }
        if spec.files.is_empty() {
            return Err(LoadError::Open {
                file: "[market] files".to_string(),
                detail: "lists no file".to_string(),
            });
        }
        let close_offset_ns = time_of_day(&spec.close_time).ok_or_else(|| LoadError::Open {
            file: "[market] close_time".to_string(),
            detail: format!("'{}' is not HH:MM", spec.close_time),
        })?;
        let times = TimeRule {
            format: spec.time_format,
            date_offset_ns: close_offset_ns,
        };
        let bound = |key: &str, v: &Option<String>| -> Result<Option<Ts>, LoadError> {
            v.as_deref()
                .map(|t| {
                    Ts::parse(t).map_err(|e| LoadError::Open {
                        file: format!("[market] {key}"),
                        detail: e.to_string(),
                    })
                })
                .transpose()
        };
        let window = (bound("start", &spec.start)?, bound("end", &spec.end)?);
        let files = spec
            .files
            .iter()
            .map(|f| DataFile::resolve(f, base))
            .collect::<Result<Vec<_>, _>>()?;

        // Pass 1: the symbols present.
        let mut found = std::collections::BTreeSet::new();
        let mut files = files;
        for file in &mut files {
            let mut rows = RowReader::open(file, spec, times, window)?;
            if !rows.rows.has_symbols() {
                found.insert(rows.stem.clone());
                file.only_symbol = Some(rows.stem.clone());
                continue;
            }
            while let Some(row) = rows.next_row() {
                found.insert(row?.0);
            }
        }
        let symbols: Vec<String> = if spec.symbols.is_empty() {
            found.into_iter().collect()
        } else {
            for s in &spec.symbols {
                if !found.contains(s) {
                    return Err(LoadError::Open {
                        file: "[market] symbols".to_string(),
                        detail: format!("'{s}' is in none of the files"),
                    });
                }
            }
            let mut wanted = spec.symbols.clone();
            wanted.sort();
            wanted.dedup();
            wanted
        };
        let mut market = Self {
            spec: spec.clone(),
            files,
            times,
            window,
            symbols,
            report: DataReport::default(),
            calendar: spec.trading_days()?,
        };

        // Pass 2: the guard over every row, so a rejection stops the run before it starts.
        market.report = market.checked_report()?;
        Ok(market)
    }

    /// Reads every source to the end, collecting the guard's findings.
    fn checked_report(&self) -> Result<DataReport, LoadError> {
        let report = Arc::new(Mutex::new(DataReport::default()));
        // Merged as the run will merge them, so a symbol whose bars come from two files at
        // one time is refused here, before any ledger exists.
        let mut last: Vec<Option<Ts>> = vec![None; self.symbols.len()];
        for item in tape_engine::sequencer::Sequencer::new(self.sources_into(Arc::clone(&report))) {
            let item = item.map_err(|e| match e {
                tape_engine::sequencer::SequencerError::Source(e) => e,
                other => LoadError::Open {
                    file: "market".to_string(),
                    detail: other.to_string(),
                },
            })?;
            if let Some(bar) = item.bar() {
                let seen = &mut last[bar.symbol.0 as usize];
                if *seen == Some(item.ts) {
                    return Err(LoadError::Open {
                        file: self.files.iter().map(|f| f.shown.as_str()).collect::<Vec<_>>().join(", "),
                        detail: format!(
                            "{} has two bars at {} (the same symbol in two files?); give each symbol's times in one file",
                            self.symbols[bar.symbol.0 as usize], item.ts
                        ),
                    });
                }
                *seen = Some(item.ts);
            }
        }
        let report = report
            .lock()
            .map_err(|_| LoadError::Open {
                file: "data report".to_string(),
                detail: "poisoned".to_string(),
            })?
            .clone();
        Ok(report)
    }

    /// Symbol names, sorted: `SymbolId(i)` is `symbols()[i]`.
    pub fn symbols(&self) -> &[String] {
        &self.symbols
    }

    /// What the guard found.
    pub fn report(&self) -> &DataReport {
        &self.report
    }

    /// Each file's name and the BLAKE3 of its bytes, for the ledger header.
    pub fn inputs(&self) -> Result<Vec<InputSource>, LoadError> {
        self.files
            .iter()
            .map(|f| {
                Ok(InputSource {
                    name: f.shown.clone(),
                    blake3: f.blake3()?,
                })
            })
            .collect()
    }

    /// One stream of checked bars per symbol (per file, for files of one symbol), in symbol
    /// order: the sequencer merges them by time.
    pub fn sources(&self) -> Vec<BarSource> {
        self.sources_into(Arc::new(Mutex::new(DataReport::default())))
    }

    fn sources_into(&self, report: Arc<Mutex<DataReport>>) -> Vec<BarSource> {
        let mut out: Vec<BarSource> = Vec::new();
        for (id, symbol) in self.symbols.iter().enumerate() {
            for (file_index, file) in self.files.iter().enumerate() {
                // A file of one symbol is read for that symbol only.
                if file.only_symbol.as_ref().is_some_and(|s| s != symbol) {
                    continue;
                }
                let source = SymbolStream {
                    file: file.clone(),
                    spec: self.spec.clone(),
                    times: self.times,
                    window: self.window,
                    symbol: symbol.clone(),
                    id: SymbolId(id as u32),
                    rows: None,
                    state: SymbolGuard::default(),
                    report: Arc::clone(&report),
                    done: false,
                    input: file_index as u32,
                    pending: std::collections::VecDeque::new(),
                    calendar: self.calendar.clone(),
                };
                out.push(Box::new(source));
            }
        }
        out
    }
}

/// The checked bars of one symbol in one file.
struct SymbolStream {
    file: DataFile,
    spec: FileSpec,
    times: TimeRule,
    window: (Option<Ts>, Option<Ts>),
    symbol: String,
    id: SymbolId,
    rows: Option<RowReader>,
    state: SymbolGuard,
    report: Arc<Mutex<DataReport>>,
    done: bool,
    /// Index of the file among the market's files (the header's input list).
    input: u32,
    /// Inputs waiting: a kept bar behind its warning notes.
    pending: std::collections::VecDeque<TimedInput>,
    /// The trading days gaps are counted by (none: no gap check).
    calendar: Option<TradingDays>,
}

impl SymbolStream {
    fn note(&self, ts: Ts, row: u64, quarantined: bool, note: Note) -> TimedInput {
        let note = DataNote {
            symbol: self.id,
            input: self.input,
            row,
            reason: Reason::new(note.check.rule().id, &note.values),
        };
        TimedInput {
            ts,
            input: SourcedInput::Data { quarantined, note },
        }
    }
}

impl Iterator for SymbolStream {
    type Item = Result<TimedInput, LoadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(pending) = self.pending.pop_front() {
            return Some(Ok(pending));
        }
        if self.done {
            return None;
        }
        if self.rows.is_none() {
            match RowReader::open(&self.file, &self.spec, self.times, self.window) {
                Ok(r) => {
                    if !r.rows.has_symbols() && r.stem != self.symbol {
                        self.done = true;
                        return None;
                    }
                    self.rows = Some(r);
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        let rows = self.rows.as_mut().expect("opened above");
        loop {
            let (symbol, row) = match rows.next_row() {
                None => {
                    self.done = true;
                    return None;
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Some(Ok(r)) => r,
            };
            if symbol != self.symbol {
                continue;
            }
            let mut report = match self.report.lock() {
                Ok(r) => r,
                Err(poisoned) => poisoned.into_inner(),
            };
            match guard_row(
                &self.spec.guard,
                self.calendar.as_ref(),
                &mut self.state,
                &rows.file,
                &self.symbol,
                self.id,
                &row,
                &mut report,
            ) {
                Ok(Verdict::Keep(bar, notes)) if notes.is_empty() => {
                    return Some(Ok(TimedBar { ts: row.ts, bar }.into()))
                }
                Ok(Verdict::Keep(bar, notes)) => {
                    drop(report);
                    for note in notes {
                        let note = self.note(row.ts, row.number, false, note);
                        self.pending.push_back(note);
                    }
                    self.pending.push_back(TimedBar { ts: row.ts, bar }.into());
                    return self.pending.pop_front().map(Ok);
                }
                Ok(Verdict::Drop(note)) => {
                    drop(report);
                    // Known when read: a row that goes back in time is noted at the time
                    // already reached, so the stream stays in order.
                    let known = self.state.last_ts.map_or(row.ts, |t| t.max(row.ts));
                    return Some(Ok(self.note(known, row.number, true, note)));
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}
