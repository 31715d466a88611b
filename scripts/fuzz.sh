#!/usr/bin/env bash
# Runs every fuzz target for a bounded time each (FUZZ_TIME, default 3s):
# the parsers and verifiers that meet files and headers from anywhere.
# New inputs that fail are written under the package's testdata/fuzz and
# then replayed by every go test run. One worker each (FUZZ_WORKERS): make
# test runs them beside the Go tests, whose cores they would otherwise take.
set -euo pipefail
cd "$(dirname "$0")/.."
time="${FUZZ_TIME:-3s}"
# package target... (a line each)
targets=(
	"./api FuzzByteRange FuzzTusHeaders"
	"./cases FuzzPlasoReaders FuzzCursors"
	"./audit FuzzVerifyExport FuzzAuditCursor"
	"./evidence FuzzVerifyManifest FuzzResumeMultiHasher FuzzOpenSealed"
)
for line in "${targets[@]}"; do
	read -r pkg names <<<"$line"
	for name in $names; do
		echo "fuzz: $pkg $name for $time"
		go test -run '^$' -fuzz "^${name}\$" -fuzztime "$time" -parallel "${FUZZ_WORKERS:-1}" -timeout 5m "$pkg" >/tmp/bevis-fuzz.log 2>&1 || {
			cat /tmp/bevis-fuzz.log
			exit 1
		}
	done
done
# Every fuzz target must be listed above.
listed="$(printf '%s\n' "${targets[@]}" | tr ' ' '\n' | grep '^Fuzz' | sort)"
found="$(git grep -h -oE '^func (Fuzz[A-Za-z0-9]+)' -- '*_test.go' | sed 's/^func //' | sort)"
if [[ "$listed" != "$found" ]]; then
	echo "fuzz: scripts/fuzz.sh does not list every fuzz target:"; diff <(echo "$listed") <(echo "$found"); exit 1
fi
