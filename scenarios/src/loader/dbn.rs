//! Databento DBN files of OHLCV bars (`ohlcv-1s`, `ohlcv-1m`, `ohlcv-1h`, `ohlcv-1d`,
//! `ohlcv-eod`), plain or zstd-compressed (told apart by their first bytes), streamed one
//! record at a time. Files of DBN versions 1 and 2 are upgraded to version 3 as they are read;
//! version 4 is refused when the file is opened.
//!
//! # Invariants
//!
//! - A bar is stamped when it closes. DBN stamps it when it opens (`ts_event`), so a 1 s,
//!   1 min or 1 h bar is stamped `ts_event` plus its interval, and a daily bar (`ohlcv-1d`,
//!   `ohlcv-eod`) is the UTC date of `ts_event` stamped at the scenario's `close_time`,
//!   exactly as the same date read from a CSV.
//! - Prices (integers of 1e-9) become the f64 nearest the decimal they stand for, so they
//!   equal the same prices read from a CSV; an undefined price (`UNDEF_PRICE`) becomes NaN,
//!   which the data guard flags as an invalid price.
//! - Records are numbered from 1 ("row N" in messages), metadata excluded.
//! - A symbol is the file's symbology at the record's `ts_event` (the raw symbol requested,
//!   e.g. `AAPL`); an instrument the symbology does not name is its instrument id, as text.

use std::fs::File;
use std::path::Path;

use dbn::decode::{DbnMetadata, DecodeRecordRef, DynDecoder};
use dbn::{rtype, OhlcvMsg, RType, Schema, TsSymbolMap, VersionUpgradePolicy, UNDEF_PRICE};
use tape_engine::time::{Ts, NANOS_PER_DAY, NANOS_PER_SECOND};

use super::files::{BarRows, DataFile, Row};
use super::table::{Cell, TimeRule};
use super::{decimal_f64, LoadError};

/// What the DBN OHLCV schemas are called, for messages.
const OHLCV: &str = "ohlcv-1s, ohlcv-1m, ohlcv-1h, ohlcv-1d or ohlcv-eod";

/// Opens a data file as a stream of bars.
pub(crate) fn open(file: &DataFile, times: TimeRule) -> Result<Box<dyn BarRows>, LoadError> {
    Ok(Box::new(DbnRows::new(file.shown(), file.path()?, times)?))
}

/// How a record's `ts_event` becomes the time its bar closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Span {
    /// A bar of this many nanoseconds, stamped at its open.
    Intraday(i64),
    /// A daily bar: its date is the UTC date of `ts_event`.
    Daily,
}

impl Span {
    fn of_schema(schema: Schema) -> Option<Self> {
        match schema {
            Schema::Ohlcv1S => Some(Span::Intraday(NANOS_PER_SECOND)),
            Schema::Ohlcv1M => Some(Span::Intraday(60 * NANOS_PER_SECOND)),
            Schema::Ohlcv1H => Some(Span::Intraday(3_600 * NANOS_PER_SECOND)),
            Schema::Ohlcv1D | Schema::OhlcvEod => Some(Span::Daily),
            _ => None,
        }
    }

    /// The span of a record type; `None` for a record that is not a bar. Bars of the record
    /// type that predates one type per interval take the file's schema.
    #[allow(deprecated)] // OHLCV_DEPRECATED: still found in files of DBN version 1
    fn of_record(rtype: u8, schema: Option<Schema>) -> Option<Self> {
        match rtype {
            rtype::OHLCV_1S => Span::of_schema(Schema::Ohlcv1S),
            rtype::OHLCV_1M => Span::of_schema(Schema::Ohlcv1M),
            rtype::OHLCV_1H => Span::of_schema(Schema::Ohlcv1H),
            rtype::OHLCV_1D => Span::of_schema(Schema::Ohlcv1D),
            rtype::OHLCV_EOD => Span::of_schema(Schema::OhlcvEod),
            rtype::OHLCV_DEPRECATED => schema.and_then(Span::of_schema),
            _ => None,
        }
    }
}

/// The bars of a DBN file, in file order.
pub(crate) struct DbnRows {
    file: String,
    decoder: DynDecoder<'static, std::io::BufReader<File>>,
    symbols: TsSymbolMap,
    schema: Option<Schema>,
    times: TimeRule,
    /// Records read so far.
    records: u64,
    done: bool,
}

impl DbnRows {
    /// Opens the DBN file at `path` and reads its metadata; `file` names it in errors.
    pub(crate) fn new(file: &str, path: &Path, times: TimeRule) -> Result<Self, LoadError> {
        let open_error = |detail: String| LoadError::Open {
            file: file.to_string(),
            detail,
        };
        let handle = File::open(path).map_err(|e| open_error(e.to_string()))?;
        let decoder = DynDecoder::new_inferred(handle, VersionUpgradePolicy::UpgradeToV3)
            .map_err(|e| open_error(format!("not a readable DBN file ({e})")))?;
        let metadata = decoder.metadata();
        if let Some(schema) = metadata.schema {
            if Span::of_schema(schema).is_none() {
                return Err(open_error(format!(
                    "a DBN file of schema {schema}, which holds no bars; Tape reads bars of the {OHLCV} schema, so request one of those"
                )));
            }
        }
        // Without mappings (or their stypes) records are named by instrument id.
        let symbols = if metadata.mappings.is_empty() {
            TsSymbolMap::new()
        } else {
            TsSymbolMap::from_metadata(metadata).map_err(|e| {
                open_error(format!(
                    "its symbology cannot be read ({e}); request the data with stype_out = instrument_id"
                ))
            })?
        };
        Ok(Self {
            file: file.to_string(),
            schema: metadata.schema,
            decoder,
            symbols,
            times,
            records: 0,
            done: false,
        })
    }

