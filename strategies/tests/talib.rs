//! Tape's incremental indicators agree with TA-Lib, bar by bar.
//!
//! `tests/golden/talib/*.csv` hold bars and TA-Lib's output for them: four real daily series
//! (AAPL, IBM, MSFT, GOOG, adjusted as the built-in `stocks` scenario loads them) and 2,000
//! synthetic one-minute bars. `tests/talib/generate.py` wrote them and documents the inputs and
//! how to regenerate them; this test needs no Python. It builds each row's bar as the engine's
//! [`Bar`] from the file's exact decimals, feeds it to the indicators one bar at a time, and
//! checks every indicator at every bar:
//!
//! - warm-up: Tape gives no value exactly where TA-Lib gives none (an empty cell, its NaN);
//! - value: `|tape − talib| ≤ 1e-9`, an *absolute* tolerance in the indicator's own units
//!   (price units; RSI points from 0 to 100). The rolling highest and lowest are prices
//!   themselves and must be equal exactly.
//!
//! The largest difference per series and indicator is printed (`-- --nocapture` shows it).

use std::path::PathBuf;

use tape_engine::event::{Bar, SymbolId};
use tape_engine::fixed::{Price, Quantity, PRICE_SCALE};
use tape_strategies::indicators::{Atr, Bollinger, Ema, Highest, Lowest, Rsi, Sma};

/// The largest absolute difference allowed between Tape's value and TA-Lib's.
const TOLERANCE: f64 = 1e-9;

/// The golden files' indicator columns, after `time, open, high, low, close`.
const COLUMNS: [&str; 12] = [
    "sma_20",
    "sma_63",
    "sma_252",
    "ema_20",
    "atr_14",
    "atr_20",
    "rsi_14",
    "bb_upper_20_2",
    "bb_middle_20_2",
    "bb_lower_20_2",
    "max_high_20",
    "min_low_20",
];

/// Columns compared for exact equality: values that are input prices, not computed.
const EXACT: [&str; 2] = ["max_high_20", "min_low_20"];

/// Tape's indicators for one series, configured as the golden columns.
struct Indicators {
    sma_20: Sma,
    sma_63: Sma,
    sma_252: Sma,
    ema_20: Ema,
    atr_14: Atr,
    atr_20: Atr,
    rsi_14: Rsi,
    bands: Bollinger,
    high_20: Highest,
    low_20: Lowest,
}

impl Indicators {
    fn new() -> Self {
        Self {
            sma_20: Sma::new(20),
            sma_63: Sma::new(63),
            sma_252: Sma::new(252),
            ema_20: Ema::new(20),
            atr_14: Atr::new(14),
            atr_20: Atr::new(20),
            rsi_14: Rsi::new(14),
            bands: Bollinger::new(20, 2.0),
            high_20: Highest::new(20),
            low_20: Lowest::new(20),
        }
    }

    fn push(&mut self, bar: &Bar) {
        self.sma_20.push(bar.close);
        self.sma_63.push(bar.close);
        self.sma_252.push(bar.close);
        self.ema_20.push(bar.close);
        self.atr_14.push(bar);
        self.atr_20.push(bar);
        self.rsi_14.push(bar.close);
        self.bands.push(bar.close);
        self.high_20.push(bar.high);
        self.low_20.push(bar.low);
    }

    /// The values in the order of [`COLUMNS`].
    fn values(&self) -> [Option<f64>; 12] {
        let bands = self.bands.value();
        [
            self.sma_20.value_f64(),
            self.sma_63.value_f64(),
            self.sma_252.value_f64(),
            self.ema_20.value(),
            self.atr_14.value(),
            self.atr_20.value(),
            self.rsi_14.value(),
            bands.map(|b| b.upper),
            bands.map(|b| b.middle),
            bands.map(|b| b.lower),
            self.high_20.value().map(Price::to_f64),
            self.low_20.value().map(Price::to_f64),
        ]
    }
}

/// A decimal with at most 8 places as a price, exactly (no float on the way).
fn price(text: &str) -> Price {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    assert!(
        fraction.len() <= 8,
        "{text}: more decimals than a price holds"
    );
    let whole: i64 = whole.parse().expect("an integer part");
    let fraction: i64 = format!("{fraction:0<8}").parse().expect("a fraction");
    Price::from_raw(whole * PRICE_SCALE + fraction).expect("a positive price")
}

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/golden/talib")
        .join(format!("{name}.csv"))
}

