#!/usr/bin/env bash
# Runs every target for SECONDS_EACH seconds (default 60), one at a time, niced; prints the
# figures libFuzzer reports. Usage: fuzz/run-all.sh [SECONDS_EACH]
set -euo pipefail
cd "$(dirname "$0")"
each=${1:-60}
for target in ledger_reader frame_decoder csv_loader scenario_toml parquet_loader; do
    features=()
    [ "$target" = parquet_loader ] && features=(--features parquet)
    mkdir -p "corpus/$target" "target/corpus/$target"
    echo "== $target (${each}s)"
    nice cargo +nightly fuzz run "${features[@]}" -O "$target" "target/corpus/$target" "corpus/$target" -- \
        -max_total_time="$each" -rss_limit_mb=1024 -timeout=10 -print_final_stats=1 2>&1 |
        grep -E "^(stat::|==|SUMMARY|Done)|panicked|Test unit written|ERROR" || true
done
