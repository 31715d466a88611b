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
go test -run '^$' -bench . -benchmem -count=1 ${BENCH_FLAGS:-} ./...
