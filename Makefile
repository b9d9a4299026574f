# Rookery build and test entry points.
#
#   make build   build ./rookery
#   make test    go vet, unit tests with -race, then a short run of every fuzz target
#   make fuzz    only the fuzz runs (FUZZTIME per target, default 50000x)
#   make fuzz-long  every fuzz target for FUZZLONG (default 10m) each, one after
#                the other, stopping at the first failure (the crasher stays in
#                the package's testdata/fuzz/<Target>/)
#   make bench   benchmarks
#
# Fuzz targets are discovered: every "func FuzzXxx(" at the start of a line
# in a *_test.go file below the repository root.

GO       ?= go
# A count rather than a duration: with a duration, Go 1.26's fuzz
# coordinator can fail a clean run with "context deadline exceeded" when the
# time runs out on a busy machine (golang/go#75804, fixed in Go 1.27).
FUZZTIME ?= 50000x
FUZZLONG ?= 10m
BENCH    ?= .
PKGS     ?= ./...

.PHONY: all build test vet unit fuzz fuzz-long fuzz-list bench clean

all: build

build:
	$(GO) build -o rookery ./cmd/rookery

test: vet unit fuzz

vet:
	$(GO) vet $(PKGS)

unit:
	$(GO) test -race -count=1 -timeout=25m $(PKGS)

# Prints "<package dir> <FuzzName>" per fuzz target.
fuzz-list:
	@grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(' . | sort | while read -r f; do \
		for t in $$(sed -n -E 's/^func (Fuzz[A-Za-z0-9_]*)\(.*/\1/p' "$$f"); do \
			echo "./$$(dirname "$${f#./}") $$t"; \
		done; \
	done

fuzz:
	@set -e; $(MAKE) --no-print-directory -s fuzz-list | while read -r dir t; do \
		echo "fuzz $$dir $$t ($(FUZZTIME))"; \
		$(GO) test -run='^$$' -fuzz='^'"$$t"'$$' -fuzztime=$(FUZZTIME) "$$dir" </dev/null || exit 1; \
	done

# A duration may end a clean run with "context deadline exceeded"
# (golang/go#75804, see FUZZTIME): such a failure that wrote no failing
# input counts as a pass.
fuzz-long:
	@set -e; log=$$(mktemp); trap 'rm -f "$$log"' EXIT; \
	$(MAKE) --no-print-directory -s fuzz-list | while read -r dir t; do \
		echo "fuzz $$dir $$t ($(FUZZLONG))"; \
		if ! $(GO) test -run='^$$' -fuzz='^'"$$t"'$$' -fuzztime=$(FUZZLONG) "$$dir" </dev/null >"$$log" 2>&1; then \
			if grep -q 'context deadline exceeded' "$$log" && ! grep -q 'Failing input written to' "$$log"; then \
				echo "  (deadline-exceeded end of a clean run: golang/go#75804)"; \
			else \
				cat "$$log"; exit 1; \
			fi; \
		fi; \
		tail -n 1 "$$log"; \
	done

bench:
	$(GO) test -run='^$$' -bench='$(BENCH)' -benchmem $(PKGS)

clean:
	rm -f rookery
