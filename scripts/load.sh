#!/usr/bin/env bash
# The HTTP load run of make bench: a real bevis serve on SQLite, then on
# PostgreSQL, driven by scripts/loadgen (keep-alive, N in flight,
# nearest-rank percentiles). Sizes come from LOAD_* variables; the defaults
# are the figures of issue 17 (20,000 cases, 64 MiB uploads). For a quick
# look on a shared machine (BEVIS_BIN runs another build, say of main):
#   LOAD_FLAGS='-open 300 -small 1000 -large 3000 -events 300 -uploads 2 -upload-mib 16' scripts/load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_postgres
bevis="${BEVIS_BIN:-bin/bevis}" # another build (say, of main) to compare with
if [[ -z "${BEVIS_BIN:-}" ]]; then go build -o bin/bevis ./cmd/bevis; fi
go build -o bin/loadgen ./scripts/loadgen
pg_admin="${BEVIS_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
work="$(mktemp -d)"
server=""
pgdb=""
cleanup() {
	if [[ -n "$server" ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
	if [[ -n "$pgdb" ]]; then psql -q "$pg_admin" -c "DROP DATABASE IF EXISTS $pgdb" >/dev/null 2>&1 || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

for dialect in ${LOAD_DIALECTS:-sqlite postgres}; do
	data="$work/$dialect"
	mkdir -p "$data"
	unset BEVIS_DATABASE_URL
	if [[ "$dialect" == postgres ]]; then
		pgdb="bevis_load_$$"
		psql -q "$pg_admin" -c "CREATE DATABASE $pgdb" >/dev/null
		export BEVIS_DATABASE_URL="${pg_admin/\/postgres\?//$pgdb?}"
	fi
	printf 'an admin passphrase for the load run\n' >"$work/admin-pw"
	printf 'a coordinator passphrase for the load run\n' >"$work/user-pw"
	"$bevis" admin bootstrap --data-dir "$data" --email admin@load.example --name 'Load Admin' \
		--agency-code NCSC --agency-name 'Coordination Centre' --agency-kind cert --password-file "$work/admin-pw" >/dev/null
	"$bevis" admin create-user --data-dir "$data" --email coordinator@load.example --name 'Load Coordinator' \
		--agency-code NCSC --password-file "$work/user-pw" >/dev/null
	port="$(free_port)"
	BEVIS_LOG_LEVEL=error "$bevis" serve --listen "127.0.0.1:$port" --data-dir "$data" >"$work/$dialect.log" 2>&1 &
	server=$!
	for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && break; sleep 0.2; done
	echo "== load on $dialect"
	bin/loadgen -base "http://127.0.0.1:$port" -email coordinator@load.example -password-file "$work/user-pw" ${LOAD_FLAGS:-}
	kill "$server"; wait "$server" 2>/dev/null || true
	server=""
	if [[ -n "$pgdb" ]]; then psql -q "$pg_admin" -c "DROP DATABASE IF EXISTS $pgdb" >/dev/null; pgdb=""; fi
done
