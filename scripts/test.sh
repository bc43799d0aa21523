#!/usr/bin/env bash
# The project's one test command: builds the solution, starts the S3 test server, runs the
# unit and property tests and the official conformance suite (against the local-directory store
# and again against S3 with aggressive sealing), then prints a summary of
# every stage and a closing line "N passed, N failed[, N skipped]" over all of them.
# Exits non-zero if any stage failed. Needs the .NET 10 SDK, Node >= 20.19 with npm, and
# root (the S3 test server installs its Debian packages on first use).
#
# Environment:
#   STREAMS_TEST_NO_S3=1          local runs only: do not start the S3 test server; S3-backed
#                                 tests then skip instead of failing. Refused when CI=true.
#   STREAMS_TEST_STAGE_TIMEOUT_S  upper bound for each dotnet test stage (default 1800)
#   STREAMS_S3_START_TIMEOUT_S    upper bound for starting the S3 test server (default 900)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo_root}"

# The summary parsing below reads the English console output of dotnet test.
export DOTNET_CLI_UI_LANGUAGE=en
export DOTNET_NOLOGO=1
export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

readonly solution="Streams.sln"
# Every test project that this command runs; a project under tests/ missing here is reported.
readonly test_projects=(
    "unit:tests/Unit/Streams.Tests.Unit.csproj"
    "property:tests/Property/Streams.Tests.Property.csproj"
    # Hostile HTTP (FsCheck-generated) against a real server process; ~1-2 minutes.
    "fuzz:tests/Fuzz/Streams.Tests.Fuzz.csproj"
)
readonly s3_script="scripts/s3-test-server.sh"
readonly s3_default_env_file="/tmp/streams-s3-test/s3.env"
readonly s3_required_vars=(STREAMS_TEST_S3_ENDPOINT STREAMS_TEST_S3_ACCESS_KEY STREAMS_TEST_S3_SECRET_KEY STREAMS_TEST_S3_REGION)
stage_timeout_s="${STREAMS_TEST_STAGE_TIMEOUT_S:-1800}"
s3_start_timeout_s="${STREAMS_S3_START_TIMEOUT_S:-900}"

log_dir="$(mktemp -d "${TMPDIR:-/tmp}/streams-test.XXXXXX")"
s3_started=0

stop_s3() {
    if ((s3_started == 1)); then
        s3_started=0
        echo "test.sh: stopping the S3 test server"
        bash "${s3_script}" stop < /dev/null || echo "test.sh: WARNING: '${s3_script} stop' failed" >&2
    fi
}

# shellcheck disable=SC2317  # invoked from the EXIT trap
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    stop_s3
    rm -rf -- "${log_dir}"
    exit "${status}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- stage bookkeeping --------------------------------------------------------------------
stage_names=()
failed_test_names=()
stage_results=()
stage_details=()
total_passed=0
total_failed=0
total_skipped=0
any_stage_failed=0

# failed_tests_with_messages <stage>: reads a dotnet test log, prints each failed test's name and
# the first lines of its error message (the stack trace stays in the full log above).
failed_tests_with_messages() {
    awk -v stage="$1" '
        /^ +Failed .+ \[[^]]*\]$/ {
            name = $0; sub(/^ +Failed /, "", name); sub(/ \[[^]]*\]$/, "", name)
            print "  " stage ": " name; in_message = 0; next
        }
        /^ +Error Message:/ { in_message = 1; shown = 0; next }
        /^ +Stack Trace:/ { in_message = 0; next }
        in_message && shown < 4 { line = $0; sub(/^ +/, "", line); print "      " substr(line, 1, 300); shown++ }
    '
}

# record_stage <name> <result> <detail> [<failed tests counted by the stage>]
# A stage that fails without a failing test (build, S3 server, a runner that died) counts
# as one failure in the closing line, so that line never reads "0 failed" for a failed run.
record_stage() {
    local name="$1" result="$2" detail="$3" failed_tests="${4:-0}"
    stage_names+=("${name}")
    stage_results+=("${result}")
    stage_details+=("${detail}")
    if [[ "${result}" == FAIL* || "${result}" == "NOT RUN" ]]; then
        any_stage_failed=1
        if ((failed_tests == 0)); then
            total_failed=$((total_failed + 1))
        fi
    fi
}

