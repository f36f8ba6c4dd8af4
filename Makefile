# Gregor build entry points. `make test` is the README's test command.
GO ?= go

.PHONY: build test unit vet fuzz bench suite suite-quick deps run-broker clean

build:
	mkdir -p bin && $(GO) build -o bin/ ./cmd/...

test:
	scripts/test.sh

unit:
	$(GO) test -race -tags invariants ./...

vet:
	$(GO) vet ./...

# FUZZTIME=2h make fuzz fuzzes every target for two hours each.
fuzz:
	scripts/fuzz.sh $(or $(FUZZTIME),10s)

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2x ./...

# The benchmark suite behind PERFORMANCE.md (root; loopback only; see benchmarks/README.md).
suite:
	$(GO) run ./benchmarks/suite -out benchmarks/results/$$(date -u +%F)

suite-quick:
	$(GO) run ./benchmarks/suite -quick -out benchmarks/results/$$(date -u +%F)

deps:
	scripts/deps.sh

clean:
	rm -rf bin
