#!/usr/bin/env bash
# make bench: every benchmark, against the real services. Each benchmark
# reports its own figures beside a baseline measured in the same run (these
# machines are noisy), as ratios; nothing here is compared with a fixed time.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
trap stop_services EXIT
ensure_postgres
ensure_minio
# The timeline benchmarks build 1,000,000-event timelines, which takes longer
# than go test's default 10 minutes per package on a small machine.
go test -run '^$' -bench . -benchmem -count=1 -timeout "${BENCH_TIMEOUT:-60m}" ${BENCH_FLAGS:-} ./...
# The HTTP load run against a real bevis serve, on SQLite and PostgreSQL.
scripts/load.sh
# Scrolling the timeline of a 1,000,000-event case in headless Chromium, beside
# a 1,000-event one (frontend/e2e/bench/timeline-scroll.bench.test.ts); it
# needs the binary with the built SPA embedded.
make build
(cd frontend && BEVIS_BIN="$PWD/../bin/bevis" npm run --silent bench:browser)
