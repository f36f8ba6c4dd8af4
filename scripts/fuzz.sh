#!/usr/bin/env bash
# Runs every `go test -fuzz` target in the module for FUZZTIME each
# (default 10s). Usage: scripts/fuzz.sh [FUZZTIME]   e.g. scripts/fuzz.sh 2h
# To fuzz one target for hours: go test -run '^$' -fuzz '^FuzzName$' -fuzztime 2h ./pkg
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${1:-${FUZZTIME:-10s}}"
status=0
while IFS= read -r line; do
	file="${line%%:*}"
	name="$(sed -E 's/^.*func (Fuzz[A-Za-z0-9_]*)\(.*/\1/' <<<"$line")"
	pkg="./$(dirname "$file")"
	echo "=== fuzz $pkg $name ($fuzztime)"
	if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | tail -5; then
		status=1
	fi
done < <(grep -rEn --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' . | grep -v '/testdata/' | sort)
exit $status
