#!/usr/bin/env bash
# Starts an N-node Streams cluster on loopback to try out, and stops it again.
#
#   scripts/run-cluster.sh start N [server flags...]   start nodes 1..N (N >= 1, default 3)
#   scripts/run-cluster.sh status                      each node's URL, PID and /ready answer
#   scripts/run-cluster.sh stop-node I                 SIGTERM node I only (a graceful leave)
#   scripts/run-cluster.sh start-node I                start node I again (it joins the running cluster)
#   scripts/run-cluster.sh stop                        SIGTERM every node, then the S3 server it started
#
# Node I listens for HTTP on 127.0.0.1:(4440+I) (4441, 4442, ...) and for Akka remoting on
# 127.0.0.1:(5440+I) (5441, 5442, ...); nodes 1..3 (at most) are the seed nodes. Node I keeps its
# SQLite cache in cluster-data/node-I/ and its output in cluster-data/logs/node-I.log. Extra
# server flags given to `start` go to every node.
#
# A cluster needs a shared object store. When any DURABLE_STREAMS_R2_* variable is set, the nodes
# use those settings (bucket, endpoint or account id, region, credentials; see
# docs/operations.md). Otherwise this script starts the project's S3 test server (Ceph RGW in RAM,
# root only) in a place of its own so that it never touches a test run's:
#   STREAMS_CLUSTER_S3_BASE   its working directory (default /tmp/streams-cluster-s3)
#   STREAMS_CLUSTER_RGW_PORT  its S3 port          (default 7490)
#   STREAMS_CLUSTER_MON_PORT  its monitor port     (default 6790)
#   STREAMS_CLUSTER_BUCKET    the bucket           (default streams-cluster)
# That server keeps everything in RAM: when this script starts it afresh, the nodes' old
# cluster-data/node-*/ caches no longer match the bucket and are cleared first.
#
# Other settings: STREAMS_SKIP_BUILD=1 never builds; STREAMS_CLUSTER_READY_TIMEOUT_S (default 120)
# bounds the wait for every node's /ready; STREAMS_CLUSTER_STOP_TIMEOUT_S (default 120) bounds
# each node's drain after SIGTERM before it is killed.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo_root}"

readonly host="127.0.0.1"
readonly http_port_base=4440
readonly remoting_port_base=5440
readonly max_seed_nodes=3
readonly cluster_dir="cluster-data"
readonly run_dir="${cluster_dir}/run"
readonly log_dir="${cluster_dir}/logs"
readonly server_dll="src/Streams.Api/bin/Release/net10.0/Streams.Api.dll"
readonly build_stamp="src/Streams.Api/bin/Release/net10.0/.run-server-build.stamp"
readonly s3_base="${STREAMS_CLUSTER_S3_BASE:-/tmp/streams-cluster-s3}"
readonly s3_rgw_port="${STREAMS_CLUSTER_RGW_PORT:-7490}"
readonly s3_mon_port="${STREAMS_CLUSTER_MON_PORT:-6790}"
readonly s3_bucket="${STREAMS_CLUSTER_BUCKET:-streams-cluster}"
# Written by this script when it started the S3 server, so that `stop` stops that one only.
readonly s3_marker="${run_dir}/s3-server-started"
# The node count and the extra server flags of the last `start`, for `start-node`.
readonly count_file="${run_dir}/node-count"
readonly flags_file="${run_dir}/server-flags"
readonly ready_timeout_s="${STREAMS_CLUSTER_READY_TIMEOUT_S:-120}"
readonly stop_timeout_s="${STREAMS_CLUSTER_STOP_TIMEOUT_S:-120}"

