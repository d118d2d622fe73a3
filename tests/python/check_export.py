"""Reads every table of a `tape export` with pandas, polars and duckdb, as docs/schemas.md
says they read, and checks the column types and the row counts.

    check_export.py SUMMARY.json [KIND=ROWS ...] [--csv DIR]

SUMMARY.json is what `tape export --format parquet --out DIR --json` printed; the tables are
read from its `out` directory (relative to the summary file's directory). KIND=ROWS pairs,
when given, are the expected rows of each kind, counted independently (tests/run.sh counts
them with `tape show --json`); the tables must be exactly those kinds. Without them the
summary's own counts are checked. `--csv DIR` also reads the CSV export of the same ledger in
DIR as the docs show, and checks its times and counts.

Exit 0 when every check passes; otherwise the first failure is printed and the exit is 1.
"""

import argparse
import decimal
import json
import sys
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl

# Decimal places of each decimal type of the summary.
DECIMAL_PLACES = {"decimal(19,8)": 8, "decimal(19,6)": 6}

# Columns whose type is fixed by docs/schemas.md, checked without trusting the summary.
KNOWN = {
    "*": {"seq": "uint64", "ts": "timestamp(ns,UTC)", "causes": "list<uint64>"},
    "bar": {
        "symbol": "string",
        "open": "decimal(19,8)",
        "high": "decimal(19,8)",
        "low": "decimal(19,8)",
        "close": "decimal(19,8)",
        "volume": "decimal(19,8)",
    },
    "fill": {
        "order": "uint64",
        "symbol": "string",
        "side": "string",
        "quantity": "decimal(19,8)",
        "price": "decimal(19,8)",
        "expected_price": "decimal(19,8)",
        "fee": "decimal(19,6)",
        "slippage": "decimal(19,6)",
        "remaining": "decimal(19,8)",
    },
    "order_submitted": {
        "limit_price": "decimal(19,8)",
        "stop_price": "decimal(19,8)",
        "reason_rule": "string",
        "reason_values": "string",
    },
    "portfolio_snapshot": {
        "cash": "decimal(19,6)",
        "equity": "decimal(19,6)",
        "fees": "decimal(19,6)",
        "open_positions": "uint64",
    },
    "signal": {"direction": "string", "strength": "float64"},
    "run_finished": {"final_equity": "decimal(19,6)", "max_drawdown": "float64"},
}


def first_row(query):
    """The first row of a duckdb query."""
    return duckdb.sql(query).fetchall()[0]


class CheckFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


def pandas_type_ok(kind, df, column, ty):
    dtype = df[column].dtype
    values = df[column].dropna()
    if ty == "uint64":
        return str(dtype) == "uint64"
    if ty == "int64":
        return str(dtype) == "int64"
    if ty == "float64":
        return str(dtype) == "float64"
    if ty == "string":
        return pd.api.types.is_string_dtype(dtype)
    if ty == "timestamp(ns,UTC)":
        return isinstance(dtype, pd.DatetimeTZDtype) and dtype.unit == "ns" and str(dtype.tz) == "UTC"
    if ty == "list<uint64>":
        return dtype == object and all(getattr(v, "dtype", None) == "uint64" for v in values[:100])
    if ty in DECIMAL_PLACES:
        # pandas holds Parquet decimals as Python Decimal objects, exact, scaled as stored.
        places = DECIMAL_PLACES[ty]
        return dtype == object and all(
            isinstance(v, decimal.Decimal) and v.as_tuple().exponent == -places for v in values[:100]
        )
    raise CheckFailed(f"{kind}.{column}: unknown type {ty} in the summary")


def polars_type(ty):
    if ty in DECIMAL_PLACES:
        return pl.Decimal(19, DECIMAL_PLACES[ty])
    return {
        "uint64": pl.UInt64,
        "int64": pl.Int64,
        "float64": pl.Float64,
        "string": pl.String,
        "timestamp(ns,UTC)": pl.Datetime("ns", "UTC"),
        "list<uint64>": pl.List(pl.UInt64),
    }[ty]


def duckdb_type(ty):
    if ty in DECIMAL_PLACES:
        return f"DECIMAL(19,{DECIMAL_PLACES[ty]})"
    return {
        "uint64": "UBIGINT",
        "int64": "BIGINT",
        "float64": "DOUBLE",
        "string": "VARCHAR",
        "timestamp(ns,UTC)": "TIMESTAMPTZ_NS",
        "list<uint64>": "UBIGINT[]",
    }[ty]


