# walkie: serverless peer-to-peer apps in Go. `make help` lists the targets.

GO        ?= go
BIN       := bin
FUZZTIME  ?= 20s
BENCHTIME ?= 1s
SIM_SIZES ?= 1000,10000
STATICCHECK_VERSION := v0.8.2
GOBIN     := $(shell $(GO) env GOPATH)/bin

.PHONY: help build test fuzz bench demo lint e2e measure sim android clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

build: ## build bin/walkie (the node) and bin/walkie-demo
	$(GO) build -o $(BIN)/walkie ./cmd/node
	$(GO) build -o $(BIN)/walkie-demo ./cmd/demo

android: ## cross-compile bin/walkie for android/arm64 and static linux/arm64 and linux/arm (Termux, APK jniLibs)
	CGO_ENABLED=0 GOOS=android GOARCH=arm64 $(GO) build -trimpath -o $(BIN)/walkie-android-arm64 ./cmd/node
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -o $(BIN)/walkie-linux-arm64 ./cmd/node
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) build -trimpath -o $(BIN)/walkie-linux-arm ./cmd/node

test: ## unit, protocol and loopback end-to-end tests, race detector on
	$(GO) test -race -shuffle=on -timeout 15m ./...

fuzz: ## run every fuzz target for FUZZTIME each (default 20s)
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; \
	    $(GO) test $$pkg -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME); \
	  done; \
	done

bench: ## benchmarks with allocations (record results in docs/performance.md)
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./proto ./core/...

demo: build ## a bootstrap and four nodes on 127.0.0.x find each other
	$(BIN)/walkie-demo -nodes 4

measure: build ## time to first peer over 20 starts; RSS with 256 peers; a 30 s flood
	$(GO) test -tags measure -run 'TestMedianFirstPeer|TestRSSWith256Peers' -v -count=1 ./e2e/loopback
	WALKIE_FLOOD_SECONDS=30 $(GO) test -run TestFlood -v -count=1 ./e2e/flood

sim: ## simulate networks of SIM_SIZES nodes (default 1000,10000) with a realistic NAT mix
	WALKIE_SIM_SIZES=$(SIM_SIZES) $(GO) test -tags sim -run TestSimulation -count=1 -v -timeout 2h ./core | grep -v '^[=-]\{3\}'

lint: ## gofmt, go vet and staticcheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet ./...
	@test -x $(GOBIN)/staticcheck || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(GOBIN)/staticcheck ./...

clean: ## remove build output
	rm -rf $(BIN) testout
