#!/usr/bin/env bash
# Runs the official Durable Streams server conformance suite against a freshly started
# server on a free loopback port with an empty data directory, then prints the failing
# tests and a closing line "conformance: N passed, N failed[, N skipped]".
#
# Exit status: 0 when every failing test is listed in expected-failures.txt,
#              1 when a test failed that is not listed (or the suite itself broke),
#              2 when the server could not be built or started.
#
# Environment:
#   STREAMS_SKIP_BUILD=1          do not build the solution first (the Release build must exist)
#   STREAMS_SERVER_ARGS="..."     extra server arguments, split on whitespace (no quoting),
#                                 e.g. to select the S3 store or aggressive sealing
#   STREAMS_SERVER_CMD="..."      replaces "dotnet <Streams.Api.dll>", to compare with another
#                                 server; it gets the same arguments and must answer GET /health
#                                 with 200 (implies no build)
#   STREAMS_HEALTH_PATH=/health   readiness path polled after start (/ready for a cluster)
#   STREAMS_CLUSTER_NODES=1       with N > 1, start N servers joined into one cluster (each with
#                                 STREAMS_SERVER_ARGS, which must name a shared object store) and
#                                 run the suite against node 1, after checking on probe streams
#                                 that most streams are owned by the other nodes
#   STREAMS_STARTUP_TIMEOUT_S=60  how long to wait for the readiness path
#   STREAMS_STOP_TIMEOUT_S=20     how long SIGTERM may take before SIGKILL (60 for a cluster)
#   CONFORMANCE_SUITE_TIMEOUT_S=900  upper bound for the whole suite run
#   CONFORMANCE_SUBSCRIPTIONS=1   also run the opt-in "Reserved subscription APIs" tests
#   CONFORMANCE_ARTIFACTS_DIR=dir keep results.json and server.log there
#   CONFORMANCE_EXPECTED_FAILURES=file  allow-list (default: expected-failures.txt here)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "${here}/../.." && pwd)"

# The server is started with this long-poll timeout and the suite is told the same value:
# the suite allows its long-poll tests this long plus one second, so it must stay well under 4 s.
readonly long_poll_timeout_ms=500
readonly log_tail_lines=80

startup_timeout_s="${STREAMS_STARTUP_TIMEOUT_S:-60}"
suite_timeout_s="${CONFORMANCE_SUITE_TIMEOUT_S:-900}"
cluster_nodes="${STREAMS_CLUSTER_NODES:-1}"
[[ "${cluster_nodes}" =~ ^[1-9][0-9]*$ ]] || { printf 'conformance: ERROR: STREAMS_CLUSTER_NODES must be a whole number of at least 1\n' >&2; exit 2; }
# A cluster member's drain hands its streams to the others, which takes longer than a single node's.
if ((cluster_nodes > 1)); then
    health_path="${STREAMS_HEALTH_PATH:-/ready}"
    stop_timeout_s="${STREAMS_STOP_TIMEOUT_S:-60}"
else
    health_path="${STREAMS_HEALTH_PATH:-/health}"
    stop_timeout_s="${STREAMS_STOP_TIMEOUT_S:-20}"
fi
expected_failures="${CONFORMANCE_EXPECTED_FAILURES:-${here}/expected-failures.txt}"
server_dll="${repo_root}/src/Streams.Api/bin/Release/net10.0/Streams.Api.dll"

log() { printf 'conformance: %s\n' "$*"; }
fail_setup() { printf 'conformance: ERROR: %s\n' "$*" >&2; exit 2; }

work_dir=""
server_pid=""
suite_pid=""
# The other members of a cluster run (node 2..N); the suite talks to node 1 only.
peer_pids=()
peer_urls=()

print_server_log_tail() {
    local log
    for log in "${work_dir}"/server.log "${work_dir}"/peer-*.log; do
        [[ -n "${work_dir}" && -e "${log}" ]] || continue
        if [[ -s "${log}" ]]; then
            printf -- '----- last %d lines of %s -----\n' "${log_tail_lines}" "${log##*/}" >&2
            tail -n "${log_tail_lines}" "${log}" >&2
            printf -- '----- end of %s -----\n' "${log##*/}" >&2
        else
            printf 'conformance: %s is empty\n' "${log##*/}" >&2
        fi
    done
}

