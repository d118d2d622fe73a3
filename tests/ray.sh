#!/usr/bin/env bash
# `tape sweep --ray` against a real single-node Ray cluster started here (`ray start --head`,
# Ray from PyPI in a venv under target/): the merged table equals the local one byte for byte;
# a shard that fails once is resubmitted and resumes; a shard that keeps failing stops the
# sweep with one sentence naming it, and the next attempt reuses the finished shards; a client
# killed mid-sweep leaves jobs that the next client follows rather than doubles; an unreachable
# cluster is named. Usage: tests/ray.sh [TAPE_BINARY]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tape=${1:-$root/target/debug/tape}
venv="$root/target/rayenv"
if [ ! -x "$venv/bin/ray" ]; then
    python=$(command -v python3.11 || command -v python3)
    "$python" -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/tests/ray/requirements.txt"

# Free loopback ports for the head, its job server and its client server.
read -r gcs_port dashboard_port client_port < <("$venv/bin/python" - <<'PY'
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
PY
)
tmp=$(mktemp -d /tmp/tape-ray-XXXXXX)
stop() {
    "$venv/bin/ray" stop --force >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap stop EXIT
"$venv/bin/ray" start --head --port="$gcs_port" --dashboard-host=127.0.0.1 \
    --dashboard-port="$dashboard_port" --ray-client-server-port="$client_port" \
    --num-cpus=2 --temp-dir="$tmp/ray" --disable-usage-stats >"$tmp/ray-start.log" 2>&1 ||
    { cat "$tmp/ray-start.log"; echo "FAILED: ray start"; exit 1; }
address="http://127.0.0.1:$dashboard_port"
echo "a single-node Ray cluster: $address"

work="$tmp/work"
mkdir -p "$work"
cd "$work"
cat >s.toml <<'TOML'
scenario = "default"
seeds = [7, 8]

[grid]
"strategy.fast" = [10, 20]
"strategy.slow" = [60, 80]
TOML
fail() { echo "FAILED: $*"; exit 1; }
field() { "$venv/bin/python" -c "import json, sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }

"$tape" sweep s.toml --threads 1 --out local >/dev/null
"$tape" sweep s.toml --ray "$address" --shards 3 --out cluster --json >cluster.json
cmp local/results.csv cluster/results.csv || fail "the cluster's table differs from the local one"
echo "3 shards on Ray: the merged table equals the local one ($(field runs_per_s <cluster.json) runs/s)"

# Shard 2's first attempt dies; the retry resumes it.
cat >flaky-tape <<SH
#!/bin/sh
case "\$*" in *"--shard 2/3"*)
    if [ ! -e "$work/failed-once" ]; then touch "$work/failed-once"; exit 7; fi;;
esac
exec "$tape" "\$@"
SH
chmod +x flaky-tape
"$tape" sweep s.toml --ray "$address" --shards 3 --ray-tape "$work/flaky-tape" --out retried --json >retried.json
[ "$(field retries <retried.json)" = 1 ] || fail "expected one resubmission: $(cat retried.json)"
cmp local/results.csv retried/results.csv || fail "the retried sweep's table differs"
echo "a shard that failed once was resubmitted; the table is the same"

# Shard 3 always dies: the sweep stops naming it; then a good binary reuses shards 1 and 2.
cat >broken-tape <<SH
#!/bin/sh
case "\$*" in *"--shard 3/3"*) echo "shard three cannot start" >&2; exit 9;; esac
exec "$tape" "\$@"
SH
chmod +x broken-tape
if "$tape" sweep s.toml --ray "$address" --shards 3 --ray-tape "$work/broken-tape" --retries 1 --out broken 2>broken.err; then
    fail "a sweep with a broken shard succeeded"
fi
grep -q "shard 3/3 failed 2 times" broken.err || { cat broken.err; fail "the error does not name the shard"; }
grep -q "shard three cannot start" broken.err || { cat broken.err; fail "the error does not show the shard's log"; }
[ "$(wc -l <broken.err)" = 1 ] || { cat broken.err; fail "not one sentence"; }
"$tape" sweep s.toml --ray "$address" --shards 3 --out broken --json >again.json
[ "$(field reused_shards <again.json)" = 2 ] || fail "finished shards were not reused: $(cat again.json)"
cmp local/results.csv broken/results.csv || fail "the resumed sweep's table differs"
echo "a shard that kept failing was named; the next attempt reused the 2 finished shards"

# The client dies while its jobs run: the next client follows those jobs instead of
# submitting a second writer for each shard.
cat >slow-tape <<SH
#!/bin/sh
sleep 4
exec "$tape" "\$@"
SH
chmod +x slow-tape
"$tape" sweep s.toml --ray "$address" --shards 3 --ray-tape "$work/slow-tape" --out adopted >/dev/null 2>&1 &
client=$!
"$venv/bin/python" - "$address" <<'PY' || fail "the first client's jobs never showed up"
import json, sys, time, urllib.request
for _ in range(200):
    jobs = json.load(urllib.request.urlopen(sys.argv[1] + "/api/jobs/"))
    mine = [j for j in jobs if "/adopted/" in j["entrypoint"] and j["status"] in ("PENDING", "RUNNING")]
    if len(mine) == 3:
        sys.exit(0)
    time.sleep(0.1)
sys.exit(1)
PY
kill "$client"
wait "$client" 2>/dev/null || true
"$tape" sweep s.toml --ray "$address" --shards 3 --ray-tape "$work/slow-tape" --out adopted --json >adopted.json
[ "$(field adopted_jobs <adopted.json)" = 3 ] || fail "the running jobs were not followed: $(cat adopted.json)"
[ "$(field retries <adopted.json)" = 0 ] || fail "a followed job was resubmitted: $(cat adopted.json)"
cmp local/results.csv adopted/results.csv || fail "the followed sweep's table differs"
echo "a client killed mid-sweep: the next one followed its 3 running jobs, no second writer"

if "$tape" sweep s.toml --ray http://127.0.0.1:1 --out nowhere 2>nowhere.err; then
    fail "an unreachable cluster was accepted"
fi
grep -q "cannot reach the Ray job server at http://127.0.0.1:1" nowhere.err || { cat nowhere.err; fail "unreachable not named"; }
echo "an unreachable cluster is named"
echo "ray: 5 checks passed"