say() { echo "run-cluster: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

usage() {
    sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

http_port() { echo $((http_port_base + $1)); }
remoting_port() { echo $((remoting_port_base + $1)); }
node_url() { echo "http://${host}:$(http_port "$1")"; }
pid_file() { echo "${run_dir}/node-$1.pid"; }

# The PID of node $1 if that process is still a Streams server; nothing otherwise (a PID file left
# by a crash may name a process that has since been reused for something else).
running_pid() {
    local file pid
    file="$(pid_file "$1")"
    [[ -f "${file}" ]] || return 0
    pid="$(cat "${file}")"
    if kill -0 "${pid}" 2>/dev/null && tr '\0' ' ' < "/proc/${pid}/cmdline" 2>/dev/null | grep -q 'Streams.Api.dll'; then
        echo "${pid}"
    fi
}

known_nodes() {
    local file
    for file in "${run_dir}"/node-*.pid; do
        [[ -f "${file}" ]] || continue
        file="${file##*/node-}"
        echo "${file%.pid}"
    done | sort -n
}

http_status() {
    curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null || true
}

build_if_stale() {
    [[ "${STREAMS_SKIP_BUILD:-0}" == "1" ]] && return 0
    local newer=""
    if [[ -f "${server_dll}" && -f "${build_stamp}" ]]; then
        newer="$(find src Directory.Build.props Directory.Packages.props global.json \
            -type f -newer "${build_stamp}" \
            \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.conf' -o -name '*.json' \) \
            -not -path '*/bin/*' -not -path '*/obj/*' -print -quit)"
        [[ -n "${newer}" ]] || return 0
    fi
    say "building the server (Release)"
    # No build servers: they would outlive this script.
    dotnet build Streams.sln -c Release --nologo -v quiet --disable-build-servers
    # The same stamp as scripts/run-server.sh: either script's build serves both.
    touch "${build_stamp}"
}

r2_configured() {
    local name
    for name in BUCKET ENDPOINT ACCOUNT_ID REGION ACCESS_KEY_ID SECRET_ACCESS_KEY; do
        local variable="DURABLE_STREAMS_R2_${name}"
        [[ -n "${!variable:-}" ]] && return 0
    done
    return 1
}

# Sets object_store_args (and exports the credentials) for the nodes. With "reuse-only" it never
# starts an S3 server: a fresh one would hold none of the running nodes' streams.
choose_object_store() {
    local mode="${1:-may-start}"
    if r2_configured; then
        [[ -n "${DURABLE_STREAMS_R2_BUCKET:-}" ]] || die "DURABLE_STREAMS_R2_* is set but DURABLE_STREAMS_R2_BUCKET is not"
        # The server reads the DURABLE_STREAMS_R2_* variables itself (docs/configuration.md).
        object_store_args=(--object-store s3)
        say "object store: bucket ${DURABLE_STREAMS_R2_BUCKET} from DURABLE_STREAMS_R2_*"
        return
    fi

    local env_file="${s3_base}/s3.env"
    if [[ -f "${env_file}" && "$(http_status "http://${host}:${s3_rgw_port}/")" != "000" ]]; then
        say "object store: the S3 test server already running at http://${host}:${s3_rgw_port}"
    elif [[ "${mode}" == "reuse-only" ]]; then
        die "the S3 test server at http://${host}:${s3_rgw_port} is not running; start the whole cluster again: $0 stop; $0 start N"
    else
        say "object store: starting the S3 test server (${s3_base}, S3 port ${s3_rgw_port}, monitor port ${s3_mon_port})"
        mkdir -p "${run_dir}"
        touch "${s3_marker}"
        local attempt
        # Twice: on a busy machine the first start of Ceph occasionally fails while the monitor settles.
        for attempt in 1 2; do
            env_file="$(STREAMS_S3_BASE="${s3_base}" RGW_PORT="${s3_rgw_port}" MON_PORT="${s3_mon_port}" \
                bash scripts/s3-test-server.sh start < /dev/null | tail -n 1)" || true
            [[ -f "${env_file}" ]] && break
            if ((attempt == 1)); then
                say "the S3 test server did not start; trying once more"
            fi
        done
        [[ -f "${env_file}" ]] || die "the S3 test server did not start (logs in ${s3_base}/log)"
        # A fresh server has an empty bucket: caches of an earlier cluster would contradict it.
        local stale
        for stale in "${cluster_dir}"/node-*/; do
            [[ -d "${stale}" ]] || continue
            say "clearing ${stale} (its bucket was in the previous S3 server's RAM)"
            rm -rf -- "${stale}"
        done
    fi
    set -a
    # shellcheck source=/dev/null
    source "${env_file}"
    set +a
    export STREAMS_S3_ACCESS_KEY="${STREAMS_TEST_S3_ACCESS_KEY}"
    export STREAMS_S3_SECRET_KEY="${STREAMS_TEST_S3_SECRET_KEY}"
    object_store_args=(--object-store s3 --s3-endpoint "${STREAMS_TEST_S3_ENDPOINT}"
        --s3-region "${STREAMS_TEST_S3_REGION}" --s3-bucket "${s3_bucket}")
}

start() {
    local count="${1:-3}"
    [[ "${count}" =~ ^[1-9][0-9]*$ ]] || die "N must be a whole number of at least 1, not '${count}'"
    shift || true
    command -v curl >/dev/null || die "curl is needed to poll the nodes"
    local node
    for node in $(known_nodes); do
        [[ -z "$(running_pid "${node}")" ]] || die "node ${node} is still running; stop the cluster first: $0 stop"
    done
    for ((node = 1; node <= count; node++)); do
        if [[ "$(http_status "$(node_url "${node}")/health")" != "000" ]]; then
            die "something already answers on $(node_url "${node}")"
        fi
    done

    build_if_stale
    [[ -f "${server_dll}" ]] || die "${server_dll} not found; build with: dotnet build Streams.sln -c Release"
    choose_object_store
    mkdir -p "${run_dir}" "${log_dir}"
    rm -f "${run_dir}"/node-*.pid

    echo "${count}" > "${count_file}"
    if (($# > 0)); then printf '%s\0' "$@"; fi > "${flags_file}"
    for ((node = 1; node <= count; node++)); do
        launch_node "${node}" "${count}" "$@"
    done
    wait_until_ready $(seq 1 "${count}")
    status
    say "stop with: $0 stop"
}

# Starts node $1 of a cluster of $2 nodes in the background; the rest are extra server flags.
launch_node() {
    local node="$1" count="$2"
    shift 2
    local seeds=() seed seed_count=$((count < max_seed_nodes ? count : max_seed_nodes))
    for ((seed = 1; seed <= seed_count; seed++)); do
        seeds+=("akka.tcp://streams@${host}:$(remoting_port "${seed}")")
    done
    local seed_list data_dir="${cluster_dir}/node-${node}" log="${log_dir}/node-${node}.log"
    seed_list="$(IFS=,; echo "${seeds[*]}")"
    mkdir -p "${data_dir}" "${log_dir}"
    # setsid: the nodes outlive this script and a Ctrl-C in its terminal; stop them with `stop`.
    # Each runs in its own data directory: whatever a node writes relative to its working
    # directory stays with that node (an empty snapshots/, the default directory of Akka.Persistence's
    # local snapshot store, appears there).
    (cd "${data_dir}" && exec setsid dotnet "${repo_root}/${server_dll}" \
        --host "${host}" --port "$(http_port "${node}")" --data-dir "${repo_root}/${data_dir}" \
        --cluster-host "${host}" --cluster-port "$(remoting_port "${node}")" \
        --cluster-seed-nodes "${seed_list}" \
        "${object_store_args[@]}" "$@") \
        >> "${log}" 2>&1 < /dev/null &
    echo $! > "$(pid_file "${node}")"
}

# Waits until every node named in the arguments answers /ready with 200; dies when one exits.
wait_until_ready() {
    say "waiting up to ${ready_timeout_s} s for /ready of node(s) $*"
    local node deadline=$((SECONDS + ready_timeout_s)) pending=1
    while ((pending == 1)); do
        pending=0
        for node in "$@"; do
            if [[ -z "$(running_pid "${node}")" ]]; then
                tail -n 30 "${log_dir}/node-${node}.log" >&2 || true
                die "node ${node} exited during start-up; its log: ${log_dir}/node-${node}.log (stop the others with: $0 stop)"
            fi
            [[ "$(http_status "$(node_url "${node}")/ready")" == "200" ]] || pending=1
        done
        if ((pending == 1)); then
            ((SECONDS < deadline)) || die "not every node was ready within ${ready_timeout_s} s; see ${log_dir}/ ($0 status; $0 stop)"
            sleep 0.5
        fi
    done
}

# Starts one node of the last `start` again, with the same settings; it joins through the seeds.
start_node() {
    local node="$1"
    [[ -f "${count_file}" ]] || die "no cluster started here (start one with: $0 start 3)"
    [[ -z "$(running_pid "${node}")" ]] || die "node ${node} is already running"
    local count flags=()
    count="$(cat "${count_file}")"
    ((node <= count)) || die "the cluster was started with ${count} nodes; node ${node} is not one of them"
    [[ "$(http_status "$(node_url "${node}")/health")" == "000" ]] || die "something already answers on $(node_url "${node}")"
    if [[ -s "${flags_file}" ]]; then
        mapfile -d '' -t flags < "${flags_file}"
    fi
    choose_object_store reuse-only
    launch_node "${node}" "${count}" "${flags[@]}"
    wait_until_ready "${node}"
    status
}

status() {
    local node pid any=0
    for node in $(known_nodes); do
        any=1
        pid="$(running_pid "${node}")"
        if [[ -n "${pid}" ]]; then
            printf 'node %s  %s  pid %s  /ready %s  remoting %s:%s  log %s\n' "${node}" "$(node_url "${node}")" "${pid}" \
                "$(http_status "$(node_url "${node}")/ready")" "${host}" "$(remoting_port "${node}")" "${log_dir}/node-${node}.log"
        else
            printf 'node %s  %s  not running  log %s\n' "${node}" "$(node_url "${node}")" "${log_dir}/node-${node}.log"
        fi
    done
    ((any == 1)) || say "no cluster started here (start one with: $0 start 3)"
}

# SIGTERM, then waits for the drain: the node hands its streams over and exits.
stop_node() {
    local node="$1" pid
    pid="$(running_pid "${node}")"
    [[ -n "${pid}" ]] || return 0
    say "node ${node} (pid ${pid}): SIGTERM"
    kill -TERM "${pid}"
    local deadline=$((SECONDS + stop_timeout_s))
    while kill -0 "${pid}" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            say "node ${node} (pid ${pid}) still running ${stop_timeout_s} s after SIGTERM; SIGKILL"
            kill -KILL "${pid}" 2>/dev/null || true
            break
        fi
        sleep 0.2
    done
}

stop() {
    local node
    # One at a time, highest first: each leaving node hands its streams to nodes that stay.
    for node in $(known_nodes | sort -rn); do
        stop_node "${node}"
        rm -f "$(pid_file "${node}")"
    done
    if [[ -f "${s3_marker}" ]]; then
        say "stopping the S3 test server (${s3_base})"
        STREAMS_S3_BASE="${s3_base}" RGW_PORT="${s3_rgw_port}" MON_PORT="${s3_mon_port}" \
            bash scripts/s3-test-server.sh stop < /dev/null || say "WARNING: stopping the S3 test server failed"
        rm -f "${s3_marker}"
    fi
    say "stopped"
}

case "${1:-}" in
    start) shift; start "$@" ;;
    status) status ;;
    stop-node) [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || usage; stop_node "$2" ;;
    start-node) [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || usage; build_if_stale; start_node "$2" ;;
    stop) stop ;;
    *) usage ;;
esac