# Stops the server by its PID: SIGTERM for a graceful drain, SIGKILL after a bounded wait.
# Returns 0 on a graceful exit, 1 when SIGKILL was needed.
stop_server() {
    local pid="${server_pid}"
    server_pid=""
    stop_pid "${pid}"
}

# Stops the other cluster members, last started first; 1 when one of them needed SIGKILL.
stop_peers() {
    local index status=0
    for ((index = ${#peer_pids[@]} - 1; index >= 0; index--)); do
        stop_pid "${peer_pids[index]}" || status=1
    done
    peer_pids=()
    return "${status}"
}

stop_pid() {
    local pid="$1"
    [[ -n "${pid}" ]] || return 0
    if ! kill -0 "${pid}" 2>/dev/null; then
        wait "${pid}" 2>/dev/null || true
        return 0
    fi
    kill -TERM "${pid}" 2>/dev/null || true
    local deadline=$((SECONDS + stop_timeout_s))
    while kill -0 "${pid}" 2>/dev/null && ((SECONDS < deadline)); do
        sleep 0.2
    done
    if kill -0 "${pid}" 2>/dev/null; then
        printf 'conformance: server (pid %s) ignored SIGTERM for %ss; sending SIGKILL\n' "${pid}" "${stop_timeout_s}" >&2
        kill -KILL "${pid}" 2>/dev/null || true
        wait "${pid}" 2>/dev/null || true
        return 1
    fi
    wait "${pid}" 2>/dev/null || true
    return 0
}

# shellcheck disable=SC2317  # invoked from the EXIT trap
keep_artifacts() {
    local target="${CONFORMANCE_ARTIFACTS_DIR:-}"
    [[ -n "${target}" && -n "${work_dir}" && -d "${work_dir}" ]] || return 0
    mkdir -p "${target}"
    local file
    # The peers' logs are matched in the work directory: a bare peer-*.log would match (or not) in
    # the current directory instead.
    for file in "${work_dir}"/results.json "${work_dir}"/server.log "${work_dir}"/peer-*.log; do
        if [[ -f "${file}" ]]; then
            cp "${file}" "${target}/${file##*/}"
        fi
    done
}

# shellcheck disable=SC2317  # invoked from the EXIT trap
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [[ -n "${suite_pid}" ]] && kill -0 "${suite_pid}" 2>/dev/null; then
        kill -TERM "${suite_pid}" 2>/dev/null || true
        wait "${suite_pid}" 2>/dev/null || true
    fi
    stop_server || true
    stop_peers || true
    keep_artifacts || true
    if [[ -n "${work_dir}" && -d "${work_dir}" ]]; then
        rm -rf -- "${work_dir}"
    fi
    exit "${status}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

command -v node >/dev/null || fail_setup "node is not on PATH (Node ^20.19 or >=22.12 is required)"
command -v npm >/dev/null || fail_setup "npm is not on PATH"
# vitest 4 (through vite and rolldown) needs Node ^20.19.0 or >=22.12.0.
node -e '
const [major, minor] = process.versions.node.split(".").map(Number)
process.exit((major === 20 && minor >= 19) || (major === 22 && minor >= 12) || major > 22 ? 0 : 1)
' || fail_setup "Node $(node --version) is too old: the suite needs ^20.19.0 or >=22.12.0"

# ---- 1. Node dependencies: npm ci only when node_modules is missing or does not match the lock file.
lock_stamp="${here}/node_modules/.streams-lock.sha256"
lock_hash="$( { sha256sum "${here}/package-lock.json" | cut -d' ' -f1; node --version; } | tr '\n' ' ')"
if [[ ! -f "${lock_stamp}" || "$(cat "${lock_stamp}")" != "${lock_hash}" ]]; then
    log "installing the suite's Node packages (npm ci)"
    (cd "${here}" && npm ci --no-audit --no-fund) || fail_setup "npm ci failed"
    printf '%s' "${lock_hash}" > "${lock_stamp}"
fi
vitest="${here}/node_modules/.bin/vitest"
[[ -x "${vitest}" ]] || fail_setup "vitest is missing from ${here}/node_modules after npm ci"

# ---- 2. Server command.
if [[ -n "${STREAMS_SERVER_CMD:-}" ]]; then
    log "using STREAMS_SERVER_CMD instead of the Streams server: ${STREAMS_SERVER_CMD}"
elif [[ "${STREAMS_SKIP_BUILD:-0}" == "1" ]]; then
    log "STREAMS_SKIP_BUILD=1: using the existing Release build"
else
    log "building the server (Release)"
    # No build servers: they would outlive this script.
    dotnet build "${repo_root}/Streams.sln" -c Release --nologo -v quiet --disable-build-servers \
        || fail_setup "dotnet build failed"
fi
if [[ -z "${STREAMS_SERVER_CMD:-}" && ! -f "${server_dll}" ]]; then
    fail_setup "server build not found at ${server_dll}"
fi

# ---- 3. Start the server on a free loopback port with an empty data directory.
work_dir="$(mktemp -d "${TMPDIR:-/tmp}/streams-conformance.XXXXXX")"
data_dir="${work_dir}/data"
mkdir -p "${data_dir}"

free_port() {
    node -e '
const server = require("net").createServer()
server.listen(0, "127.0.0.1", () => { console.log(server.address().port); server.close() })
'
}

port="$(free_port)"
base_url="http://127.0.0.1:${port}"

server_args=(--host 127.0.0.1 --port "${port}" --data-dir "${data_dir}" --long-poll-timeout-ms "${long_poll_timeout_ms}")
extra_args=()
if [[ -n "${STREAMS_SERVER_ARGS:-}" ]]; then
    read -r -a extra_args <<< "${STREAMS_SERVER_ARGS}"
    server_args+=("${extra_args[@]}")
fi

# Polls one URL; true only for HTTP 200. Node is used because curl may not be installed.
http_ok() {
    node -e '
fetch(process.argv[1], { signal: AbortSignal.timeout(2000) })
  .then((response) => process.exit(response.status === 200 ? 0 : 1), () => process.exit(1))
' "$1"
}

# Waits for every peer's readiness path; exits 2 when one dies or the time runs out.
wait_for_peers() {
    local index deadline=$((SECONDS + startup_timeout_s))
    for index in "${!peer_pids[@]}"; do
        while ! http_ok "${peer_urls[index]}${health_path}"; do
            if ! kill -0 "${peer_pids[index]}" 2>/dev/null || ((SECONDS >= deadline)); then
                printf 'conformance: ERROR: cluster node %d (%s) did not answer %s within %ss\n' \
                    $((index + 2)) "${peer_urls[index]}" "${health_path}" "${startup_timeout_s}" >&2
                print_server_log_tail
                exit 2
            fi
            sleep 0.25
        done
    done
}

# Starts one server in the background with its output in the file $1; the rest are its arguments.
# exec keeps the PID: $! is the server's own.
launch_server() {
    local output="$1"
    shift
    if [[ -n "${STREAMS_SERVER_CMD:-}" ]]; then
        bash -c "exec ${STREAMS_SERVER_CMD} \"\$@\"" streams-server "$@" > "${output}" 2>&1 < /dev/null &
    else
        (cd "${work_dir}" && exec dotnet "${server_dll}" "$@") > "${output}" 2>&1 < /dev/null &
    fi
}

# ---- 3a. A cluster: node 1 (the suite's server) is the seed; nodes 2..N join through it.
if ((cluster_nodes > 1)); then
    seed_port="$(free_port)"
    seed="akka.tcp://streams@127.0.0.1:${seed_port}"
    server_args+=(--cluster-host 127.0.0.1 --cluster-port "${seed_port}" --cluster-seed-nodes "${seed}")
    for ((node_number = 2; node_number <= cluster_nodes; node_number++)); do
        peer_port="$(free_port)"
        peer_data="${work_dir}/data-${node_number}"
        mkdir -p "${peer_data}"
        peer_args=(--host 127.0.0.1 --port "${peer_port}" --data-dir "${peer_data}" --long-poll-timeout-ms "${long_poll_timeout_ms}"
            "${extra_args[@]}" --cluster-host 127.0.0.1 --cluster-port "$(free_port)" --cluster-seed-nodes "${seed}")
        log "starting cluster node ${node_number} at http://127.0.0.1:${peer_port}"
        launch_server "${work_dir}/peer-${node_number}.log" "${peer_args[@]}"
        peer_pids+=($!)
        peer_urls+=("http://127.0.0.1:${peer_port}")
    done
fi

log "starting the server at ${base_url} (data dir ${data_dir})"
log "server arguments: ${server_args[*]}"
launch_server "${work_dir}/server.log" "${server_args[@]}"
server_pid=$!

ready=0
deadline=$((SECONDS + startup_timeout_s))
while ((SECONDS < deadline)); do
    if ! kill -0 "${server_pid}" 2>/dev/null; then
        server_status=0
        wait "${server_pid}" || server_status=$?
        server_pid=""
        printf 'conformance: ERROR: the server exited with status %s before it became ready\n' "${server_status}" >&2
        print_server_log_tail
        exit 2
    fi
    if http_ok "${base_url}${health_path}"; then
        ready=1
        break
    fi
    sleep 0.25
done
if ((ready == 0)); then
    printf 'conformance: ERROR: GET %s did not answer 200 within %ss\n' "${health_path}" "${startup_timeout_s}" >&2
    print_server_log_tail
    exit 2
fi
log "server is ready (pid ${server_pid})"
if ((cluster_nodes > 1)); then
    wait_for_peers
    log "all ${cluster_nodes} cluster nodes are ready (peers: pids ${peer_pids[*]})"
    # The point of this run is a server that answers for streams it does not own: stream names
    # like the suite's must mostly be placed on the other nodes, as _details (owner_node) says.
    node "${here}/cluster-placement.mjs" "${base_url}" "${seed_port}" "${port}" \
        || fail_setup "most streams must be owned by nodes other than node 1 (see above)"
fi

# ---- 4. Run the suite: console output for people, JSON for the summary below.
# It runs in the background and is waited for, so that a signal reaches the cleanup trap at once.
results="${work_dir}/results.json"
suite_status=0
# Colour codes only help on a terminal; CI logs and files get plain text unless FORCE_COLOR says otherwise.
if [[ ! -t 1 && -z "${FORCE_COLOR:-}" ]]; then
    export NO_COLOR=1
fi
(
    cd "${here}"
    export CONFORMANCE_TEST_URL="${base_url}"
    export CONFORMANCE_LONG_POLL_TIMEOUT_MS="${long_poll_timeout_ms}"
    # timeout passes a SIGTERM on to vitest and its workers; exec keeps the PID recorded below.
    exec timeout --kill-after=30 "${suite_timeout_s}" \
        "${vitest}" run --config "${here}/vitest.config.mjs" \
        --reporter=default --reporter=json --outputFile.json="${results}"
) < /dev/null &
suite_pid=$!
wait "${suite_pid}" || suite_status=$?
suite_pid=""
# 124 and 137 are timeout's way of saying the time bound was hit.
if ((suite_status == 124 || suite_status == 137)); then
    printf 'conformance: ERROR: the suite did not finish within %ss\n' "${suite_timeout_s}" >&2
fi

# ---- 5. Stop the server before summarising, so the closing line is the last thing printed.
server_problem=0
if ! kill -0 "${server_pid}" 2>/dev/null; then
    printf 'conformance: ERROR: the server exited while the suite was running\n' >&2
    server_problem=1
fi
if ! stop_server; then
    printf 'conformance: WARNING: the server did not stop within %ss of SIGTERM\n' "${stop_timeout_s}" >&2
fi
for index in "${!peer_pids[@]}"; do
    if ! kill -0 "${peer_pids[index]}" 2>/dev/null; then
        printf 'conformance: ERROR: cluster node %d exited while the suite was running\n' $((index + 2)) >&2
        server_problem=1
    fi
done
if ! stop_peers; then
    printf 'conformance: WARNING: a cluster node did not stop within %ss of SIGTERM\n' "${stop_timeout_s}" >&2
fi
report_status=0
report_output="$(node "${here}/report.mjs" "${results}" "${expected_failures}" "${suite_status}")" || report_status=$?
if ((server_problem == 1 || report_status != 0)); then
    print_server_log_tail
fi
printf '%s\n' "${report_output}"

if ((server_problem == 1 && report_status == 0)); then
    exit 1
fi
exit "${report_status}"
