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

# ensure_chromium installs Debian's chromium for the browser test when it is
# missing and this run may (root on Debian); otherwise it says in one line
# what to install, which fails the run under CI and skips the browser test
# (loudly) elsewhere.
ensure_chromium() {
	local bin="${CHROMIUM_PATH:-/usr/bin/chromium}"
	if [[ -x "$bin" ]]; then return 0; fi
	if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
		echo "services: installing Debian's chromium for the browser test (a minute or two the first time)" >&2
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
		[[ -x "$bin" ]] && return 0
	fi
	echo "services: no Chromium at $bin: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH" >&2
	[[ "${CI:-}" != "true" ]]
}

stop_services() {
	if [[ -n "$MINIO_STARTED_HERE" ]]; then scripts/minio.sh stop; fi
}
