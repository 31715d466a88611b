# The README's two commands are `make run` and `make test`; the rest serve them.
GO      ?= go
BIN     := bin/bevis
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

UI_SOURCES := $(shell find frontend/src frontend/public -type f 2>/dev/null) \
	frontend/index.html frontend/vite.config.ts frontend/tsconfig.json frontend/package.json
UI_DEPS    := frontend/node_modules/.package-lock.json

.PHONY: run demo build ui test lint bench clean

## run: build the UI when its sources changed, build bevis, serve on 127.0.0.1:8080
run: build
	./$(BIN) serve

## demo: build a demo investigation in ./demo-data (once) and serve it on 127.0.0.1:8080
DEMO_DIR ?= ./demo-data
demo: build
	@test -e $(DEMO_DIR)/bevis.db || ./$(BIN) demo --data-dir $(DEMO_DIR)
	./$(BIN) serve --data-dir $(DEMO_DIR)

## build: the bevis binary with the built UI embedded
build: frontend/dist/index.html
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/bevis

## ui: build the single-page app into frontend/dist
ui: $(UI_DEPS)
	cd frontend && npm run build

frontend/dist/index.html: $(UI_SOURCES) $(UI_DEPS)
	cd frontend && npm run build

$(UI_DEPS): frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund

## test: the whole suite against real PostgreSQL, MinIO and Chromium
test:
	scripts/test.sh

## lint: gofmt, go vet, golangci-lint, govulncheck where it can reach its database, stale SPA API types, tsc
lint: $(UI_DEPS)
	scripts/lint.sh

## bench: benchmarks, each printed beside a baseline measured in the same run
bench:
	scripts/bench.sh

clean:
	rm -rf bin frontend/dist/assets frontend/dist/index.html frontend/dist/favicon.svg