/// Feeds one golden series to Tape's indicators and checks every cell; returns nothing, panics
/// with every disagreement listed.
fn agrees_with_talib(name: &str, rows: usize) {
    let path = golden(name);
    let mut reader = csv::Reader::from_path(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (regenerate: tests/talib/generate.py)",
            path.display()
        )
    });
    let header = reader.headers().expect("a header").clone();
    let expected_header: Vec<&str> = ["open", "high", "low", "close"]
        .into_iter()
        .chain(COLUMNS)
        .collect();
    assert_eq!(
        header.iter().skip(1).collect::<Vec<_>>(),
        expected_header,
        "{name}: columns"
    );

    let mut tape = Indicators::new();
    let mut largest = [0.0f64; 12];
    let mut compared = [0usize; 12];
    let mut problems = Vec::new();
    let mut count = 0;
    for (i, record) in reader.records().enumerate() {
        let record = record.expect("a well-formed row");
        let at = &record[0];
        let bar = Bar::new(
            SymbolId(0),
            price(&record[1]),
            price(&record[2]),
            price(&record[3]),
            price(&record[4]),
            Quantity::ZERO,
        )
        .unwrap_or_else(|e| panic!("{name} {at}: {e}"));
        tape.push(&bar);
        count += 1;
        for (c, ours) in tape.values().into_iter().enumerate() {
            let column = COLUMNS[c];
            let cell = &record[5 + c];
            let theirs =
                (!cell.is_empty()).then(|| cell.parse::<f64>().expect("a number or nothing"));
            match (ours, theirs) {
                (None, None) => {}
                (Some(ours), Some(theirs)) => {
                    let difference = (ours - theirs).abs();
                    compared[c] += 1;
                    if difference > largest[c] || difference.is_nan() {
                        largest[c] = difference;
                    }
                    let exact = EXACT.contains(&column);
                    let agrees = if exact {
                        ours == theirs
                    } else {
                        difference <= TOLERANCE
                    };
                    if !agrees {
                        problems.push(format!(
                            "{name} row {i} ({at}) {column}: tape {ours:?}, ta-lib {theirs:?}, |Δ| {difference:e}"
                        ));
                    }
                }
                (ours, theirs) => problems.push(format!(
                    "{name} row {i} ({at}) {column}: tape {ours:?}, ta-lib {theirs:?} (warm-up differs)"
                )),
            }
        }
    }
    assert_eq!(count, rows, "{name}: the golden file has {count} bars");

    println!("{name}: {rows} bars; largest |tape − ta-lib| (values compared):");
    for c in 0..COLUMNS.len() {
        println!(
            "  {:<15} {:>9.3e} ({})",
            COLUMNS[c], largest[c], compared[c]
        );
    }
    assert!(
        problems.is_empty(),
        "{} disagreements with TA-Lib, the first ones:\n{}",
        problems.len(),
        problems[..problems.len().min(20)].join("\n")
    );
    assert!(
        compared.iter().all(|&n| n > 0),
        "{name}: every indicator warmed up"
    );
}

#[test]
fn aapl_daily_agrees_with_talib() {
    agrees_with_talib("aapl", 3270);
}

#[test]
fn ibm_daily_agrees_with_talib() {
    agrees_with_talib("ibm", 3270);
}

#[test]
fn msft_daily_agrees_with_talib() {
    agrees_with_talib("msft", 3270);
}

#[test]
fn goog_daily_agrees_with_talib() {
    agrees_with_talib("goog", 2148);
}

#[test]
fn synthetic_one_minute_bars_agree_with_talib() {
    agrees_with_talib("intraday", 2000);
}

#[test]
fn golden_prices_are_read_exactly() {
    assert_eq!(price("130.31").raw(), 13_031_000_000);
    assert_eq!(price("4.24288765").raw(), 424_288_765);
    assert_eq!(price("1.4457818").raw(), 144_578_180);
    assert_eq!(price("100.20").to_f64(), 100.2);
}
