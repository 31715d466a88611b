#!/usr/bin/env bash
# Starts and stops the throwaway MinIO server the S3 tests run against.
#
#   scripts/minio.sh start   start one (or reuse the one this script started)
#   scripts/minio.sh stop    stop it and delete its data; safe to repeat
#
# It listens on 127.0.0.1 only, with the credentials internal/testenv expects
# by default. Environment (all optional):
#   BEVIS_TEST_S3_PORT        S3 API port (default 9100; the console gets port+1)
#   BEVIS_TEST_S3_ACCESS_KEY  root user (default bevis-test)
#   BEVIS_TEST_S3_SECRET_KEY  root password (default bevis-test-secret)
#   BEVIS_TEST_STATE_DIR      where the PID, data dir path and log live
#                             (default /tmp/bevis-test-minio)
#   MINIO_BIN                 the minio binary to use (default: found or installed)
set -euo pipefail

readonly MINIO_MODULE=github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c
readonly PORT="${BEVIS_TEST_S3_PORT:-9100}"
readonly STATE_DIR="${BEVIS_TEST_STATE_DIR:-/tmp/bevis-test-minio}"
readonly PID_FILE="$STATE_DIR/pid"
readonly DATA_FILE="$STATE_DIR/datadir"
readonly LOG_FILE="$STATE_DIR/minio.log"
readonly HEALTH_URL="http://127.0.0.1:${PORT}/minio/health/live"

log() { echo "minio.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# running succeeds when the PID file names a live minio process.
running() {
	[[ -f "$PID_FILE" ]] || return 1
	local pid
	pid="$(cat "$PID_FILE")"
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	# Guard against a recycled PID: only ever signal a minio process.
	[[ "$(ps -o comm= -p "$pid" 2>/dev/null)" == minio* ]]
}

healthy() { curl -fsS -o /dev/null --max-time 2 "$HEALTH_URL" 2>/dev/null; }

find_minio() {
	if [[ -n "${MINIO_BIN:-}" ]]; then
		[[ -x "$MINIO_BIN" ]] || die "MINIO_BIN=$MINIO_BIN is not executable"
		echo "$MINIO_BIN"
		return
	fi
	if command -v minio >/dev/null 2>&1; then
		command -v minio
		return
	fi
	local gobin
	gobin="$(go env GOBIN)"
	[[ -n "$gobin" ]] || gobin="$(go env GOPATH)/bin"
	if [[ ! -x "$gobin/minio" ]]; then
		log "minio not found; installing $MINIO_MODULE (about 8 minutes the first time)..."
		go install "$MINIO_MODULE" >&2
	fi
	echo "$gobin/minio"
}

start() {
	if running; then
		if healthy; then
			log "reusing MinIO (pid $(cat "$PID_FILE")) on 127.0.0.1:$PORT"
			return
		fi
		log "MinIO (pid $(cat "$PID_FILE")) is running but not healthy; restarting it"
	fi
	stop # the unhealthy one, or what a crashed one left behind
	if healthy; then
		die "something not started by this script already answers on 127.0.0.1:$PORT; stop it or set BEVIS_TEST_S3_PORT"
	fi

	local bin datadir pid
	bin="$(find_minio)"
	mkdir -p "$STATE_DIR"
	datadir="$(mktemp -d "${TMPDIR:-/tmp}/bevis-minio-data.XXXXXX")"
	echo "$datadir" >"$DATA_FILE"

	# MINIO_UPDATE/CALLHOME off: no phoning home; BROWSER off: no console UI.
	MINIO_ROOT_USER="${BEVIS_TEST_S3_ACCESS_KEY:-bevis-test}" \
		MINIO_ROOT_PASSWORD="${BEVIS_TEST_S3_SECRET_KEY:-bevis-test-secret}" \
		MINIO_BROWSER=off \
		MINIO_UPDATE=off \
		MINIO_CALLHOME_ENABLE=off \
		nohup "$bin" server --quiet \
		--address "127.0.0.1:${PORT}" \
		--console-address "127.0.0.1:$((PORT + 1))" \
		"$datadir" >"$LOG_FILE" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$PID_FILE"

	local i
	for ((i = 0; i < 120; i++)); do
		if healthy; then
			log "MinIO (pid $pid) ready on 127.0.0.1:$PORT, data in $datadir"
			return
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			break
		fi
		sleep 0.5
	done
	log "MinIO did not become healthy at $HEALTH_URL within 60 s; last log lines:"
	tail -n 30 "$LOG_FILE" >&2 || true
	stop
	exit 1
}

stop() {
	if [[ -f "$PID_FILE" ]]; then
		local pid
		pid="$(cat "$PID_FILE")"
		if running; then
			kill -TERM "$pid" 2>/dev/null || true
			local i
			for ((i = 0; i < 20; i++)); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.25
			done
			if kill -0 "$pid" 2>/dev/null; then
				log "MinIO (pid $pid) ignored TERM; killing it"
				kill -KILL "$pid" 2>/dev/null || true
			fi
		fi
		rm -f "$PID_FILE"
	fi
	if [[ -f "$DATA_FILE" ]]; then
		local datadir
		datadir="$(cat "$DATA_FILE")"
		# Only ever delete a directory this script created.
		if [[ "$datadir" == */bevis-minio-data.* && -d "$datadir" ]]; then
			rm -rf -- "$datadir"
		fi
		rm -f "$DATA_FILE"
	fi
	rm -f "$LOG_FILE"
	rmdir "$STATE_DIR" 2>/dev/null || true
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*)
	echo "usage: $0 start|stop" >&2
	exit 2
	;;
esac
