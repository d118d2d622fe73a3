//! CSV bar files, plain or gzip-compressed, in two shapes: one file per symbol, or one long
//! file with a symbol column. Files stream in constant memory; a long file is read once per
//! symbol (filtered), and the sequencer merges the symbols' streams in time order.
//!
//! Columns are recognised by name, case-insensitively: time (`date`, `datetime`,
//! `timestamp`, `time`, `ts_event`), `open`, `high`, `low`, `close`, `volume`, the symbol
//! (`symbol`, `ticker`) and the adjusted close (`adj close`, `adj_close`, `adjusted_close`,
//! used only to tell splits from crashes). Times may be dates (`2000-03-01`, stamped at
//! `close_time` UTC), date-times (`2000-03-01T20:00:00Z`, taken as the bar's close) or epoch
//! seconds, milliseconds or nanoseconds (told apart by magnitude unless `time_format` says).

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
use tape_engine::time::{Ts, NANOS_PER_MINUTE, NANOS_PER_SECOND};

use super::guard::{split_ratio, Check, DataReport, Finding, GuardSpec, Policy};
use super::{BarSource, LoadError};

/// The bytes of data files shipped inside the binary, by name (`builtin:NAME`).
const EMBEDDED: &[(&str, &[u8])] = &[("stocks.csv.gz", include_bytes!("../../data/stocks.csv.gz"))];

/// How the time column is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeFormat {
    /// Dates, date-times or epoch numbers, recognised per value.
    #[default]
    Auto,
    /// `YYYY-MM-DD`, stamped at `close_time`.
    Date,
    /// `YYYY-MM-DDTHH:MM[:SS[.f]][Z]` (UTC), the bar's close.
    Datetime,
    /// Seconds since the epoch.
    EpochS,
    /// Milliseconds since the epoch.
    EpochMs,
    /// Nanoseconds since the epoch.
    EpochNs,
}

fn default_close_time() -> String {
    "21:00".to_string()
}

/// The `kind` of a CSV market table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CsvKind {
    /// CSV files, plain or gzip.
    Csv,
}

/// The `[market]` table of `kind = "csv"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvSpec {
    /// `"csv"`.
    pub kind: CsvKind,
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
    /// Data guard policies.
    #[serde(default)]
    pub guard: GuardSpec,
}

/// A file as named in the scenario and where its bytes are.
#[derive(Clone, Debug)]
struct DataFile {
    shown: String,
    path: Option<PathBuf>,
    embedded: Option<&'static [u8]>,
    /// For a file without a symbol column: the one symbol it holds.
    only_symbol: Option<String>,
}