banner() {
    printf '\n==================== %s ====================\n' "$*"
}

strip_colours() {
    sed -e 's/\x1b\[[0-9;]*[A-Za-z]//g'
}

# ---- 1. build -----------------------------------------------------------------------------
build_ok=0
banner "build (Release)"
# No build servers: they would outlive this script.
if dotnet restore "${solution}" --disable-build-servers \
    && dotnet build "${solution}" -c Release --no-restore --nologo --disable-build-servers; then
    build_ok=1
    record_stage "build" "PASS" "dotnet restore + dotnet build -c Release"
else
    record_stage "build" "FAIL" "dotnet build failed; no tests can run"
fi

# Test projects that exist but are not listed above would otherwise be skipped silently.
while IFS= read -r project; do
    listed=0
    for entry in "${test_projects[@]}"; do
        if [[ "${entry#*:}" == "${project}" ]]; then
            listed=1
        fi
    done
    # A project without the test SDK (tests/Support) is a library the test projects share, not tests.
    if ((listed == 0)) && grep -q 'Microsoft.NET.Test.Sdk' "${project}"; then
        record_stage "unlisted" "FAIL" "${project} exists but scripts/test.sh does not run it"
    fi
done < <(find tests -name '*.csproj' -not -path '*/bin/*' -not -path '*/obj/*' -not -path '*/node_modules/*' | sort)

# ---- 2. S3 test server --------------------------------------------------------------------
s3_ok=0
s3_waived=0
banner "S3 test server"
if [[ "${STREAMS_TEST_NO_S3:-0}" == "1" ]]; then
    if [[ "${CI:-}" == "true" ]]; then
        echo "test.sh: ERROR: STREAMS_TEST_NO_S3=1 is for local runs only and is refused when CI=true" >&2
        record_stage "s3-server" "FAIL" "STREAMS_TEST_NO_S3=1 refused under CI"
    else
        {
            echo "test.sh: ############################################################"
            echo "test.sh: WARNING: STREAMS_TEST_NO_S3=1 - the S3 test server is NOT started"
            echo "test.sh: WARNING: S3-backed tests will skip; this run proves nothing about S3"
            echo "test.sh: ############################################################"
        } >&2
        s3_waived=1
        record_stage "s3-server" "SKIPPED" "STREAMS_TEST_NO_S3=1: S3-backed tests skip (local runs only)"
    fi
elif [[ ! -f "${s3_script}" ]]; then
    echo "test.sh: ERROR: ${s3_script} is missing; S3-backed tests cannot run" >&2
    record_stage "s3-server" "FAIL" "${s3_script} is missing"
