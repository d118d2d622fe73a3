#!/usr/bin/env bash
# Fuzzes each target for SECONDS_EACH seconds (default 60), one at a time and niced, and
# prints the figures libFuzzer reports. A crash does not stop the others: its input is in
# fuzz/artifacts/<target>/ and the line "CRASH" names it.
#
# Usage: fuzz/run-all.sh [SECONDS_EACH] [TARGET...]
# Full logs: fuzz/target/logs/<target>.log. Needs nightly and cargo-fuzz:
#   rustup toolchain install nightly && cargo install cargo-fuzz
set -uo pipefail
cd "$(dirname "$0")"
each=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(ledger_reader frame_decoder csv_loader scenario_toml parquet_loader)
mkdir -p target/logs
for target in "${targets[@]}"; do
    features=()
    [ "$target" = parquet_loader ] && features=(--features parquet)
    mkdir -p "corpus/$target" "target/corpus/$target"
    log="target/logs/$target.log"
    echo "== $target (${each}s) $(date -u +%FT%TZ)"
    # The generated corpus (target/corpus) comes first, so new inputs go there and the
    # committed seeds in corpus/ stay as they are.
    nice cargo +nightly fuzz run "${features[@]}" -O "$target" "target/corpus/$target" "corpus/$target" -- \
        -max_total_time="$each" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$log" 2>&1
    status=$?
    grep -E "^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|^Done|SUMMARY|panicked|Test unit written" "$log"
    grep -E "^#[0-9]+ +(DONE|pulse)" "$log" | tail -1
    [ $status -ne 0 ] && echo "CRASH $target (exit $status): see $log"
done
exit 0