impl DataFile {
    fn resolve(name: &str, base: &Path) -> Result<Self, LoadError> {
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

    fn open(&self) -> Result<Box<dyn Read + Send>, LoadError> {
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

    fn blake3(&self) -> Result<[u8; 32], LoadError> {
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
        for ext in [".gz", ".csv", ".txt"] {
            name = name.strip_suffix(ext).unwrap_or(name);
        }
        name.to_string()
    }
}

/// Column positions in a file's header.
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

fn find(headers: &csv::StringRecord, names: &[&str]) -> Option<usize> {
    headers.iter().position(|h| {
        let h = h.trim().to_ascii_lowercase();
        names.contains(&h.as_str())
    })
}

impl Columns {
    fn detect(headers: &csv::StringRecord, spec: &CsvSpec, file: &str) -> Result<Self, LoadError> {
        let missing = |what: &str| {
            LoadError::Columns {
            file: file.to_string(),
            detail: format!(
                "no {what} column in the header ({}); rename it, or name it in [market] (time_column, symbol_column)",
                headers.iter().collect::<Vec<_>>().join(",")
            ),
        }
        };
        let time = match &spec.time_column {
            Some(name) => find(headers, &[name.to_ascii_lowercase().as_str()]),
            None => find(
                headers,
                &["date", "datetime", "timestamp", "time", "ts_event"],
            ),
        }
        .ok_or_else(|| missing("time"))?;
        let symbol = match &spec.symbol_column {
            Some(name) => Some(
                find(headers, &[name.to_ascii_lowercase().as_str()])
                    .ok_or_else(|| missing(&format!("'{name}'")))?,
            ),
            None => find(headers, &["symbol", "ticker"]),
        };
        Ok(Self {
            time,
            open: find(headers, &["open", "o"]).ok_or_else(|| missing("open"))?,
            high: find(headers, &["high", "h"]).ok_or_else(|| missing("high"))?,
            low: find(headers, &["low", "l"]).ok_or_else(|| missing("low"))?,
            close: find(headers, &["close", "c"]).ok_or_else(|| missing("close"))?,
            volume: find(headers, &["volume", "vol", "v"]).ok_or_else(|| missing("volume"))?,
            symbol,
            adjusted: find(
                headers,
                &["adj close", "adj_close", "adjusted_close", "adjclose"],
            ),
        })
    }
}

/// One parsed row, before the guard.
struct Row {
    number: u64,
    ts: Ts,
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    volume: f64,
    adjusted: Option<f64>,
}

/// Reads one file's rows for one symbol (or every symbol, with `symbol = None`).
struct RowReader {
    file: String,
    records: csv::StringRecordsIntoIter<Box<dyn Read + Send>>,
    columns: Columns,
    stem: String,
    time_format: TimeFormat,
    close_offset_ns: i64,
    start: Option<Ts>,
    end: Option<Ts>,
    number: u64,
    adjust: bool,
}

impl RowReader {
    fn open(
        file: &DataFile,
        spec: &CsvSpec,
        close_offset_ns: i64,
        window: (Option<Ts>, Option<Ts>),
    ) -> Result<Self, LoadError> {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(file.open()?);
        let headers = reader
            .headers()
            .map_err(|e| LoadError::Row {
                file: file.shown.clone(),
                row: 1,
                detail: e.to_string(),
            })?
            .clone();
        let columns = Columns::detect(&headers, spec, &file.shown)?;
        Ok(Self {
            file: file.shown.clone(),
            records: reader.into_records(),
            columns,
            stem: file.stem_symbol(),
            time_format: spec.time_format,
            close_offset_ns,
            start: window.0,
            end: window.1,
            number: 1,
            adjust: spec.adjust,
        })
    }

    /// The next row (with its symbol) inside the time window.
    fn next_row(&mut self) -> Option<Result<(String, Row), LoadError>> {
        loop {
            let record = self.records.next()?;
            self.number += 1;
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    return Some(Err(LoadError::Row {
                        file: self.file.clone(),
                        row: self.number,
                        detail: e.to_string(),
                    }))
                }
            };
            let result = self.parse(&record);
            match result {
                Ok((_, ref row))
                    if self.start.is_some_and(|s| row.ts < s)
                        || self.end.is_some_and(|e| row.ts >= e) =>
                {
                    continue
                }
                other => return Some(other),
            }
        }
    }