    fn row_error(file: &str, row: u64, detail: String) -> LoadError {
        LoadError::Row {
            file: file.to_string(),
            row,
            detail,
        }
    }

    /// The next record as a bar (with its symbol).
    fn read(&mut self) -> Result<Option<(String, Row)>, LoadError> {
        let number = self.records + 1;
        let record = match self.decoder.decode_record_ref() {
            Ok(Some(record)) => record,
            Ok(None) => return Ok(None),
            Err(e) => {
                return Err(Self::row_error(
                    &self.file,
                    number,
                    format!("cannot be decoded ({e}); the file may be truncated or damaged"),
                ))
            }
        };
        self.records = number;
        let header = record.header();
        let not_a_bar = || {
            let kind = RType::try_from(header.rtype)
                .map_or_else(|_| format!("{:#04x}", header.rtype), |t| t.to_string());
            Self::row_error(
                &self.file,
                number,
                format!("a record of type {kind}, not an OHLCV bar; Tape reads DBN files of bars only ({OHLCV}), so leave other records out of the file"),
            )
        };
        let span = Span::of_record(header.rtype, self.schema).ok_or_else(not_a_bar)?;
        let bar = record.get::<OhlcvMsg>().ok_or_else(not_a_bar)?;
        let opened = i64::try_from(header.ts_event).map_err(|_| {
            Self::row_error(
                &self.file,
                number,
                format!("ts_event {} is not a time", header.ts_event),
            )
        })?;
        let ts = match span {
            Span::Intraday(nanos) => opened.checked_add(nanos).map(Ts),
            // As a CSV date would be: that day's midnight, stamped at the close.
            Span::Daily => self.times.instant(Cell::Date(Ts(
                opened.div_euclid(NANOS_PER_DAY) * NANOS_PER_DAY
            ))),
        }
        .ok_or_else(|| {
            Self::row_error(
                &self.file,
                number,
                format!("ts_event {opened} is out of range"),
            )
        })?;
        let symbol = match self
            .symbols
            .get_for_ts(header.ts_event, header.instrument_id)
        {
            Some(symbol) => symbol.clone(),
            None => header.instrument_id.to_string(),
        };
        let row = Row {
            number,
            ts,
            open: price(bar.open),
            high: price(bar.high),
            low: price(bar.low),
            close: price(bar.close),
            volume: bar.volume as f64,
            adjusted: None,
        };
        Ok(Some((symbol, row)))
    }
}

/// A DBN price (integer units of 1e-9) as the number its decimal reads as; NaN if undefined.
fn price(raw: i64) -> f64 {
    if raw == UNDEF_PRICE {
        f64::NAN
    } else {
        decimal_f64(i128::from(raw), -9)
    }
}

impl BarRows for DbnRows {
    fn has_symbols(&self) -> bool {
        true
    }

    fn next_row(&mut self) -> Option<Result<(String, Row), LoadError>> {
        if self.done {
            return None;
        }
        let next = self.read().transpose();
        if !matches!(next, Some(Ok(_))) {
            self.done = true;
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_equal_their_decimals_read_as_text() {
        for (raw, text) in [
            (150_120_000_000_i64, "150.12"),
            (101_250_000_000, "101.25"),
            (1, "0.000000001"),
            (-2_500_000_000, "-2.5"),
            (9_007_199_254_740_993, "9007199.254740993"),
            (i64::MAX - 1, "9223372036.854775806"),
        ] {
            assert_eq!(price(raw), text.parse::<f64>().expect("a number"), "{text}");
        }
        assert!(price(UNDEF_PRICE).is_nan());
    }

    #[test]
    fn spans_follow_the_record_type_and_old_files_their_schema() {
        assert_eq!(
            Span::of_record(rtype::OHLCV_1M, None),
            Some(Span::Intraday(60 * NANOS_PER_SECOND))
        );
        assert_eq!(Span::of_record(rtype::OHLCV_EOD, None), Some(Span::Daily));
        #[allow(deprecated)]
        let old = rtype::OHLCV_DEPRECATED;
        assert_eq!(
            Span::of_record(old, Some(Schema::Ohlcv1H)),
            Some(Span::Intraday(3_600 * NANOS_PER_SECOND))
        );
        assert_eq!(Span::of_record(old, None), None);
        assert_eq!(Span::of_record(rtype::MBP_1, Some(Schema::Ohlcv1D)), None);
    }
}
