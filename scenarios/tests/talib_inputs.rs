//! The TA-Lib golden files' real bars are the bars the built-in `stocks` scenario delivers.
//!
//! `tests/talib/generate.py` adjusts the shipped prices itself (Python, no Tape code), and
//! `strategies/tests/talib.rs` checks the indicators on the bars it wrote. This test ties the
//! two to what a strategy sees: the scenario's loader, run on its own spec, must produce
//! exactly those open, high, low and close values, bar for bar.

use std::path::Path;

use tape_engine::sequencer::Sequencer;
use tape_scenarios::loader::files::FileMarket;
use tape_scenarios::{builtin, Market, Scenario};

/// Raw fixed-point prices from an exact decimal with at most 8 places.
fn raw(text: &str) -> i64 {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let whole: i64 = whole.parse().expect("an integer part");
    whole * 100_000_000
        + format!("{fraction:0<8}")
            .parse::<i64>()
            .expect("a fraction")
}

#[test]
fn golden_talib_bars_are_the_stocks_scenario_bars() {
    let stocks = builtin::find("stocks").expect("the stocks scenario is built in");
    let scenario = Scenario::from_toml(stocks.toml, "builtin:stocks").expect("it parses");
    let Market::Files(spec) = &scenario.market else {
        panic!("the stocks scenario reads files")
    };
    let market = FileMarket::open(spec, Path::new(".")).expect("the shipped data loads");
    let names = market.symbols().to_vec();
    let mut loaded = vec![Vec::new(); names.len()];
    for input in Sequencer::new(market.sources()) {
        if let Some(bar) = input.expect("valid data").bar() {
            let prices = [bar.open, bar.high, bar.low, bar.close].map(|p| p.raw());
            loaded[bar.symbol.0 as usize].push(prices);
        }
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/golden/talib");
    for symbol in ["AAPL", "IBM", "MSFT", "GOOG"] {
        let path = dir.join(format!("{}.csv", symbol.to_lowercase()));
        let text = std::fs::read_to_string(&path).expect("the golden file exists");
        let golden: Vec<[i64; 4]> = text
            .lines()
            .skip(1)
            .map(|line| {
                let cells: Vec<&str> = line.split(',').collect();
                [raw(cells[1]), raw(cells[2]), raw(cells[3]), raw(cells[4])]
            })
            .collect();
        let index = names
            .iter()
            .position(|n| n == symbol)
            .expect("a shipped symbol");
        assert_eq!(loaded[index].len(), golden.len(), "{symbol}: bar count");
        for (i, (ours, theirs)) in loaded[index].iter().zip(&golden).enumerate() {
            assert_eq!(
                ours, theirs,
                "{symbol} bar {i}: open, high, low, close (raw)"
            );
        }
    }
}
