#!/usr/bin/env bash
# Runs the Node reference server of the protocol (@durable-streams/server, file-backed through
# DurableStreamTestServer with a dataDir) for side-by-side runs of bench/Streams.Bench.
# Installs the package on first use into a scratch directory outside the repository.
# Prints one line "url=<base url> pid=<process id>" once it listens; stops on SIGTERM.
#
#   NODE_REFERENCE_DIR   install directory (default /tmp/streams-node-reference)
#   NODE_REFERENCE_DATA  data directory (default: a fresh one under the install directory)
set -euo pipefail

version=0.3.7
dir=${NODE_REFERENCE_DIR:-/tmp/streams-node-reference}
data=${NODE_REFERENCE_DATA:-$(mktemp -d "$dir.data.XXXXXX")}

mkdir -p "$dir"
if [[ ! -f "$dir/node_modules/@durable-streams/server/package.json" ]] ||
   ! grep -q "\"version\": \"$version\"" "$dir/node_modules/@durable-streams/server/package.json"; then
    echo "installing @durable-streams/server@$version into $dir" >&2
    (cd "$dir" && [[ -f package.json ]] || echo '{"private":true}' >"$dir/package.json")
    (cd "$dir" && npm i --no-audit --no-fund "@durable-streams/server@$version" >&2)
fi

cat >"$dir/serve.mjs" <<'JS'
import { DurableStreamTestServer } from "@durable-streams/server";

const server = new DurableStreamTestServer({ host: "127.0.0.1", port: 0, dataDir: process.argv[2], compression: false });
const url = await server.start();
console.log(`url=${url} pid=${process.pid}`);
const stop = async () => { await server.stop(); process.exit(0); };
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
JS

echo "data directory: $data" >&2
cd "$dir"
exec node serve.mjs "$data"
