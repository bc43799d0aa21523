#!/usr/bin/env bash
# Runs tests/Conformance/client-auth.mjs (the official TypeScript client with a key in a custom
# header) against a freshly started server with --auth-strategy api-key on a free loopback port.
# Prints the script's closing line "client-auth: N passed, N failed". Needs the Release build and
# `npm ci` in tests/Conformance (run.sh does it; this script does it when node_modules is missing).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "${here}/../.." && pwd)"
server_dll="${repo_root}/src/Streams.Api/bin/Release/net10.0/Streams.Api.dll"
readonly startup_timeout_s=60

[[ -f "${server_dll}" ]] || { echo "client-auth: ERROR: ${server_dll} is missing; build Release first" >&2; exit 2; }
if [[ ! -d "${here}/node_modules/@durable-streams/client" ]]; then
    (cd "${here}" && npm ci --no-audit --no-fund)
fi

work_dir="$(mktemp -d "${TMPDIR:-/tmp}/streams-client-auth.XXXXXX")"
server_pid=""
cleanup() {
    if [[ -n "${server_pid}" ]] && kill -0 "${server_pid}" 2>/dev/null; then
        kill -TERM "${server_pid}" 2>/dev/null || true
        wait "${server_pid}" 2>/dev/null || true
    fi
    rm -rf -- "${work_dir}"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
api_key="client-auth-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
API_KEY="${api_key}" dotnet "${server_dll}" --host 127.0.0.1 --port "${port}" --data-dir "${work_dir}/data" \
    --auth-strategy api-key --long-poll-timeout-ms 2000 > "${work_dir}/server.log" 2>&1 &
server_pid=$!

for ((i = 0; i < startup_timeout_s * 10; i++)); do
    if curl -fsS "http://127.0.0.1:${port}/health" > /dev/null 2>&1; then
        break
    fi
    if ! kill -0 "${server_pid}" 2>/dev/null; then
        echo "client-auth: ERROR: the server exited during start-up" >&2
        tail -n 40 "${work_dir}/server.log" >&2
        exit 2
    fi
    sleep 0.1
done

status=0
(cd "${here}" && STREAMS_URL="http://127.0.0.1:${port}" API_KEY="${api_key}" node client-auth.mjs) || status=$?
if ((status != 0)); then
    tail -n 40 "${work_dir}/server.log" >&2
fi
exit "${status}"
