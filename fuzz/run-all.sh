#!/usr/bin/env bash
# Fuzzes each target for SECONDS_EACH seconds (default 60), one at a time and niced, and
# prints the figures libFuzzer reports. A crash does not stop the others: its input is in
# fuzz/artifacts/<target>/, the line "CRASH" names it, and the script exits 1 at the end.
#
# Usage: fuzz/run-all.sh [SECONDS_EACH] [TARGET...]
# FUZZ_BUILD=dev builds without optimizations but with overflow checks: much quicker to build
# (the CI smoke run uses it), slower to run; the default is an optimized build.
# Full logs: fuzz/target/logs/<target>.log. Needs cargo-fuzz (`cargo install cargo-fuzz`).
# cargo-fuzz passes nightly-only flags to rustc: a nightly toolchain is used when rustup has
# one, otherwise the default toolchain with RUSTC_BOOTSTRAP=1, for this build only.
set -uo pipefail
cd "$(dirname "$0")"
each=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(ledger_reader frame_decoder csv_loader scenario_toml parquet_loader)
toolchain=()
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    toolchain=(+nightly)
else
    export RUSTC_BOOTSTRAP=1
fi
profile=(-O)
[ "${FUZZ_BUILD:-release}" = dev ] && profile=(--dev)
mkdir -p target/logs
crashed=0
for target in "${targets[@]}"; do
    features=()
    [ "$target" = parquet_loader ] && features=(--features parquet)
    mkdir -p "corpus/$target" "target/corpus/$target"
    # Inputs that once crashed a target are run first, with the committed seeds; new inputs
    # go to the generated corpus (target/corpus), so corpus/ and regressions/ stay as they are.
    kept=("corpus/$target")
    [ -d "regressions/$target" ] && kept+=("regressions/$target")
    log="target/logs/$target.log"
    echo "== $target (${each}s) $(date -u +%FT%TZ)"
    nice cargo "${toolchain[@]}" fuzz run "${features[@]}" "${profile[@]}" "$target" "target/corpus/$target" "${kept[@]}" -- \
        -max_total_time="$each" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$log" 2>&1
    status=$?
    grep -E "^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|^Done|SUMMARY|panicked|Test unit written" "$log"
    if [ $status -ne 0 ]; then
        echo "CRASH $target (exit $status): see fuzz/$log"
        tail -n 30 "$log"
        crashed=1
    fi
done
exit $crashed
