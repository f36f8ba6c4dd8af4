#!/usr/bin/env bash
# The whole test suite: formatting, vet, every binary, unit and integration
# tests under the race detector with invariant checks on, then every fuzz
# target briefly. External tools the tests drive are installed first; in CI
# (CI=true) no test may skip for a missing tool.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh

echo "=== gofmt"
unformatted="$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"
if [ -n "$unformatted" ]; then
	echo "gofmt needed on:" >&2
	echo "$unformatted" >&2
	exit 1
fi

echo "=== go vet"
go vet ./...

echo "=== go build ./cmd/..."
mkdir -p bin
if [ -d cmd ] && [ -n "$(go list ./cmd/... 2>/dev/null)" ]; then
	go build -o bin/ ./cmd/...
fi

echo "=== go test -race -tags invariants"
go test -race -tags invariants -timeout 30m -count 1 ./...

echo "=== fuzz (${FUZZTIME:-10s} each)"
scripts/fuzz.sh "${FUZZTIME:-10s}"
