#!/usr/bin/env bash
# One run of the append-throughput benchmark against Streams (a server the benchmark starts) and
# against the Node reference server (bench/node-reference.sh), one after the other, on this machine.
# Extra arguments go to both runs (for example --seconds 10). Prints both tables on standard output.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bench="$here/Streams.Bench/bin/Release/net10.0/Streams.Bench.dll"
[[ -f "$bench" ]] || { echo "build first: dotnet build Streams.sln -c Release" >&2; exit 2; }

scratch=$(mktemp -d /tmp/streams-compare.XXXXXX)
node_pid=
cleanup() {
    if [[ -n "$node_pid" ]]; then kill "$node_pid" 2>/dev/null || true; wait "$node_pid" 2>/dev/null || true; fi
    rm -rf "$scratch"
}
trap cleanup EXIT

echo "== Streams" >&2
uptime >&2
dotnet "$bench" append-throughput "$@"

echo "== Node reference server" >&2
NODE_REFERENCE_DATA="$scratch/node-data" "$here/node-reference.sh" >"$scratch/node.out" 2>"$scratch/node.err" &
node_pid=$!
for _ in $(seq 1 600); do
    grep -q '^url=' "$scratch/node.out" 2>/dev/null && break
    kill -0 "$node_pid" 2>/dev/null || { cat "$scratch/node.err" >&2; exit 1; }
    sleep 0.1
done
line=$(grep '^url=' "$scratch/node.out")
url=${line#url=}; url=${url%% *}
pid=${line##*pid=}
uptime >&2
dotnet "$bench" append-throughput --url "$url" --server-pid "$pid" --label "Node reference server 0.3.7, file-backed" "$@"