    fn parse(&self, record: &csv::StringRecord) -> Result<(String, Row), LoadError> {
        let row = self.number;
        let field = |i: usize| record.get(i).unwrap_or("");
        let err = |detail: String| LoadError::Row {
            file: self.file.clone(),
            row,
            detail,
        };
        let number = |i: usize, name: &str| -> Result<f64, LoadError> {
            let text = field(i);
            text.parse::<f64>()
                .map_err(|_| err(format!("{name} '{text}' is not a number")))
        };
        let symbol = match self.columns.symbol {
            Some(i) => field(i).to_string(),
            None => self.stem.clone(),
        };
        let ts = parse_time(
            field(self.columns.time),
            self.time_format,
            self.close_offset_ns,
        )
        .ok_or_else(|| {
            err(format!(
                "time '{}' is not a date, a date-time or an epoch number (set time_format)",
                field(self.columns.time)
            ))
        })?;
        let adjusted = match self.columns.adjusted {
            Some(i) if !field(i).is_empty() => Some(number(i, "adjusted close")?),
            _ => None,
        };
        let mut parsed = Row {
            number: row,
            ts,
            open: number(self.columns.open, "open")?,
            high: number(self.columns.high, "high")?,
            low: number(self.columns.low, "low")?,
            close: number(self.columns.close, "close")?,
            volume: number(self.columns.volume, "volume")?,
            adjusted,
        };
        if self.adjust {
            let adjusted = adjusted.ok_or_else(|| {
                err("adjust = true needs an adjusted close in every row".to_string())
            })?;
            let factor = adjusted / parsed.close;
            parsed.open *= factor;
            parsed.high *= factor;
            parsed.low *= factor;
            parsed.close = adjusted;
            parsed.volume /= factor;
            parsed.adjusted = Some(adjusted);
        }
        Ok((symbol, parsed))
    }
}