def check_parquet(out, table, rows):
    kind = table["kind"]
    path = out / table["file"]
    columns = [(c["name"], c["type"], c["nullable"]) for c in table["columns"]]
    names = [c[0] for c in columns]
    declared = {name: ty for name, ty, _ in columns}
    for name, ty in {**KNOWN["*"], **KNOWN.get(kind, {})}.items():
        if name in declared:
            check(declared[name] == ty, f"{kind}.{name}: the summary says {declared[name]}, the docs {ty}")
        else:
            check(name not in KNOWN["*"], f"{kind}: no {name} column")

    df = pd.read_parquet(path)
    check(list(df.columns) == names, f"{kind}: pandas columns {list(df.columns)} != {names}")
    check(len(df) == rows, f"{kind}: pandas reads {len(df)} rows, expected {rows}")
    for name, ty, _ in columns:
        check(pandas_type_ok(kind, df, name, ty), f"{kind}.{name}: pandas reads {df[name].dtype}, not {ty}")

    pf = pl.read_parquet(path)
    check(pf.columns == names, f"{kind}: polars columns {pf.columns} != {names}")
    check(pf.height == rows, f"{kind}: polars reads {pf.height} rows, expected {rows}")
    for name, ty, nullable in columns:
        want = polars_type(ty)
        check(pf.schema[name] == want, f"{kind}.{name}: polars reads {pf.schema[name]}, not {want}")
        if not nullable:
            check(pf[name].null_count() == 0, f"{kind}.{name}: nulls in a column that has none")

    rel = duckdb.sql(f"select * from read_parquet('{path}')")
    check(rel.columns == names, f"{kind}: duckdb columns {rel.columns} != {names}")
    (count,) = first_row(f"select count(*) from read_parquet('{path}')")
    check(count == rows, f"{kind}: duckdb counts {count} rows, expected {rows}")
    for (name, ty, _), got in zip(columns, rel.types):
        got, want = str(got), duckdb_type(ty)
        check(got == want, f"{kind}.{name}: duckdb reads {got}, not {want}")

    # The three agree on the values: the first row's time to the nanosecond, and the first
    # value of every decimal column, exactly.
    if rows:
        ts_pd = df["ts"].iloc[0].value
        ts_pl = pf["ts"].cast(pl.Int64)[0]
        (ts_db,) = first_row(f"select epoch_ns(ts) from read_parquet('{path}') order by seq limit 1")
        check(ts_pd == ts_pl == ts_db, f"{kind}.ts: pandas {ts_pd}, polars {ts_pl}, duckdb {ts_db}")
        for name, ty, _ in columns:
            if ty not in DECIMAL_PLACES:
                continue
            first = pf[name].drop_nulls()
            if first.is_empty():
                continue
            v_pl = first[0]
            v_pd = df[name].dropna().iloc[0]
            (v_db,) = first_row(
                f'select "{name}" from read_parquet(\'{path}\') where "{name}" is not null order by seq limit 1'
            )
            check(v_pl == v_pd == v_db, f"{kind}.{name}: pandas {v_pd}, polars {v_pl}, duckdb {v_db}")


def check_csv(csv_dir, kind, rows):
    path = csv_dir / f"{kind}.csv"
    df = pd.read_csv(path, parse_dates=["ts"], dtype={"causes": str})
    check(len(df) == rows, f"{kind}.csv: pandas reads {len(df)} rows, expected {rows}")
    dtype = df["ts"].dtype
    check(
        isinstance(dtype, pd.DatetimeTZDtype) and str(dtype.tz) == "UTC",
        f"{kind}.csv: pandas reads ts as {dtype}",
    )
    pf = pl.read_csv(path, schema_overrides={"ts": pl.Datetime("ns", "UTC"), "causes": pl.String})
    check(pf.height == rows, f"{kind}.csv: polars reads {pf.height} rows, expected {rows}")
    (count,) = first_row(f"select count(*) from read_csv('{path}')")
    check(count == rows, f"{kind}.csv: duckdb counts {count} rows, expected {rows}")
    if rows:
        check(
            df["ts"].iloc[0].value == pf["ts"].cast(pl.Int64)[0],
            f"{kind}.csv: pandas and polars read another first time",
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("summary", type=Path)
    parser.add_argument("rows", nargs="*", help="KIND=ROWS, counted independently")
    parser.add_argument("--csv", type=Path, help="the CSV export of the same ledger")
    args = parser.parse_args()

    summary = json.loads(args.summary.read_text())
    out = Path(summary["out"])
    if not out.is_absolute():
        out = args.summary.parent / out
    check(summary["format"] == "parquet", f"{args.summary}: not a Parquet export")
    tables = {t["kind"]: t for t in summary["tables"]}
    if args.rows:
        expected = {}
        for pair in args.rows:
            kind, _, n = pair.partition("=")
            expected[kind] = int(n)
        check(
            sorted(tables) == sorted(expected),
            f"tables {sorted(tables)} != kinds counted {sorted(expected)}",
        )
    else:
        expected = {kind: t["rows"] for kind, t in tables.items()}
    exported = sorted(p.name for p in out.iterdir())
    check(
        exported == sorted(t["file"] for t in tables.values()),
        f"{out}: holds {exported}, the summary lists {sorted(t['file'] for t in tables.values())}",
    )
    for kind, table in sorted(tables.items()):
        check(table["rows"] == expected[kind], f"{kind}: the summary says {table['rows']} rows, expected {expected[kind]}")
        check_parquet(out, table, expected[kind])
        if args.csv:
            check_csv(args.csv, kind, expected[kind])
    total = sum(expected.values())
    print(
        f"checked {len(tables)} Parquet tables ({total} rows) with pandas {pd.__version__}, "
        f"polars {pl.__version__}, duckdb {duckdb.__version__}"
        + (" and their CSV twins" if args.csv else "")
    )


if __name__ == "__main__":
    try:
        main()
    except CheckFailed as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
