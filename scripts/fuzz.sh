#!/usr/bin/env bash
# Runs every fuzz target for a bounded number of inputs each, about three
# seconds' worth on a quiet machine (FUZZ_TIME, say 30s or 5000x, sets one
# budget for all): the parsers and verifiers that meet files and headers
# from anywhere. The budgets are counts, not durations: Go 1.26's fuzzing
# coordinator can fail a target with a bare "context deadline exceeded"
# when a duration ends while a worker is busy (go.dev/issue/75804, fixed in
# Go 1.27), which make test's loaded machine made happen. New inputs that
# fail are written under the package's testdata/fuzz and then replayed by
# every go test run. One worker each (FUZZ_WORKERS): make test runs them
# beside the Go tests, whose cores they would otherwise take.
set -euo pipefail
cd "$(dirname "$0")/.."
# Under a duration, three targets (FuzzVerifyExport, FuzzVerifyManifest,
# FuzzResumeMultiHasher) ran four to seven inputs in three seconds; counted,
# they run 1,500 to 2,200 a second like the others.
# package target:inputs... (a line each)
targets=(
	"./api FuzzByteRange:3000 FuzzTusHeaders:2500"
	"./cases FuzzPlasoReaders:5000 FuzzCursors:5000"
	"./audit FuzzVerifyExport:4000 FuzzAuditCursor:5000"
	"./evidence FuzzVerifyManifest:4000 FuzzResumeMultiHasher:4000 FuzzOpenSealed:6000"
)
for line in "${targets[@]}"; do
	read -r pkg specs <<<"$line"
	for spec in $specs; do
		name="${spec%%:*}"
		budget="${FUZZ_TIME:-${spec#*:}x}"
		echo "fuzz: $pkg $name for $budget"
		go test -run '^$' -fuzz "^${name}\$" -fuzztime "$budget" -parallel "${FUZZ_WORKERS:-1}" -timeout 5m "$pkg" >/tmp/bevis-fuzz.log 2>&1 || {
			cat /tmp/bevis-fuzz.log
			exit 1
		}
	done
done
# Every fuzz target must be listed above.
listed="$(printf '%s\n' "${targets[@]}" | tr ' ' '\n' | grep '^Fuzz' | cut -d: -f1 | sort)"
found="$(git grep -h -oE '^func (Fuzz[A-Za-z0-9]+)' -- '*_test.go' | sed 's/^func //' | sort)"
if [[ "$listed" != "$found" ]]; then
	echo "fuzz: scripts/fuzz.sh does not list every fuzz target:"; diff <(echo "$listed") <(echo "$found"); exit 1
fi
