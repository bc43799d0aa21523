#!/usr/bin/env bash
# A throw-away S3 server for integration tests: Ceph RGW (Debian packages) backed by a
# single monitor and one RAM-backed (memstore) OSD, all bound to 127.0.0.1.
#
#   scripts/s3-test-server.sh start   install packages if missing, start, write the env file
#   scripts/s3-test-server.sh stop    stop the daemons by the PIDs they recorded
#
# On success `start` prints the path of an env file holding STREAMS_TEST_S3_ENDPOINT,
# _ACCESS_KEY, _SECRET_KEY and _REGION. Load it before running the tests:
#
#   set -a; . "$(scripts/s3-test-server.sh start)"; set +a
#
# Settings (environment):
#   STREAMS_S3_BASE  working directory, wiped on start   (default /tmp/streams-s3-test)
#   RGW_PORT         S3 port                              (default 7480)
#   MON_PORT         Ceph monitor port                    (default 6789)
#   MEMSTORE_BYTES   OSD capacity, held in RAM            (default 1 GiB)
# Everything the daemons store is in RAM and disappears on stop. Must run as root.
set -Eeuo pipefail

readonly BASE=${STREAMS_S3_BASE:-/tmp/streams-s3-test}
readonly RGW_PORT=${RGW_PORT:-7480}
readonly MON_PORT=${MON_PORT:-6789}
readonly MEMSTORE_BYTES=${MEMSTORE_BYTES:-1073741824}
# Fixed, non-secret keys: this server only ever listens on loopback and holds test data.
readonly ACCESS_KEY=streams-test-access
readonly SECRET_KEY=streams-test-secret-0123456789
readonly REGION=us-east-1
readonly S3_USER=streams-test
# How long to wait for each daemon: polls every POLL_SECONDS up to the attempt count.
readonly POLL_SECONDS=0.5
readonly OSD_UP_ATTEMPTS=60
readonly RGW_UP_ATTEMPTS=120
readonly AUTH_ATTEMPTS=120
readonly OSD_START_TRIES=3
readonly STOP_GRACE_ATTEMPTS=50

readonly CONF=$BASE/ceph.conf
readonly RUN_DIR=$BASE/run
readonly LOG_DIR=$BASE/log
readonly ENV_FILE=$BASE/s3.env
readonly PID_FILES=("$RUN_DIR/client.rgw.pid" "$RUN_DIR/osd.0.pid" "$RUN_DIR/mon.a.pid")

say() { echo "s3-test-server: $*" >&2; }

# The base directory is deleted on every start; refuse anything that is not clearly scratch space.
case "$BASE" in
  /tmp/?*|/var/tmp/?*|/run/?*|/root/?*|/home/?*/?*) ;;
  *) say "refusing STREAMS_S3_BASE=$BASE: it is deleted on start, use a path under /tmp"; exit 2 ;;
esac

stop_daemons() {
  local pid_file pid
  for pid_file in "${PID_FILES[@]}"; do
    [ -f "$pid_file" ] || continue
    pid=$(cat "$pid_file")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 1 "$STOP_GRACE_ATTEMPTS"); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
    fi
    rm -f "$pid_file"
  done
}

fail() {
  trap - ERR
  say "FAILED: $*"
  say "logs are in $LOG_DIR"
  stop_daemons
  exit 1
}

