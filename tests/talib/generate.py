"""Golden indicator values from TA-Lib, for strategies/tests/talib.rs.

The Rust test reads only the CSV files this script writes, so neither CI nor a developer needs
Python to check that Tape's incremental indicators agree with TA-Lib. Run this script again
only to add a series or an indicator, or to move to another TA-Lib version; the output is
deterministic, so regenerating with the pinned versions rewrites the files byte for byte.

Inputs
------
- ``scenarios/data/stocks.csv.gz``: the daily bars of AAPL, IBM, MSFT and GOOG, adjusted as the
  built-in ``stocks`` scenario loads them (``adjust = true``, so these are the prices its
  strategy sees): ``factor = Adj Close / Close``; open, high and low are multiplied by it and
  the close becomes ``Adj Close``; then each price is rounded to Tape's fixed point, 10^-8,
  half away from zero, exactly as ``Price::from_f64`` does (the same IEEE operations).
- ``tests/talib/intraday.csv``: 2,000 one-minute bars of a seeded random walk on a cent grid,
  five and a bit New York sessions, generated and written by this script. Its columns are the
  ones Tape's CSV loader recognises, so a scenario can run on it too.

Outputs
-------
``tests/golden/talib/<series>.csv``, one row per bar: the time, the bar's open, high, low and
close as exact decimals (the fixed-point values a Tape ``Bar`` holds), then TA-Lib's value of
each indicator at that bar. TA-Lib is fed ``raw / 10^8`` for every price, which is the same
double as Tape's ``Price::to_f64``. Where TA-Lib's output is NaN (its warm-up) the cell is empty.
Values are written with Python's ``repr``: the shortest text that reads back as the same double.

============================  =====================================  =====================
column                        TA-Lib call                            on
============================  =====================================  =====================
sma_20, sma_63, sma_252       SMA(timeperiod=N)                      close
ema_20                        EMA(timeperiod=20)                     close
atr_14, atr_20                ATR(timeperiod=N)                      high, low, close
rsi_14                        RSI(timeperiod=14)                     close
bb_upper/middle/lower_20_2    BBANDS(20, nbdevup=2, nbdevdn=2,       close
                              matype=SMA)
max_high_20                   MAX(timeperiod=20)                     high
min_low_20                    MIN(timeperiod=20)                     low
============================  =====================================  =====================

TA-Lib's global settings are set to their defaults explicitly (no unstable period, the default
compatibility mode), so EMA is seeded with the SMA of its first ``period`` values.

Regenerate
----------
From the repository root, with CPython 3.11 (the pinned wheels are manylinux builds), in a
virtual environment outside the repository::

    venv=$(mktemp -d)/talib
    python3.11 -m venv "$venv"
    "$venv/bin/pip" install -r tests/talib/requirements.txt
    "$venv/bin/python" tests/talib/generate.py
    cargo test -p tape-strategies --test talib -- --nocapture

The last command prints the largest difference between Tape and TA-Lib per indicator.
"""

import csv
import datetime
import gzip
import math
import pathlib
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import talib

ROOT = pathlib.Path(__file__).resolve().parents[2]
STOCKS = ROOT / "scenarios" / "data" / "stocks.csv.gz"
INTRADAY = ROOT / "tests" / "talib" / "intraday.csv"
GOLDEN = ROOT / "tests" / "golden" / "talib"

SYMBOLS = ["AAPL", "IBM", "MSFT", "GOOG"]
PRICE_SCALE = 100_000_000

COLUMNS = [
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
]


def price_raw(value: float) -> int:
    """Tape's ``Price::from_f64``: ``value * 10^8`` in IEEE doubles, rounded half away from zero."""
    scaled = value * float(PRICE_SCALE)
    # Decimal(float) is exact, so this rounds the double itself, not a printed approximation.
    return int(Decimal(scaled).to_integral_value(rounding=ROUND_HALF_UP))


def price_text(raw: int) -> str:
    """A raw fixed-point price as an exact decimal, at least two decimals (``130.31``)."""
    whole, frac = divmod(raw, PRICE_SCALE)
    digits = f"{frac:08d}".rstrip("0")
    return f"{whole}.{digits.ljust(2, '0')}"


def stock_bars(symbol: str) -> list[tuple[str, int, int, int, int]]:
    """(date, open, high, low, close) in raw fixed point, adjusted as the `stocks` scenario does."""
    bars = []
    with gzip.open(STOCKS, "rt", newline="") as f:
        for row in csv.DictReader(f):
            if row["Ticker"] != symbol:
                continue
            o, h, l, c, adj = (
                float(row[k]) for k in ("Open", "High", "Low", "Close", "Adj Close")
            )
            factor = adj / c
            bar = (price_raw(o * factor), price_raw(h * factor), price_raw(l * factor), price_raw(adj))
            assert bar[2] <= min(bar[0], bar[3]) and max(bar[0], bar[3]) <= bar[1], (symbol, row)
            bars.append((row["Date"], *bar))
    dates = [b[0] for b in bars]
    assert dates == sorted(dates) and len(set(dates)) == len(dates), symbol
    return bars


