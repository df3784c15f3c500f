# hornbeam-go: `make demo` runs the node with its demo hooks; `make test` runs every test.
# Both install what a fresh Debian machine lacks first (.ci/deps).

GO      ?= go
PYTHON  ?= /usr/bin/python3
# A count, not a duration: a duration -fuzztime can fail with a bare "context deadline exceeded" and no
# reproducer when its deadline races Go's fuzz coordinator (seen here once); a count has no deadline.
FUZZTIME ?= 600000x
# Where make demo's node lets Python processes attach: where hornbeam_erlang looks when HORNBEAM_SOCKET is unset.
PYTHON_SOCKET ?= $(or $(TMPDIR),/tmp)/hornbeam-$(shell id -u).sock

export HORNBEAM_PYTHON = $(PYTHON)

.PHONY: deps build demo test test-go test-race test-python test-erlang fuzz bench

deps:
	@bash .ci/deps

build:
	$(GO) build -o bin/hornbeam ./cmd/hornbeam

demo: deps build
	./bin/hornbeam --python-socket $(PYTHON_SOCKET)

test: deps build test-go test-race test-python test-erlang fuzz

test-go:
	$(GO) vet ./...
	$(GO) vet -tags hbtrace ./internal/steptrace/ ./internal/rawio/ ./node/ ./python/
	HORNBEAM_BIN=$(CURDIR)/bin/hornbeam $(GO) test -count=1 -timeout 20m ./...

test-race:
	$(GO) test -race -count=1 -timeout 10m ./etf/ ./hooks/

test-python: build
	cd python && HORNBEAM_BIN=$(CURDIR)/bin/hornbeam $(PYTHON) -m unittest discover -s tests -t .

test-erlang: build
	HORNBEAM_BIN=$(CURDIR)/bin/hornbeam bash erlang/run_tests.sh

fuzz:
	$(GO) test ./etf/ -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME)

bench:
	$(GO) test ./etf/ ./hooks/ -run '^$$' -bench . -benchmem