install_packages_if_missing() {
  if command -v radosgw >/dev/null && command -v ceph-mon >/dev/null \
     && command -v ceph-osd >/dev/null && command -v curl >/dev/null; then
    return
  fi
  say "installing radosgw, ceph-mon, ceph-osd, ceph-common, curl (first run only)"
  apt-get update -qq >/dev/null || fail "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    radosgw ceph-mon ceph-osd ceph-common curl >/dev/null || fail "apt-get install failed"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

write_config() {
  local fsid=$1
  # auth=none and size-1 pools: a single-node, loopback-only cluster for tests.
  # msgr2 off and a v1 mon address keep the set-up to a single well-known port.
  cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$MON_PORT
public addr = 127.0.0.1
public network = 127.0.0.0/8
ms bind msgr2 = false
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
run dir = $RUN_DIR
pid file = $RUN_DIR/\$name.pid
admin socket = $RUN_DIR/\$name.asok
log file = $LOG_DIR/\$name.log
keyring = $BASE/keyring
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
# radosgw creates its pools one by one at start; proposing map changes every 100 ms
# instead of every second makes that several times faster.
paxos propose interval = 0.1
mon data avail warn = 1
mon data avail crit = 0
mon warn on insecure global id reclaim allowed = false
osd fast shutdown = true

[mon]
mon data = $BASE/mon/\$cluster-\$id
mon cluster log file = $LOG_DIR/cluster.log

[osd]
osd data = $BASE/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = $MEMSTORE_BYTES
osd memory target = 939524096
osd max object name len = 460
osd max object namespace len = 64
osd op num shards = 1
osd op num threads per shard = 2
# This script places the OSD in the CRUSH map itself; an OSD doing it at start-up can
# race the monmap when auth is off and exit with "wrong fsid".
osd crush update on start = false
osd class update on start = false

[client.rgw]
# tcp_nodelay: otherwise Nagle plus delayed ACKs add ~40 ms to small requests on a
# reused connection, which no real S3 service does and which would distort timings.
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw data = $BASE/rgw
rgw thread pool size = 64
rgw dns name = localhost
EOF
}

start_monitor() {
  local fsid=$1
  ceph-authtool --create-keyring "$BASE/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  monmaptool --create --fsid "$fsid" --addv a "[v1:127.0.0.1:$MON_PORT]" "$BASE/monmap" >/dev/null
  ceph-mon --mkfs -i a --monmap "$BASE/monmap" --keyring "$BASE/keyring" >>"$LOG_DIR/mon-mkfs.log" 2>&1 \
    || fail "ceph-mon --mkfs failed"
  ceph-mon -i a >>"$LOG_DIR/mon.a.stderr" 2>&1 || fail "ceph-mon did not start"
  say "monitor started"
}

# grep without -q reads all its input: with -q it may exit early, the writer then dies of
# SIGPIPE, and pipefail turns a match into a failure.
osd_is_up() { ceph osd dump 2>/dev/null | grep '^osd.0 up' >/dev/null; }

start_osd() {
  local uuid osd_id try
  uuid=$(cat /proc/sys/kernel/random/uuid)
  osd_id=$(ceph --connect-timeout 30 osd new "$uuid") || fail "could not register the OSD with the monitor"
  [ "$osd_id" = 0 ] || fail "expected OSD id 0, got $osd_id"
  ceph osd crush add osd.0 1.0 root=default host=localhost >/dev/null 2>&1
  ceph-osd -i 0 --mkfs --osd-uuid "$uuid" >>"$LOG_DIR/osd-mkfs.log" 2>&1 || fail "ceph-osd --mkfs failed"
  # The OSD occasionally exits during its first boot; a fresh start succeeds.
  local up=false
  for try in $(seq 1 "$OSD_START_TRIES"); do
    ceph-osd -i 0 >>"$LOG_DIR/osd.0.stderr" 2>&1 || true
    for _ in $(seq 1 "$OSD_UP_ATTEMPTS"); do
      if osd_is_up; then up=true; break; fi
      if [ -f "$RUN_DIR/osd.0.pid" ] && ! kill -0 "$(cat "$RUN_DIR/osd.0.pid")" 2>/dev/null; then break; fi
      sleep "$POLL_SECONDS"
    done
    if [ "$up" = true ]; then break; fi
    say "osd.0 not up after start $try of $OSD_START_TRIES"
    if [ -f "$RUN_DIR/osd.0.pid" ]; then kill "$(cat "$RUN_DIR/osd.0.pid")" 2>/dev/null || true; fi
    sleep 1
  done
  [ "$up" = true ] || fail "osd.0 did not come up (see $LOG_DIR/osd.0.log)"
  say "osd.0 up"
}

rgw_answers() { curl -s "http://127.0.0.1:$RGW_PORT/" 2>/dev/null | grep ListAllMyBucketsResult >/dev/null; }

start_gateway() {
  radosgw -n client.rgw >>"$LOG_DIR/rgw.stderr" 2>&1 || fail "radosgw did not start"
  local answering=false
  for _ in $(seq 1 "$RGW_UP_ATTEMPTS"); do
    if rgw_answers; then answering=true; break; fi
    if grep -q 'failed initializing frontend' "$LOG_DIR/client.rgw.log" 2>/dev/null; then
      fail "radosgw could not open 127.0.0.1:$RGW_PORT (see $LOG_DIR/client.rgw.log)"
    fi
    sleep "$POLL_SECONDS"
  done
  [ "$answering" = true ] && [ -f "$RUN_DIR/client.rgw.pid" ] \
    || fail "radosgw is not answering on 127.0.0.1:$RGW_PORT (see $LOG_DIR/client.rgw.log)"
  say "radosgw answering on 127.0.0.1:$RGW_PORT"
}

create_user_and_wait_for_auth() {
  local status=000
  radosgw-admin user create --uid="$S3_USER" --display-name="Streams tests" \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >"$BASE/user.json" 2>>"$LOG_DIR/radosgw-admin.log" \
    || fail "radosgw-admin user create failed"
  # A freshly created user takes a moment to be accepted; wait for a signed ListBuckets.
  # curl's --aws-sigv4 omits x-amz-content-sha256, which radosgw needs to verify the signature.
  for _ in $(seq 1 "$AUTH_ATTEMPTS"); do
    status=$(curl -s -o "$BASE/auth-probe.xml" -w '%{http_code}' \
      --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
      -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "http://127.0.0.1:$RGW_PORT/") || true
    if [ "$status" = 200 ] && grep -q "<ID>$S3_USER</ID>" "$BASE/auth-probe.xml"; then return; fi
    sleep "$POLL_SECONDS"
  done
  fail "the first authenticated S3 request did not succeed (last HTTP status $status)"
}

write_env_file() {
  cat >"$ENV_FILE" <<EOF
STREAMS_TEST_S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
STREAMS_TEST_S3_ACCESS_KEY=$ACCESS_KEY
STREAMS_TEST_S3_SECRET_KEY=$SECRET_KEY
STREAMS_TEST_S3_REGION=$REGION
EOF
}

start() {
  local started fsid
  started=$(date +%s)
  trap 'fail "command failed at line $LINENO: $BASH_COMMAND"' ERR
  [ "$(id -u)" = 0 ] || { say "must run as root (installs packages, starts Ceph daemons)"; exit 1; }

  install_packages_if_missing

  # A previous run of this script is replaced, never reused: its data would leak into tests.
  if [ -d "$RUN_DIR" ]; then stop_daemons; fi
  for port in "$MON_PORT" "$RGW_PORT"; do
    if port_in_use "$port"; then
      say "127.0.0.1:$port is already in use; set RGW_PORT / MON_PORT to free ports"
      exit 1
    fi
  done
  rm -rf "$BASE"
  mkdir -p "$RUN_DIR" "$LOG_DIR" "$BASE/mon/ceph-a" "$BASE/osd/ceph-0" "$BASE/rgw"
  fsid=$(cat /proc/sys/kernel/random/uuid)
  write_config "$fsid"
  export CEPH_CONF=$CONF

  start_monitor "$fsid"
  start_osd
  start_gateway
  create_user_and_wait_for_auth
  write_env_file
  trap - ERR
  say "ready in $(( $(date +%s) - started )) s; stop with: $0 stop"
  echo "$ENV_FILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop_daemons; rm -f "$ENV_FILE"; say "stopped" ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