else
    s3_log="${log_dir}/s3-start.log"
    # Marked as started before the call so that a half-started server is stopped too.
    s3_started=1
    s3_status=0
    # --foreground: Ctrl-C reaches the start script too (it stays in this process group).
    timeout --foreground --kill-after=30 "${s3_start_timeout_s}" bash "${s3_script}" start < /dev/null 2>&1 \
        | tee "${s3_log}" || s3_status=$?
    # The start script prints the path of its env file; take the last existing *.env path it printed.
    s3_env_file=""
    while IFS= read -r token; do
        if [[ "${token}" == /*.env && -f "${token}" ]]; then
            s3_env_file="${token}"
        fi
    done < <(tr -s ' \t"'"'"'=:,;' '\n' < "${s3_log}")
    if [[ -z "${s3_env_file}" && -f "${s3_default_env_file}" ]]; then
        s3_env_file="${s3_default_env_file}"
    fi
    if ((s3_status != 0)); then
        record_stage "s3-server" "FAIL" "'${s3_script} start' exited with status ${s3_status}"
    elif [[ -z "${s3_env_file}" ]]; then
        record_stage "s3-server" "FAIL" "no env file printed by '${s3_script} start' and none at ${s3_default_env_file}"
    else
        set -a
        # shellcheck source=/dev/null
        source "${s3_env_file}"
        set +a
        missing=()
        for var in "${s3_required_vars[@]}"; do
            [[ -n "${!var:-}" ]] || missing+=("${var}")
        done
        if ((${#missing[@]} > 0)); then
            record_stage "s3-server" "FAIL" "${s3_env_file} does not set: ${missing[*]}"
        else
            s3_ok=1
            # S3-backed tests must fail, not skip, when S3 is expected to be there.
            export STREAMS_REQUIRE_S3=1
            # The server reads its S3 credentials only from the environment (the S3 conformance run).
            export STREAMS_S3_ACCESS_KEY="${STREAMS_TEST_S3_ACCESS_KEY}"
            export STREAMS_S3_SECRET_KEY="${STREAMS_TEST_S3_SECRET_KEY}"
            record_stage "s3-server" "PASS" "${STREAMS_TEST_S3_ENDPOINT} (env from ${s3_env_file})"
        fi
    fi
fi
if ((s3_ok == 0 && s3_waived == 0)); then
    echo "test.sh: the S3 test server is not available; the test stages still run and S3-backed tests will fail" >&2
    export STREAMS_REQUIRE_S3=1
fi

# ---- 3. dotnet test stages ----------------------------------------------------------------
# Sums the per-assembly summary lines, e.g.
#   "Passed!  - Failed:     0, Passed:    12, Skipped:     0, Total:    12, Duration: ..."
# Prints "<passed> <failed> <skipped> <summary lines> <no-test notices>".
parse_dotnet_test_log() {
    strip_colours < "$1" | awk '
        /(Passed|Failed)! +- +Failed: +[0-9]+, +Passed: +[0-9]+, +Skipped: +[0-9]+, +Total: +[0-9]+/ {
            line = $0
            sub(/.*Failed: +/, "", line);  failed += line + 0
            line = $0
            sub(/.*Passed: +/, "", line);  passed += line + 0
            line = $0
            sub(/.*Skipped: +/, "", line); skipped += line + 0
            summaries++
        }
        /No test is available in/ { empty++ }
        END { printf "%d %d %d %d %d\n", passed, failed, skipped, summaries, empty }'
}

run_dotnet_test_stage() {
    local name="$1" project="$2"
    local stage_log="${log_dir}/${name}.log"
    banner "${name} tests (${project})"
    if ((build_ok == 0)); then
        record_stage "${name}" "NOT RUN" "the build failed"
        return
    fi
    local status=0
    # --foreground keeps dotnet test in this process group so that Ctrl-C reaches it; a hung
    # test host is ended by --blame-hang-timeout, this bound is only the last resort.
    timeout --foreground --kill-after=60 "${stage_timeout_s}" \
        dotnet test "${project}" -c Release --no-build --nologo \
        --logger "console;verbosity=minimal" \
        --blame-hang-timeout 10m --blame-hang-dump-type none < /dev/null 2>&1 \
        | tee "${stage_log}" || status=$?

    local passed failed skipped summaries empty
    read -r passed failed skipped summaries empty < <(parse_dotnet_test_log "${stage_log}")
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    total_skipped=$((total_skipped + skipped))
    local counts="${passed} passed, ${failed} failed, ${skipped} skipped"

    if ((status == 124 || status == 137)); then
        record_stage "${name}" "FAIL" "${counts}; timed out after ${stage_timeout_s}s" "${failed}"
    elif ((summaries == 0 && empty > 0 && status == 0)); then
        echo "test.sh: WARNING: ${project} contains no tests" >&2
        record_stage "${name}" "NO TESTS" "0 passed, 0 failed (the project has no tests yet)"
    elif ((summaries == 0)); then
        record_stage "${name}" "FAIL" "no test summary line found (dotnet test exit status ${status})"
    elif ((status != 0 || failed > 0)); then
        record_stage "${name}" "FAIL" "${counts} (dotnet test exit status ${status})" "${failed}"
        # The names go to the summary too: a CI log is often read from its end only.
        failed_test_names+=("$(strip_colours < "${stage_log}" | failed_tests_with_messages "${name}" | head -n 60)")
    elif ((skipped > 0)); then
        echo "test.sh: NOTE: ${name}: ${skipped} test(s) skipped; their names are in the 'Skipped' lines above" >&2
        record_stage "${name}" "PASS" "${counts} - see the Skipped lines above"
    else
        record_stage "${name}" "PASS" "${counts}"
    fi
}

for entry in "${test_projects[@]}"; do
    run_dotnet_test_stage "${entry%%:*}" "${entry#*:}"
done

# ---- 4. conformance -----------------------------------------------------------------------
# One stage per server configuration: "<stage name>|<extra server arguments>[|<cluster nodes>]".
conformance_configs=(
    "conformance|"
)
# The suite again on the S3 store with a segment sealed every three records (or 100 ms), so reads
# cross segment files, the WAL and downloads, and every stream goes through upload and publish.
# The bucket is this run's own: the S3 test server may be shared, and a stream name left in a
# bucket by an earlier run would be restored instead of created.
readonly conformance_s3_stage="conformance-s3"
if ((s3_ok == 1)); then
    conformance_configs+=("${conformance_s3_stage}|--object-store s3 --s3-endpoint ${STREAMS_TEST_S3_ENDPOINT} --s3-region ${STREAMS_TEST_S3_REGION} --s3-bucket conformance-s3-$(date +%s)-$$ --segment-target-rows 3 --segment-max-age-ms 100")
elif ((s3_waived == 1)); then
    record_stage "${conformance_s3_stage}" "SKIPPED" "STREAMS_TEST_NO_S3=1: no S3 test server to run the suite against"
else
    record_stage "${conformance_s3_stage}" "FAIL" "the S3 test server is not available"
fi
# The suite against node 1 of a three-node cluster on S3, where most streams are owned by the
# other two nodes, so that nearly every request is answered through another node.
readonly conformance_cluster_stage="conformance-cluster"
if ((s3_ok == 1)); then
    conformance_configs+=("${conformance_cluster_stage}|--object-store s3 --s3-endpoint ${STREAMS_TEST_S3_ENDPOINT} --s3-region ${STREAMS_TEST_S3_REGION} --s3-bucket conformance-cluster-$(date +%s)-$$|3")
elif ((s3_waived == 1)); then
    record_stage "${conformance_cluster_stage}" "SKIPPED" "STREAMS_TEST_NO_S3=1: a cluster needs the S3 test server"
else
    record_stage "${conformance_cluster_stage}" "FAIL" "the S3 test server is not available"
fi
readonly conformance_configs

run_conformance_stage() {
    local name="$1" server_args="$2" cluster_nodes="${3:-1}"
    local stage_log="${log_dir}/${name}.log"
    banner "${name} (official suite${server_args:+, server args: ${server_args}}$( ((cluster_nodes > 1)) && echo ", ${cluster_nodes}-node cluster"))"
    if ((build_ok == 0)); then
        record_stage "${name}" "NOT RUN" "the build failed"
        return
    fi
    local status=0
    # Every stage runs the opt-in subscription tests too (their webhook receiver is on loopback);
    # the cluster stage has an allow-list of its own, expected-failures-cluster.txt.
    local subscriptions=1 expected_failures="tests/Conformance/expected-failures.txt"
    if ((cluster_nodes > 1)); then
        expected_failures="tests/Conformance/expected-failures-cluster.txt"
    fi
    CONFORMANCE_SUBSCRIPTIONS="${subscriptions}" CONFORMANCE_EXPECTED_FAILURES="${repo_root}/${expected_failures}" \
        STREAMS_SKIP_BUILD=1 STREAMS_SERVER_ARGS="--allow-private-webhooks${server_args:+ ${server_args}}" STREAMS_CLUSTER_NODES="${cluster_nodes}" \
        bash tests/Conformance/run.sh < /dev/null 2>&1 | tee "${stage_log}" || status=$?

    local counts_line
    counts_line="$(strip_colours < "${stage_log}" \
        | grep -E '^conformance: [0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' | tail -n 1 || true)"
    if [[ -z "${counts_line}" ]]; then
        record_stage "${name}" "FAIL" "no result line (run.sh exit status ${status}; see its output above)"
        return
    fi
    local passed failed skipped
    passed="$(sed -E 's/^conformance: ([0-9]+) passed.*/\1/' <<< "${counts_line}")"
    failed="$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<< "${counts_line}")"
    skipped=0
    if [[ "${counts_line}" == *skipped ]]; then
        skipped="$(sed -E 's/.* ([0-9]+) skipped$/\1/' <<< "${counts_line}")"
    fi
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    total_skipped=$((total_skipped + skipped))
    local counts="${passed} passed, ${failed} failed, ${skipped} skipped"
    if ((status == 0)); then
        if ((failed > 0)); then
            record_stage "${name}" "PASS" "${counts} (every failure is allow-listed)"
        else
            record_stage "${name}" "PASS" "${counts}"
        fi
    else
        record_stage "${name}" "FAIL" "${counts} (run.sh exit status ${status})" "${failed}"
    fi
}

for config in "${conformance_configs[@]}"; do
    IFS='|' read -r config_name config_args config_nodes <<< "${config}"
    run_conformance_stage "${config_name}" "${config_args}" "${config_nodes:-1}"
done

# ---- 4b. the official TypeScript client with api-key auth ----------------------------------
run_client_auth_stage() {
    local name="client-auth" stage_log="${log_dir}/client-auth.log"
    banner "${name} (@durable-streams/client with a key in a custom header)"
    if ((build_ok == 0)); then
        record_stage "${name}" "NOT RUN" "the build failed"
        return
    fi
    local status=0
    bash tests/Conformance/client-auth.sh < /dev/null 2>&1 | tee "${stage_log}" || status=$?
    local counts_line passed failed
    counts_line="$(strip_colours < "${stage_log}" | grep -E '^client-auth: [0-9]+ passed, [0-9]+ failed$' | tail -n 1 || true)"
    if [[ -z "${counts_line}" ]]; then
        record_stage "${name}" "FAIL" "no result line (client-auth.sh exit status ${status})"
        return
    fi
    passed="$(sed -E 's/^client-auth: ([0-9]+) passed.*/\1/' <<< "${counts_line}")"
    failed="$(sed -E 's/.* ([0-9]+) failed$/\1/' <<< "${counts_line}")"
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    if ((status == 0 && failed == 0)); then
        record_stage "${name}" "PASS" "${passed} passed, 0 failed"
    else
        record_stage "${name}" "FAIL" "${passed} passed, ${failed} failed (exit status ${status})" "${failed}"
    fi
}
run_client_auth_stage

# ---- 5. summary ---------------------------------------------------------------------------
# Stopped here rather than only in the exit trap, so that the closing line is the last line.
stop_s3
banner "summary"
for i in "${!stage_names[@]}"; do
    printf '%-19s %-9s %s\n' "${stage_names[$i]}" "${stage_results[$i]}" "${stage_details[$i]}"
done
for names in "${failed_test_names[@]}"; do
    if [[ -n "${names}" ]]; then
        printf 'failed tests:\n%s\n' "${names}"
    fi
done
if ((any_stage_failed == 1)); then
    echo "test.sh: FAILED (at least one stage failed)"
else
    echo "test.sh: all stages passed"
fi
closing="${total_passed} passed, ${total_failed} failed"
if ((total_skipped > 0)); then
    closing+=", ${total_skipped} skipped"
fi
echo "${closing}"
exit "${any_stage_failed}"
