#!/usr/bin/env bash
# Starts the Streams server on http://127.0.0.1:4437 with its data under ./data (the local
# directory store of the embedded default configuration). Builds the Release configuration
# first when the build is missing or older than the sources. Extra arguments are passed to
# the server; a --host, --port or --data-dir given there replaces the default.
#
#   scripts/run-server.sh
#   scripts/run-server.sh --port 8080 --long-poll-timeout-ms 500
#
# Environment: STREAMS_SKIP_BUILD=1 never builds.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo_root}"

readonly default_host="127.0.0.1"
readonly default_port="4437"
readonly default_data_dir="./data"
readonly server_dll="src/Streams.Api/bin/Release/net10.0/Streams.Api.dll"
# Touched after each build here: the server DLL itself is not rewritten when only a
# dependency's implementation changed, so its timestamp cannot tell whether a build is due.
readonly build_stamp="src/Streams.Api/bin/Release/net10.0/.run-server-build.stamp"

build_is_stale() {
    [[ -f "${server_dll}" && -f "${build_stamp}" ]] || return 0
    local newer
    newer="$(find src Directory.Build.props Directory.Packages.props global.json \
        -type f -newer "${build_stamp}" \
        \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.conf' -o -name '*.json' \) \
        -not -path '*/bin/*' -not -path '*/obj/*' -print -quit)"
    [[ -n "${newer}" ]]
}

if [[ "${STREAMS_SKIP_BUILD:-0}" != "1" ]] && build_is_stale; then
    echo "run-server: building the server (Release)" >&2
    # No build servers: they would outlive this script.
    dotnet build Streams.sln -c Release --nologo -v quiet --disable-build-servers
    touch "${build_stamp}"
fi
if [[ ! -f "${server_dll}" ]]; then
    echo "run-server: ${server_dll} not found; build with: dotnet build Streams.sln -c Release" >&2
    exit 1
fi

has_option() {
    local wanted="$1" arg
    shift
    for arg in "$@"; do
        if [[ "${arg}" == "${wanted}" || "${arg}" == "${wanted}="* ]]; then
            return 0
        fi
    done
    return 1
}

defaults=()
has_option --host "$@" || defaults+=(--host "${default_host}")
has_option --port "$@" || defaults+=(--port "${default_port}")
has_option --data-dir "$@" || defaults+=(--data-dir "${default_data_dir}")

# exec: the server receives Ctrl-C and SIGTERM itself and drains gracefully.
exec dotnet "${server_dll}" "${defaults[@]}" "$@"
