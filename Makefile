# shopmesh: make is the front door. `make up` runs the mesh, `make test` runs every test.
# Each area adds its own targets in mk/*.mk and appends its test steps to TEST_STEPS.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export PATH := $(CURDIR)/.bin:$(CURDIR)/node_modules/.bin:$(PATH)
export GOTOOLCHAIN := local
BUF := node_modules/.bin/buf
PY := .venv/bin/python
# Every test step records "<name> <passed> <failed>" here; .ci/run sums the file.
COUNTS := .run/test-counts

# Steps of `make test`, in order. mk/*.mk files append theirs.
TEST_STEPS := test-contracts test-typecheck test-unit

-include $(sort $(wildcard mk/*.mk))

.PHONY: help setup setup-local setup-observe gen gen-ts gen-check lint breaking build typecheck test test-contracts test-typecheck test-unit baseline

help: ## Show the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | sort

setup: ## Install every tool the project needs (idempotent; the second run takes seconds)
	@bash tools/setup.sh

setup-local: ## Install only what the local mesh needs (make up): no Istio tools, no ghz or kustomize
	@bash tools/setup.sh local

setup-observe: ## Install what make up OBSERVE=1 needs: Zipkin (Maven), Prometheus and Chromium (Debian)
	@bash tools/setup.sh observe

setup-istio-mesh: ## Install what make up MESH=istio needs: the local mesh's tools, kustomize, pilot-agent, istiod-local, Envoy
	@bash tools/setup.sh istio-mesh

gen: setup ## Regenerate gen/ (TypeScript, Go, Python, shop.binpb) from proto/
	@rm -rf gen/ts/src gen/go/shop gen/python/shop gen/shop.binpb
	$(BUF) generate
	$(BUF) generate --template buf.gen.rpc.yaml
	$(BUF) build proto -o gen/shop.binpb
	@cd gen/go && go mod tidy

lint: ## Lint the contracts (buf STANDARD) and check them for breaking changes
	$(BUF) lint --error-format=msvs
	$(BUF) format --diff --exit-code
	$(MAKE) --no-print-directory breaking

breaking: ## Compare proto/ with the released baseline image (FILE rules, no network)
	$(BUF) breaking proto --against proto/baseline.binpb --error-format=msvs

baseline: ## Record the current contracts as the released baseline (do this at a release only)
	$(BUF) build proto -o proto/baseline.binpb

gen-check: gen ## Fail when the committed gen/ differs from a fresh `make gen`
	@if [ -n "$$(git status --porcelain -- gen)" ]; then \
	  git status --porcelain -- gen; git --no-pager diff --stat -- gen; \
	  echo "gen/ is stale: run 'make gen' and commit the result"; exit 1; fi

build: ## Compile every TypeScript package to dist/
	tsc -b tsconfig.build.json

typecheck: build ## Type-check every package, the tests included
	tsc -p tsconfig.json
	cd gen/go && go vet ./...
	$(PY) scripts/import_all.py gen/python

# test-contracts: lint, breaking, freshness. Each counts as one check in the closing line.
test-contracts: setup
	@bash scripts/step.sh buf-lint $(BUF) lint --error-format=msvs
	@bash scripts/step.sh buf-format $(BUF) format --diff --exit-code
	@bash scripts/step.sh buf-breaking $(MAKE) --no-print-directory breaking
	@bash scripts/step.sh gen-fresh $(MAKE) --no-print-directory gen-check

test-typecheck: setup
	@bash scripts/step.sh typecheck $(MAKE) --no-print-directory typecheck

test-unit: setup build ## Jest unit and component tests (real FerretDB and Redis on free ports)
	@bash scripts/jest.sh unit --selectProjects unit

test: ## Run every test from a fresh clone: setup, lint, freshness, unit, component, e2e, Python, Go, manifests
	@mkdir -p .run && rm -f $(COUNTS)
	@status=0; for s in $(TEST_STEPS); do $(MAKE) --no-print-directory $$s || status=1; done; \
	  bash scripts/counts.sh; exit $$status
