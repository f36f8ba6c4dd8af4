#!/usr/bin/env bash
# Runs every `go test -fuzz` target in the module for FUZZTIME each
# (default 10s). Usage: scripts/fuzz.sh [FUZZTIME]   e.g. scripts/fuzz.sh 2h
# To fuzz one target for hours: go test -run '^$' -fuzz '^FuzzName$' -fuzztime 2h ./pkg
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${1:-${FUZZTIME:-10s}}"
status=0
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
while IFS= read -r line; do
	file="${line%%:*}"
	name="$(sed -E 's/^.*func (Fuzz[A-Za-z0-9_]*)\(.*/\1/' <<<"$line")"
	pkg="./$(dirname "$file")"
	echo "=== fuzz $pkg $name ($fuzztime)"
	if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg" >"$out" 2>&1; then
		tail -5 "$out"
		continue
	fi
	tail -5 "$out"
	# Go before 1.27 can fail a run whose -fuzztime deadline expires while a
	# worker is busy, printing only "context deadline exceeded" and writing
	# no input (go.dev/issue/75804). That is not a finding: say so and
	# go on. A real failure names the input it wrote.
	if grep -q 'context deadline exceeded' "$out" && ! grep -q 'Failing input written to' "$out"; then
		echo "=== $name: spurious 'context deadline exceeded' at the -fuzztime deadline (go.dev/issue/75804); no input was written, not counted as a failure"
		continue
	fi
	status=1
done < <(grep -rEn --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' . | grep -v '/testdata/' | sort)
exit $status
