#!/usr/bin/env bash
# The whole test suite, as README.md shows it. Everything the tests need comes through cargo,
# except the report's browser test, which installs Debian's chromium and its npm package
# (tests/browser) here when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Every feature on, so the Parquet and DBN loaders are built and tested with the rest
# (tests/formats.rs runs the debug `tape` this builds, which reads every format).
echo "== cargo test --workspace --all-features"
cargo test --workspace --all-features

echo "== without features: the default build's message for a Parquet or DBN file"
cargo test -p tape-scenarios --test formats_unbuilt --quiet

echo "== determinism: the default run's fingerprint is the same from a debug and a release build"
cargo build --release -p tape-replay --quiet
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
debug=$(cd "$scratch" && "$OLDPWD/target/debug/tape" run --out debug.tape --json | sed -E 's/.*"fingerprint":"([0-9a-f]+)".*/\1/')
release=$(cd "$scratch" && "$OLDPWD/target/release/tape" run --out release.tape --json | sed -E 's/.*"fingerprint":"([0-9a-f]+)".*/\1/')
if [ "$debug" != "$release" ] || [ -z "$debug" ]; then
    echo "FAILED: debug fingerprint $debug != release fingerprint $release"
    echo "1 passed, 1 failed"
    exit 1
fi
cmp "$scratch/debug.tape" "$scratch/release.tape"
echo "debug and release ledgers are byte-identical: $debug"

echo "== the trend system's seven CSV files: one hash from two runs, a debug and a release build, and a replay"
trend="$scratch/trend"
mkdir -p "$trend"
debug_tape="$PWD/target/debug/tape"
release_tape="$PWD/target/release/tape"
(
    cd "$trend"
    "$debug_tape" run dow30-trend --out debug.tape >/dev/null
    "$release_tape" run dow30-trend --out release.tape >/dev/null
    "$release_tape" run dow30-trend --out again.tape >/dev/null
    "$release_tape" replay release.tape --out replayed.tape >/dev/null
    "$debug_tape" export debug.tape --format trend-csv --out debug >/dev/null
    for name in release again replayed; do
        "$release_tape" export "$name.tape" --format trend-csv --out "$name" >/dev/null
    done
    "$debug_tape" hash debug --out debug.json
    for name in release again replayed; do
        "$release_tape" hash "$name" --out "$name.json"
        if ! cmp -s debug.json "$name.json"; then
            diff debug.json "$name.json" | head -20
            echo "FAILED: the trend files of $name differ from the debug build's"
            exit 1
        fi
    done
    "$release_tape" compare debug release --mode exact >/dev/null
    echo "the seven files hash the same from debug, release, a second run and a replay"
)

echo "== look-ahead: every built-in scenario passes the fuzzer with 200 cuts"
for scenario in $(target/release/tape scenarios | awk '{print $1}'); do
    target/release/tape fuzz "$scenario" --cuts 200
done

echo "== the report page in a real browser: headless Chromium driven by playwright-core"
# No browser download: Debian's chromium, and playwright-core pinned in tests/browser.
if [ ! -x /usr/bin/chromium ]; then
    echo "installing Debian's chromium"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "FAILED: the report's browser test needs Node.js (20 or later) and npm"
    exit 1
fi
if [ ! -d tests/browser/node_modules/playwright-core ]; then
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
# Real prices with an equal-weight benchmark; the trend system after its warm-up, against
# its own SPY benchmark. The screenshots stay in target/report/ to be looked at.
target/release/tape run stocks --out "$scratch/stocks.tape" >/dev/null
target/release/tape report "$scratch/stocks.tape" --out "$scratch/stocks.html"
node tests/browser/report.mjs "$scratch/stocks.html" target/report/stocks.png
target/release/tape run dow30-trend --out "$scratch/trend.tape" >/dev/null
target/release/tape report "$scratch/trend.tape" --from 2022-01-01 --out "$scratch/trend.html"
node tests/browser/report.mjs "$scratch/trend.html" target/report/dow30-trend.png

echo "== the end-to-end tests against the release binary"
# --workspace --all-features reuses the test build above instead of building it again without
# features; the release binary itself is the default build.
TAPE_BIN="$PWD/target/release/tape" cargo test --workspace --all-features --test cli --quiet

echo "== Python readers: pandas, polars and duckdb read every table of tape export (tests/python)"
# A venv under target/ with the pinned readers; pip only checks it once they are installed.
python=$(command -v python3.11 || command -v python3)
if [ ! -x target/pyenv/bin/python ]; then
    "$python" -m venv target/pyenv
fi
target/pyenv/bin/pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
# The debug binary has every feature (built by the first step); the release one has none.
root="$PWD"
tape_all="$root/target/debug/tape"
for scenario in crash default; do
    dir="$scratch/export-$scenario"
    mkdir -p "$dir"
    (
        cd "$dir"
        "$tape_all" run "$scenario" --out run.tape >/dev/null
        "$tape_all" export run.tape --format parquet --out parquet --json >summary.json
        "$tape_all" export run.tape --format csv --out csv >/dev/null
        # Rows of each kind, counted by `tape show` rather than by the exporter.
        rows=$("$tape_all" show run.tape --json | "$root/target/pyenv/bin/python" -c \
            'import collections, json, sys; c = collections.Counter(json.loads(l)["kind"] for l in sys.stdin); print(" ".join(f"{k}={n}" for k, n in sorted(c.items())))')
        # shellcheck disable=SC2086 # one KIND=ROWS word per kind
        "$root/target/pyenv/bin/python" "$root/tests/python/check_export.py" summary.json $rows --csv csv
    )
done
if target/release/tape export "$scratch/export-crash/run.tape" --format parquet --out "$scratch/none" 2>"$scratch/err"; then
    echo "FAILED: a build without the parquet feature exported Parquet"
    exit 1
fi
grep -q -- "--features parquet" "$scratch/err" || { cat "$scratch/err"; echo "FAILED: no build hint"; exit 1; }
echo "the default build refuses Parquet with: $(cat "$scratch/err")"

echo "== Ray: tape sweep --ray on a real single-node cluster (tests/ray.sh)"
bash tests/ray.sh "$PWD/target/debug/tape"

echo "== fuzz smoke: every libFuzzer target (fuzz/) for 20 s over its seeds and kept crash inputs"
# cargo-fuzz comes from crates.io when it is missing; the long runs are in docs/reliability.md.
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --version 0.13.2 --quiet
fi
# An unoptimized build (with overflow checks) is quick to build; the long runs are optimized.
FUZZ_BUILD=dev bash fuzz/run-all.sh "${TAPE_FUZZ_SECONDS:-20}"
