# Load tests through the mesh and the macro benchmarks (issue 8): make loadtest / loadtest-journey / bench.
# They need a running mesh (make up). Bounded runs on loopback only; knobs:
#   LOADTEST_DURATION (30s per scenario), LOADTEST_CONCURRENCY (20), LOADTEST_ORDERS (200),
#   LOADTEST_SCENARIOS (comma list, default all), JOURNEY_USERS (20), JOURNEY_DURATION (30s),
#   JOURNEY_THINK_MS (500), BENCH_ROUNDS (5), BENCH_SECONDS (3), BENCH_ORDER_SECONDS (5),
#   BENCH_STORED_ORDERS (50000), BENCH_STORED_USERS (10000), BENCH_ROUNDS_AT_50K (3), BENCH_WARMUP_SECONDS (20).
.PHONY: loadtest loadtest-journey loadtest-build bench bench-macro bench-istio bench-tracing

LOADTEST_OUT := .run/loadtest
GHZ_HTML := $(LOADTEST_OUT)/bin/ghz-html

# ghz-html renders ghz's own HTML page from its JSON report (one run, both outputs). Built from the
# ghz module that tools/setup.sh already fetched, so this is offline after setup.
$(GHZ_HTML): loadtest/ghz-html/main.go loadtest/ghz-html/go.mod
	@mkdir -p $(@D)
	cd loadtest/ghz-html && go build -o $(CURDIR)/$@ .

# The Go baseline of make bench (issue 17): a grpc-go echo built on gen/go.
GO_ECHO := $(LOADTEST_OUT)/bin/go-echo
$(GO_ECHO): bench/go-echo/main.go bench/go-echo/go.mod
	@mkdir -p $(@D)
	cd bench/go-echo && go build -o $(CURDIR)/$@ .

loadtest-build: build $(GHZ_HTML) $(GO_ECHO)
	tsc -b loadtest/tsconfig.json

loadtest: setup loadtest-build ## ghz scenarios through the edge: table, HTML per scenario and summary.json in .run/loadtest/
	@node loadtest/dist/loadtest.js

loadtest-journey: setup loadtest-build ## Virtual users log in, browse, add to cart and check out: orders/s and per-step latency
	@node loadtest/dist/journey.js

bench: setup ## Benchmarks (never fail on a figure): bench-mesh, bench-istio, bench-tracing, then the macro rounds; bench/results/*.json and bench/RESULTS.md
	@$(MAKE) --no-print-directory bench-mesh || echo "bench: bench-mesh failed; RESULTS.md will say so"
	@$(MAKE) --no-print-directory bench-istio || echo "bench: bench-istio failed; RESULTS.md will say so"
	@$(MAKE) --no-print-directory bench-tracing || echo "bench: bench-tracing failed; RESULTS.md will say so"
	@$(MAKE) --no-print-directory bench-macro

# The same GetProduct and PlaceOrder load through the local mesh and through Istio's gateway and
# sidecars, one after the other in one run (knobs BENCH_ISTIO_RPS, _SECONDS, _USERS, _THINK_MS).
# Needs the local mesh running; brings up MESH=istio in its place, then the local mesh again.
bench-istio: loadtest-build setup-istio-mesh .bin/yaml2json ## Local mesh vs Istio data plane, side by side: added latency and CPU per sidecar, bench/results/istio.json
	@node loadtest/dist/macro/istio-bench.js

bench-macro: loadtest-build
	@node loadtest/dist/macro/macro-bench.js

# The cost of tracing: the same GetProduct and PlaceOrder load through make up OBSERVE=1 with
# tracing off, at 10% and at 100% sampling, restarted for each (knobs BENCH_TRACING_SECONDS,
# _ROUNDS, _USERS). Leaves the local mesh running, without OBSERVE.
bench-tracing: loadtest-build setup-observe ## Tracing off vs 10% vs 100% sampling, side by side: bench/results/tracing.json
	@node loadtest/dist/macro/tracing-bench.js
