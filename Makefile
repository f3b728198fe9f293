# walkie: serverless peer-to-peer apps in Go. `make help` lists the targets.

GO        ?= go
BIN       := bin
FUZZTIME  ?= 20s
BENCHTIME ?= 1s
SIM_SIZES ?= 1000,10000
RATIO_PAIRS ?= 10
STATICCHECK_VERSION := v0.8.2
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
GOBIN     := $(shell $(GO) env GOPATH)/bin
PINGPY    := plugins/examples/pingpy
GRPC_PYTHON_PLUGIN ?= /usr/bin/grpc_python_plugin

.PHONY: proto help build test fuzz bench ratio demo lint e2e e2e-metrics natlab natlab-report natlab-phones measure sim android clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' \
	  '{ name[NR] = $$1; text[NR] = $$2; if (length($$1) > w) w = length($$1) } \
	   END { for (i = 1; i <= NR; i++) printf "  make %-" w "s  %s\n", name[i], text[i] }'

build: ## build bin/walkie (the node), bin/walkie-demo and bin/gameplugin (walkie -plugin bin/gameplugin)
	$(GO) build -o $(BIN)/walkie ./cmd/node
	$(GO) build -o $(BIN)/walkie-demo ./cmd/demo
	$(GO) build -o $(BIN)/gameplugin ./plugins/examples/gameplugin

android: ## cross-compile bin/walkie for android/arm64 and static linux/arm64 and linux/arm (Termux, APK jniLibs)
	CGO_ENABLED=0 GOOS=android GOARCH=arm64 $(GO) build -trimpath -o $(BIN)/walkie-android-arm64 ./cmd/node
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -o $(BIN)/walkie-linux-arm64 ./cmd/node
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) build -trimpath -o $(BIN)/walkie-linux-arm ./cmd/node

# Simulations of a whole fleet (hundreds of nodes for tens of virtual
# minutes) run without the race detector: its runtime failed an internal
# check on them in CI (ThreadSanitizer "CHECK failed: tsan_rtl.cpp:346"),
# with 1,000 and with 250 nodes. The fleet's concurrent code runs under it
# in the package's other tests (TestFleetOfThree and the collector's).
NORACE = ^(TestPhoneCost|TestThousandReporters)$$

test: ## unit, protocol and loopback end-to-end tests, race detector on
	$(GO) test -race -shuffle=on -timeout 15m -skip '$(NORACE)' ./...
	$(GO) test -count=1 -run '$(NORACE)' ./plugins/fleet

fuzz: ## run every fuzz target for FUZZTIME each (default 20s; a count such as 200000x avoids Go 1.26's deadline flake)
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

e2e: natlab e2e-metrics ## end-to-end tests through real kernel NATs, a real Prometheus and Chromium (root; the loopback ones run in make test)

e2e-metrics: build ## a real Prometheus scrapes three nodes; Chromium loads the page, chats and plays on it (apt-get install prometheus chromium)
	$(GO) test -tags e2e -count=1 -timeout 5m -v ./e2e/metrics

natlab: ## the NAT lab: namespaces, nftables NATs, NAT64, the real binary, arm64 under qemu (root; apt-get install nftables iproute2 iptables conntrack qemu-user-static tayga unbound)
	$(GO) test -tags natlab -count=1 -parallel 16 -timeout 10m -v ./e2e/natlab

natlab-report: ## measure the NAT pair matrix (5 runs a pair) and write it into docs/nat-traversal.md (root)
	NATLAB_WRITE_DOC=1 NATLAB_MATRIX_RUNS=5 $(GO) test -tags natlab -count=1 -parallel 16 -run TestMatrix -v ./e2e/natlab

natlab-phones: ## count a phone's datagrams and wake-ups per minute (1 min settling, 3 measured) and write them into docs/android.md (root)
	NATLAB_WRITE_DOC=1 NATLAB_PACKETS_FULL=1 $(GO) test -tags natlab -count=1 -parallel 16 -timeout 10m -run TestPacketsPerMinute -v ./e2e/natlab

ratio: ## the node's answers as a share of the batched UDP ceiling: RATIO_PAIRS alternating runs (default 10)
	WALKIE_RATIO_PAIRS=$(RATIO_PAIRS) $(GO) test -tags ratio -run TestUDPRatio -count=1 -v -timeout 30m ./core | grep -v '^[=-]\{3\}'

sim: ## simulate networks of SIM_SIZES nodes (default 1000,10000) with a realistic NAT mix
	WALKIE_SIM_SIZES=$(SIM_SIZES) $(GO) test -tags sim -run TestSimulation -count=1 -v -timeout 2h ./core | grep -v '^[=-]\{3\}'

lint: ## gofmt, go vet and staticcheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet ./...
	@test -x $(GOBIN)/staticcheck || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(GOBIN)/staticcheck ./...
	$(GO) vet -tags natlab ./e2e/natlab
	$(GOBIN)/staticcheck -tags natlab ./e2e/natlab
	$(GO) vet -tags e2e ./e2e/metrics
	$(GOBIN)/staticcheck -tags e2e ./e2e/metrics
	$(GO) vet -tags sim,ratio ./core
	$(GOBIN)/staticcheck -tags sim,ratio ./core
	$(GO) vet -tags measure ./e2e/loopback
	$(GOBIN)/staticcheck -tags measure ./e2e/loopback

proto: ## regenerate proto/pluginv1 and the Python plugin's stubs (apt-get install protobuf-compiler protobuf-compiler-grpc)
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	$(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	PATH="$(GOBIN):$$PATH" protoc --go_out=. --go_opt=paths=source_relative \
	  --go-grpc_out=. --go-grpc_opt=paths=source_relative proto/pluginv1/plugin.proto
	protoc -I proto/pluginv1 --python_out=$(PINGPY) --grpc_python_out=$(PINGPY) \
	  --plugin=protoc-gen-grpc_python=$(GRPC_PYTHON_PLUGIN) proto/pluginv1/plugin.proto
	protoc -I $(PINGPY) --python_out=$(PINGPY) --grpc_python_out=$(PINGPY) \
	  --plugin=protoc-gen-grpc_python=$(GRPC_PYTHON_PLUGIN) $(PINGPY)/health.proto

clean: ## remove build output
	rm -rf $(BIN) testout