/// Parses a time value.
fn parse_time(text: &str, format: TimeFormat, close_offset_ns: i64) -> Option<Ts> {
    let text = text.trim();
    let epoch = |scale: i64| {
        text.parse::<i64>()
            .ok()
            .and_then(|v| v.checked_mul(scale))
            .map(Ts)
    };
    match format {
        TimeFormat::Date => (text.len() == 10)
            .then(|| Ts::parse(text).ok())
            .flatten()
            .map(|d| Ts(d.0 + close_offset_ns)),
        TimeFormat::Datetime => Ts::parse(text).ok(),
        TimeFormat::EpochS => epoch(NANOS_PER_SECOND),
        TimeFormat::EpochMs => epoch(1_000_000),
        TimeFormat::EpochNs => epoch(1),
        TimeFormat::Auto => {
            if text.contains('-') {
                if text.len() == 10 {
                    parse_time(text, TimeFormat::Date, close_offset_ns)
                } else {
                    Ts::parse(text).ok()
                }
            } else if text.len() == 8 && text.starts_with(['1', '2']) {
                // YYYYMMDD: no market data is stamped at epoch seconds of 1970.
                let dashed = format!("{}-{}-{}", &text[0..4], &text[4..6], &text[6..8]);
                parse_time(&dashed, TimeFormat::Date, close_offset_ns)
            } else {
                let v: i64 = text.parse().ok()?;
                let scale = match v.unsigned_abs() {
                    0..100_000_000_000 => NANOS_PER_SECOND,
                    100_000_000_000..100_000_000_000_000 => 1_000_000,
                    100_000_000_000_000..100_000_000_000_000_000 => 1_000,
                    _ => 1,
                };
                v.checked_mul(scale).map(Ts)
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
    values: Vec<f64>,
}

/// What the guard decided about a row.
enum Verdict {
    /// Deliver the bar, after a warning note if there is one.
    Keep(Bar, Option<Note>),
    /// Drop the bar; the note says why.
    Drop(Note),
}

/// Checks a row against the guard; records findings; `Err` on a rejecting policy.
fn guard_row(
    spec: &GuardSpec,
    state: &mut SymbolGuard,
    file: &str,
    symbol: &str,
    id: SymbolId,
    row: &Row,
    report: &mut DataReport,
) -> Result<Verdict, LoadError> {
    report.rows += 1;
    let prices_seen = vec![row.open, row.high, row.low, row.close];
    let dropped = |check: Check, values: Vec<f64>| Ok(Verdict::Drop(Note { check, values }));
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
        return dropped(Check::NegativeVolume, vec![row.volume]);
    }
    let Ok(volume) = Quantity::from_f64(row.volume) else {
        flag(
            Check::NegativeVolume,
            format!("volume = {} is out of range", row.volume),
            report,
        )?;
        return dropped(Check::NegativeVolume, vec![row.volume]);
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
            return dropped(Check::OutOfOrder, vec![last.0 as f64]);
        }
    }
    let mut warned = None;
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
            let values = vec![prev, row.close, ratio];
            if flag(check, detail, report)? == Policy::Quarantine {
                // The level moved (a split, or a jump in the data): later rows are compared
                // with it, or every one after a split would be dropped too.
                state.last_close = Some(row.close);
                state.last_adjusted = row.adjusted;
                return dropped(check, values);
            }
            warned = Some(Note { check, values });
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

/// A CSV market: its files resolved, its symbols found, its data checked.
#[derive(Clone, Debug)]
pub struct CsvMarket {
    spec: CsvSpec,
    files: Vec<DataFile>,
    close_offset_ns: i64,
    window: (Option<Ts>, Option<Ts>),
    symbols: Vec<String>,
    report: DataReport,
}

fn close_offset(text: &str) -> Option<i64> {
    let (h, m) = text.split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some((h * 60 + m) * NANOS_PER_MINUTE)
}

impl CsvMarket {
    /// Resolves the files (relative to `base`), finds the symbols and runs the data guard
    /// over every row once, so a rejecting policy stops the run before anything is written.
    pub fn open(spec: &CsvSpec, base: &Path) -> Result<Self, LoadError> {
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
        let close_offset_ns = close_offset(&spec.close_time).ok_or_else(|| LoadError::Open {
            file: "[market] close_time".to_string(),
            detail: format!("'{}' is not HH:MM", spec.close_time),
        })?;
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
            let mut rows = RowReader::open(file, spec, close_offset_ns, window)?;
            if rows.columns.symbol.is_none() {
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
            close_offset_ns,
            window,
            symbols,
            report: DataReport::default(),
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
                    close_offset_ns: self.close_offset_ns,
                    window: self.window,
                    symbol: symbol.clone(),
                    id: SymbolId(id as u32),
                    rows: None,
                    state: SymbolGuard::default(),
                    report: Arc::clone(&report),
                    done: false,
                    input: file_index as u32,
                    pending: None,
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
    spec: CsvSpec,
    close_offset_ns: i64,
    window: (Option<Ts>, Option<Ts>),
    symbol: String,
    id: SymbolId,
    rows: Option<RowReader>,
    state: SymbolGuard,
    report: Arc<Mutex<DataReport>>,
    done: bool,
    /// Index of the file among the market's files (the header's input list).
    input: u32,
    /// A bar waiting behind its warning note.
    pending: Option<TimedInput>,
}

impl SymbolStream {
    fn note(&self, ts: Ts, row: u64, quarantined: bool, note: Note) -> TimedInput {
        let values: Vec<ReasonValue> = note
            .values
            .iter()
            .map(|&v| match note.check {
                Check::OutOfOrder => ReasonValue::Int(v as i64),
                _ => ReasonValue::Real(v),
            })
            .collect();
        let note = DataNote {
            symbol: self.id,
            input: self.input,
            row,
            reason: Reason::new(note.check.rule().id, &values),
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
        if let Some(pending) = self.pending.take() {
            return Some(Ok(pending));
        }
        if self.done {
            return None;
        }
        if self.rows.is_none() {
            match RowReader::open(&self.file, &self.spec, self.close_offset_ns, self.window) {
                Ok(r) => {
                    if r.columns.symbol.is_none() && r.stem != self.symbol {
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
                &mut self.state,
                &rows.file,
                &self.symbol,
                self.id,
                &row,
                &mut report,
            ) {
                Ok(Verdict::Keep(bar, None)) => {
                    return Some(Ok(TimedBar { ts: row.ts, bar }.into()))
                }
                Ok(Verdict::Keep(bar, Some(note))) => {
                    drop(report);
                    self.pending = Some(TimedBar { ts: row.ts, bar }.into());
                    return Some(Ok(self.note(row.ts, row.number, false, note)));
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
