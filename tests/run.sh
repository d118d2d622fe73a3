#!/usr/bin/env bash
# The whole test suite, as README.md shows it. Installs nothing today: everything the tests
# need comes through cargo. (Later suites that need system packages install them here.)
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

echo "== look-ahead: every built-in scenario passes the fuzzer with 200 cuts"
for scenario in $(target/release/tape scenarios | awk '{print $1}'); do
    target/release/tape fuzz "$scenario" --cuts 200
done

echo "== the end-to-end tests against the release binary"
# --workspace --all-features reuses the test build above instead of building it again without
# features; the release binary itself is the default build.
TAPE_BIN="$PWD/target/release/tape" cargo test --workspace --all-features --test cli --quiet
