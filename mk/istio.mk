# istio/: Kubernetes and Istio manifests, proved offline (docs/kubernetes.md).
# `make validate` renders every overlay with the pinned kustomize, runs istioctl validate and
# istioctl analyze on each, checks that they refuse the negative fixtures, and cross-checks the
# rendered manifests against gen/shop.binpb and mesh/topology.json (jest, istio/check/).

TEST_STEPS += test-validate

YAML2JSON_SRC := istio/check/yaml2json/main.go istio/check/yaml2json/go.mod istio/check/yaml2json/go.sum
VALIDATE_JEST := bash scripts/jest.sh validate --config istio/check/jest.config.js

.PHONY: validate test-validate

# The cross-check reads YAML through this tiny Go program (no YAML package in node_modules).
.bin/yaml2json: $(YAML2JSON_SRC)
	@mkdir -p .bin
	cd istio/check/yaml2json && GOWORK=off GOFLAGS=-mod=readonly go build -o $(CURDIR)/.bin/yaml2json .

# The observability component's Collector (tools/otelcol: otlp, memory_limiter, batch, zipkin), for
# `otelcol validate` on its config: about 100 s the first time on 2 cores, then cached.
OTELCOL_SRC := tools/otelcol/main.go tools/otelcol/go.mod tools/otelcol/go.sum
.bin/otelcol: $(OTELCOL_SRC)
	@mkdir -p .bin
	cd tools/otelcol && GOWORK=off GOTOOLCHAIN=local GOFLAGS=-mod=readonly go build -o $(CURDIR)/.bin/otelcol .

validate: setup .bin/yaml2json .bin/otelcol ## Render every Istio overlay, run istioctl validate and analyze, cross-check against the contracts
	bash istio/check/istioctl.sh all
	$(VALIDATE_JEST)

# One recorded step per check; all run even when one fails, and the target fails if any did.
test-validate: setup .bin/yaml2json .bin/otelcol
	@status=0; \
	bash scripts/step.sh istio-render bash istio/check/istioctl.sh render || status=1; \
	bash scripts/step.sh istioctl-validate bash istio/check/istioctl.sh validate || status=1; \
	bash scripts/step.sh istioctl-analyze bash istio/check/istioctl.sh analyze || status=1; \
	bash scripts/step.sh istioctl-negative bash istio/check/istioctl.sh negative || status=1; \
	bash scripts/step.sh otelcol-validate bash istio/check/istioctl.sh collector || status=1; \
	$(VALIDATE_JEST) || status=1; \
	exit $$status
