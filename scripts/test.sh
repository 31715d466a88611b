#!/usr/bin/env bash
# make test: the Go suite under the race detector against real SQLite,
# PostgreSQL and MinIO, the fuzz targets briefly, and beside them the
# frontend unit tests and the browser test in Chromium against a real
# `bevis serve`. Stops what it started, also when a
# test fails. Under CI=true a missing service fails the run instead of
# skipping tests.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
trap stop_services EXIT

log="$(mktemp -t bevis-go-test.XXXXXX)"
# Each step says when it began, in seconds since the run did.
step() { printf '\n==> %s (at %ds)\n' "$*" "$SECONDS"; }

step "services"
ensure_postgres
ensure_minio
ensure_chromium

step "build (UI embedded)"
make --no-print-directory frontend/node_modules/.package-lock.json
make --no-print-directory build

# The frontend's unit tests and the browser test run beside the Go tests,
# which leave much of the two cores idle while they wait on databases.
step "frontend unit tests and browser test (in the background, reported at the end)"
uilog="$(mktemp -t bevis-ui-test.XXXXXX)"
(cd frontend && npm test --silent && BEVIS_BIN="$OLDPWD/bin/bevis" npm run e2e --silent) >"$uilog" 2>&1 &
uipid=$!
# So do the fuzz targets: what they cost is mostly compiling, which the idle
# core takes while the Go tests wait on databases.
step "fuzz targets, a few seconds each (in the background, reported at the end)"
fuzzlog="$(mktemp -t bevis-fuzz.XXXXXX)"
scripts/fuzz.sh >"$fuzzlog" 2>&1 &
fuzzpid=$!
gotmp=""
trap 'for p in "$uipid" "$fuzzpid"; do pkill -TERM -P "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done; [[ -z "$gotmp" ]] || rm -rf "$gotmp"; stop_services' EXIT

step "go test -race ./..."
status=0
# The tests' temporary folders (SQLite databases, evidence folders) go on
# tmpfs when the machine has one: the tests stop Bevis, never the machine,
# so waiting for the disk on every commit would prove nothing and cost minutes.
if [[ -d /dev/shm && -w /dev/shm ]]; then
	gotmp="$(mktemp -d /dev/shm/bevis-go-test.XXXXXX)"
fi
# The race detector also turns on checkptr, which checks every unsafe
# pointer conversion against Go's rules; in the SQLite engine, C translated
# to Go that does pointer arithmetic on its own heap on every statement,
# it took a quarter of the SQLite-bound packages' time and checked nothing
# of Bevis's (-d=checkptr=0 there only; races are still detected).
# -timeout is per package, a guard against a hang (api, the slowest, takes
# about 1.5 minutes alone). -parallel 4: the API tests, each on a world of
# its own, are parallel, and most of their time is spent waiting on a
# database, so four at a time on two cores keeps the cores busy.
TMPDIR="${gotmp:-${TMPDIR:-/tmp}}" go test -race -gcflags=modernc.org/...=-d=checkptr=0 -count=1 -parallel "${GO_TEST_PARALLEL:-4}" -timeout "${GO_TEST_TIMEOUT:-9m}" -v ./... >"$log" 2>&1 || status=$?
# Top-level results, so the log shows which suites ran on which services.
grep -E '^(--- (PASS|FAIL|SKIP)|ok |FAIL|panic:)' "$log" || true
skipped="$(grep -cE -- '--- SKIP' "$log" || true)"
if [[ "$skipped" -gt 0 ]]; then
	echo "SKIPPED tests (a service was missing):"
	grep -A1 -E -- '--- SKIP' "$log" | grep -E 'SKIPPED|--- SKIP' | sed 's/^/  /' | awk 'NR <= 40'
fi
if [[ "$status" -ne 0 ]]; then
	echo "go test failed; the failing tests' output:"
	grep -B2 -A25 -E -- '--- FAIL|^panic:' "$log" | awk 'NR <= 400'
	exit "$status"
fi
go_passed="$(grep -cE -- '--- PASS' "$log" || true)"
# Where the suite's time goes: its slowest tests, each with its package
# (go test prints a package's results, then its ok line; every test passed).
# The last awk reads all that sort writes: a head quitting after 15 lines
# left sort writing to a closed pipe, and under pipefail its SIGPIPE (141)
# failed a run whose tests had all passed.
echo "slowest tests:"
awk '/^--- PASS: / { gsub(/[()s]/, "", $4); t[n++] = $4 " " $3 }
	/^ok[ \t]/ { for (i = 0; i < n; i++) print t[i] " " $2; n = 0 }' "$log" |
	sort -rn | awk 'NR <= 15 { printf "  %7.1fs  %s  %s\n", $1, $3, $2 }'

step "fuzz targets"
fuzzstatus=0
wait "$fuzzpid" || fuzzstatus=$?
cat "$fuzzlog"
rm -f "$fuzzlog"
if [[ "$fuzzstatus" -ne 0 ]]; then
	echo "a fuzz target failed"
	exit "$fuzzstatus"
fi

step "frontend unit tests and browser test (Chromium, playwright-core)"
uistatus=0
wait "$uipid" || uistatus=$?
cat "$uilog"
rm -f "$uilog"
if [[ "$uistatus" -ne 0 ]]; then
	echo "the frontend's tests failed"
	exit "$uistatus"
fi

rm -f "$log"
echo
echo "go: ${go_passed} passed, 0 failed, ${skipped} skipped; make test took ${SECONDS}s"