def splitmix64(seed: int):
    """A stream of 64-bit integers: SplitMix64, fixed here so the series never depends on a library."""
    mask = (1 << 64) - 1
    state = seed & mask
    while True:
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        yield z ^ (z >> 31)


def intraday_bars(count: int = 2000, seed: int = 20240102) -> list[tuple[str, int, int, int, int, int]]:
    """One-minute bars of a random walk in cents: (close time, open, high, low, close, volume).

    Sessions are 09:30-16:00 New York time (14:30-21:00 UTC in January), 390 bars each, on
    weekdays from 2024-01-02. Within a minute the price takes six steps of -3..+3 cents; a
    session opens with a gap of -50..+50 cents from the last close. A bar is stamped with its
    close time.
    """
    rng = splitmix64(seed)
    cent = PRICE_SCALE // 100
    price = 100_00  # cents
    bars = []
    day = datetime.date(2024, 1, 2)
    while len(bars) < count:
        if day.weekday() < 5:
            price = max(price + next(rng) % 101 - 50, 1_00)
            session = datetime.datetime(day.year, day.month, day.day, 14, 30, tzinfo=datetime.timezone.utc)
            for minute in range(390):
                if len(bars) == count:
                    break
                open_ = high = low = price
                for _ in range(6):
                    price = max(price + next(rng) % 7 - 3, 1)
                    high, low = max(high, price), min(low, price)
                volume = 100 * (1 + next(rng) % 50)
                close_time = session + datetime.timedelta(minutes=minute + 1)
                stamp = close_time.strftime("%Y-%m-%dT%H:%M:%SZ")
                bars.append((stamp, open_ * cent, high * cent, low * cent, price * cent, volume))
        day += datetime.timedelta(days=1)
    return bars


def write_intraday_input(bars) -> None:
    with open(INTRADAY, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["symbol", "time", "open", "high", "low", "close", "volume"])
        for stamp, o, h, l, c, v in bars:
            w.writerow(["SYNM", stamp, price_text(o), price_text(h), price_text(l), price_text(c), v])


def read_intraday_input() -> list[tuple[str, int, int, int, int]]:
    """Reads the input back, so the goldens come from the committed file's exact text."""

    def raw(text: str) -> int:
        whole, _, frac = text.partition(".")
        return int(whole) * PRICE_SCALE + int(frac.ljust(8, "0"))

    with open(INTRADAY, newline="") as f:
        return [(r["time"], raw(r["open"]), raw(r["high"]), raw(r["low"]), raw(r["close"])) for r in csv.DictReader(f)]


def indicators(bars) -> dict[str, np.ndarray]:
    # int / float: the int converts exactly (below 2^53) and the division rounds once, the
    # same double as Tape's `raw as f64 / 1e8`.
    o, h, l, c = (np.array([b[i] / float(PRICE_SCALE) for b in bars], dtype=np.float64) for i in (1, 2, 3, 4))
    upper, middle, lower = talib.BBANDS(c, timeperiod=20, nbdevup=2.0, nbdevdn=2.0, matype=talib.MA_Type.SMA)
    out = {
        "sma_20": talib.SMA(c, timeperiod=20),
        "sma_63": talib.SMA(c, timeperiod=63),
        "sma_252": talib.SMA(c, timeperiod=252),
        "ema_20": talib.EMA(c, timeperiod=20),
        "atr_14": talib.ATR(h, l, c, timeperiod=14),
        "atr_20": talib.ATR(h, l, c, timeperiod=20),
        "rsi_14": talib.RSI(c, timeperiod=14),
        "bb_upper_20_2": upper,
        "bb_middle_20_2": middle,
        "bb_lower_20_2": lower,
        "max_high_20": talib.MAX(h, timeperiod=20),
        "min_low_20": talib.MIN(l, timeperiod=20),
    }
    assert list(out) == COLUMNS
    return out


def cell(value: float) -> str:
    if math.isnan(value):
        return ""
    assert math.isfinite(value), value
    return repr(float(value))


def write_golden(name: str, time_column: str, bars) -> None:
    values = indicators(bars)
    path = GOLDEN / f"{name}.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow([time_column, "open", "high", "low", "close", *COLUMNS])
        for i, (stamp, o, h, l, c) in enumerate(bars):
            prices = [price_text(p) for p in (o, h, l, c)]
            w.writerow([stamp, *prices, *(cell(values[k][i]) for k in COLUMNS)])
    print(f"{path.relative_to(ROOT)}: {len(bars)} bars")


def main() -> None:
    # TA-Lib's defaults, set explicitly: no unstable period (EMA, RSI and ATR output from their
    # first full window) and the default (not Metastock) compatibility mode.
    talib.set_unstable_period("ALL", 0)
    talib.set_compatibility(0)
    print(f"ta-lib {talib.__version__} (C library {talib.__ta_version__.decode()}), numpy {np.__version__}")
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for symbol in SYMBOLS:
        write_golden(symbol.lower(), "date", stock_bars(symbol))
    write_intraday_input(intraday_bars())
    write_golden("intraday", "time", [b[:5] for b in read_intraday_input()])


if __name__ == "__main__":
    main()
