# Sourced by the test and bench scripts: makes sure PostgreSQL and MinIO
# are up, starting (and later stopping) only what this run started itself.

# ensure_postgres starts the machine's PostgreSQL cluster when it is down.
ensure_postgres() {
	local url="${BEVIS_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
	if pg_isready -q -d "$url" 2>/dev/null; then return 0; fi
	if command -v pg_ctlcluster >/dev/null && [[ -d /etc/postgresql ]]; then
		echo "services: starting PostgreSQL" >&2
		pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
		for _ in $(seq 30); do pg_isready -q -d "$url" && return 0; sleep 1; done
	fi
	echo "services: PostgreSQL is not reachable at $url" >&2
	[[ "${CI:-}" != "true" ]] # only a failure under CI; locally the tests skip loudly
}

# ensure_minio starts the test MinIO unless one is already up; the EXIT trap
# stops it again only when this run started it.
MINIO_STARTED_HERE=""
ensure_minio() {
	local port="${BEVIS_TEST_S3_PORT:-9100}"
	if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:${port}/minio/health/live" 2>/dev/null; then
		return 0
	fi
	scripts/minio.sh start
	MINIO_STARTED_HERE=1
}

stop_services() {
	if [[ -n "$MINIO_STARTED_HERE" ]]; then scripts/minio.sh stop; fi
}
