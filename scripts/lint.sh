#!/usr/bin/env bash
# make lint: formatting, vet, golangci-lint (installed at its pinned version
# when absent), govulncheck when its database is reachable, and the
# frontend's type check.
set -euo pipefail
cd "$(dirname "$0")/.."
readonly GOLANGCI_VERSION=v2.15.0

unformatted="$(gofmt -l $(git ls-files '*.go'))"
if [[ -n "$unformatted" ]]; then
	echo "gofmt: these files need formatting:"; echo "$unformatted"; exit 1
fi

go vet ./...

golangci="$(command -v golangci-lint || echo "$(go env GOPATH)/bin/golangci-lint")"
if [[ ! -x "$golangci" ]] || ! "$golangci" version 2>/dev/null | grep -q "${GOLANGCI_VERSION#v}"; then
	echo "lint: installing golangci-lint $GOLANGCI_VERSION (a few minutes the first time)"
	go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$GOLANGCI_VERSION"
	golangci="$(go env GOPATH)/bin/golangci-lint"
fi
"$golangci" run ./...

# govulncheck needs vuln.go.dev, which some networks (this project's CI
# among them) cannot reach: then it says so instead of failing the lint.
if go run golang.org/x/vuln/cmd/govulncheck@latest ./... 2>/tmp/govulncheck.err; then
	:
elif grep -qiE "fetching vulnerabilities|dial tcp|no such host|connection refused|i/o timeout" /tmp/govulncheck.err; then
	echo "govulncheck: not run, its vulnerability database is unreachable from here"
else
	cat /tmp/govulncheck.err; exit 1
fi

# The SPA's API types are generated from the OpenAPI document and checked
# in: a document changed without regenerating them fails here.
if ! (cd frontend && npm run --silent api-types -- --check); then
	echo "frontend/src/api/schema.ts is stale: api/openapi.json changed. Run \`cd frontend && npm run api-types\` and commit it."
	exit 1
fi
(cd frontend && npx tsc --noEmit)
echo "lint: clean"
