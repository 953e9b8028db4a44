# assist — run 'make help' for the targets.

# Go 1.27.3, fetched by the go command from the module proxy (about 76 MB,
# once): the standard library of 1.26 has reachable vulnerabilities.
export GOTOOLCHAIN := go1.27.3
GO        ?= go
BIN       := bin/assist
FUZZTIME  ?= 5s
# Debian packages the tests need (installed by scripts/deps.sh when root).
TEST_DEBS := xvfb chromium iproute2 iptables xdg-utils dbus-daemon dunst libnotify-bin xclip xterm x11-apps wine wine64 gcc-mingw-w64-x86-64 sway swaybg wev redis-server
DEMO_DEBS := xvfb xterm x11-apps
GOLANGCI  := github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
# The vulnerability database is built from this module's reports.
VULNDB      := golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018
GOVULNCHECK := golang.org/x/vuln/cmd/govulncheck@v1.9.0

.PHONY: help build install test test-unit cross release fuzz lint bench demo deps clean

PREFIX ?= $(HOME)/.local

help: ## show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

build: ## build bin/assist
	$(GO) build -trimpath -buildvcs=auto -o $(BIN) ./cmd/assist

install: build ## install bin/assist to $(PREFIX)/bin and register it for assist:// links
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/assist
	./scripts/install-url-handler.sh $(PREFIX) $(DESTDIR)

deps: ## install the Debian packages the tests need (as root)
	@./scripts/deps.sh $(TEST_DEBS)

test: deps cross ## run every test (unit under the race detector, end-to-end) and a short fuzz of every decoder
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m $$($(GO) list ./... | grep -v /e2e)
	$(GO) test -count=1 -timeout 20m ./e2e/
	$(GO) test -count=1 -run '^TestStalledStreams' ./rendezvous/ # skipped under -race above
	$(GO) test -count=1 -run '^TestTheSenderAllocatesNothingPerFrame$$' ./screen/ # skipped under -race above
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

cross: ## check that assist builds for Windows and macOS (no cgo)
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64 $(GO) build -o /dev/null ./cmd/assist
	CGO_ENABLED=0 GOOS=darwin GOARCH=arm64 $(GO) build -o /dev/null ./cmd/assist

release: ## cross-compile linux, windows and darwin (amd64 and arm64) into dist/ with SHA-256 sums
	GO=$(GO) ./scripts/release.sh

fuzz: ## fuzz every decoder longer (FUZZTIME=1m make fuzz)
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

lint: ## gofmt, go vet, golangci-lint and govulncheck (against a local vulnerability database)
	@test -z "$$(gofmt -l .)" || { gofmt -l .; echo "run gofmt -w"; exit 1; }
	$(GO) vet ./...
	$(GO) run $(GOLANGCI) run ./...
	VULNDB=$(VULNDB) GOVULNCHECK=$(GOVULNCHECK) ./scripts/vulncheck.sh

bench: ## benchmarks: lookups/s, pairing, 1080p capture (X11, sway, Wine)/encode, bytes per update, latency, alert delivery
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./rendezvous/ ./pairing/ ./screen/
	$(GO) test -run '^$$' -bench 'Capture(X11|Sway|Wine)|StillWine' -benchtime 100x ./desktop/
	$(GO) test -run '^$$' -bench AlertLatency -benchtime 20x -timeout 15m ./gossip/

demo: build ## the main job: rendezvous, a customer sharing a virtual screen, a rep joining
	@./scripts/deps.sh $(DEMO_DEBS)
	./scripts/demo.sh

clean: ## remove build output
	rm -rf bin dist
