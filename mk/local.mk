# The one-machine mesh (issue 6): make up / down / status / logs, and the e2e tests through the edge.
.PHONY: up down status logs restart admin test-e2e test-e2e-istio test-e2e-observe test-istio proxy-config apply

MESH_CLI := node runner/dist/cli.js

# MESH=istio: the real data plane instead (docs/istio-local.md): istiod, an Envoy sidecar per
# replica and the ingress gateway on 127.0.0.1:8080, configured from istio/overlays/default.
up: $(if $(filter istio,$(MESH)),setup-istio-mesh .bin/yaml2json,setup-local) $(if $(filter 1,$(OBSERVE)),setup-observe) build ## Run the whole mesh here: FerretDB, Redis, every service, the nginx edge on 127.0.0.1:8080 (MESH=istio: istiod, Envoy sidecars and the Istio gateway)
	@MESH=$(MESH) OBSERVE=$(OBSERVE) $(MESH_CLI) up

down: ## Stop exactly what make up started (recorded pids); data stays in .data/
	@if [ -f runner/dist/cli.js ]; then $(MESH_CLI) down; else echo "down: nothing was started"; fi

status: ## Show the mesh's table again (service, address, health, metrics, log)
	@if [ -f runner/dist/cli.js ]; then $(MESH_CLI) status; else echo "The mesh is not running."; fi

restart: build ## Rolling restart of one service, a replica at a time, drained from the edge first: make restart SERVICE=catalog
	@$(MESH_CLI) restart $(SERVICE)

# Register grants no role; an admin comes only from this operator action (services/auth/src/domain/admin.ts).
admin: build ## Make an admin: EMAIL=… creates the account (password in .run/admin/), USER_ID=u_… grants an existing one
	@if [ -n "$(EMAIL)" ]; then node services/auth/dist/admin-main.js --email "$(EMAIL)" --password-file ".run/admin/$(EMAIL).password"; \
	elif [ -n "$(USER_ID)" ]; then node services/auth/dist/admin-main.js --user-id "$(USER_ID)"; \
	else echo "usage: make admin EMAIL=you@example.com, or make admin USER_ID=u_… for an account that exists"; exit 2; fi

# TRACE=<trace id>: that trace's lines from every log, in time order (runner/src/observe/trace-logs.ts).
logs: $(if $(TRACE),build) ## Follow every log of the mesh; make logs TRACE=<trace id> prints one trace's lines from every service, in time order
	@if [ -n "$(TRACE)" ]; then $(MESH_CLI) trace-logs "$(TRACE)"; else tail -n 20 -F .run/logs/*.log; fi

TEST_STEPS += test-e2e

# e2e: a real make up with two catalog replicas; the journey through the edge (grpcurl, grpc-js,
# buf curl, the example clients, the README walkthrough); chaos under load against the same mesh;
# a scan of every log the run wrote for secrets; then make down, which must leave none of the
# mesh's processes running.
test-e2e: setup build
	@if ! REPLICAS_catalog=2 bash scripts/step.sh make-up $(MAKE) --no-print-directory up; then $(MAKE) --no-print-directory down; exit 1; fi
	@status=0; bash scripts/jest.sh e2e --selectProjects e2e || status=1; \
	  bash scripts/jest.sh chaos --selectProjects chaos --runInBand || status=1; \
	  $(MESH_CLI) pids > .run/pids-before-down; \
	  bash scripts/step.sh make-down-clean bash scripts/check-down.sh .run/pids-before-down || status=1; \
	  bash scripts/step.sh secrets-in-logs bash scripts/scan-secrets.sh .run/logs || status=1; \
	  exit $$status

TEST_STEPS += test-e2e-istio

# The same e2e suite a second time, through the Istio gateway and the sidecars (make up MESH=istio,
# two catalog v1 replicas and the v2 canary), then what istiod and each Envoy report (test/istio),
# then make down, which must leave nothing running.
test-e2e-istio: setup build .bin/yaml2json
	@if ! REPLICAS_catalog=2 bash scripts/step.sh make-up-istio $(MAKE) --no-print-directory up MESH=istio; then $(MAKE) --no-print-directory down; exit 1; fi
	@status=0; bash scripts/jest.sh e2e-istio --selectProjects e2e || status=1; \
	  $(MAKE) --no-print-directory test-istio || status=1; \
	  $(MESH_CLI) pids > .run/pids-before-down; \
	  bash scripts/step.sh make-down-clean-istio bash scripts/check-down.sh .run/pids-before-down || status=1; \
	  bash scripts/step.sh secrets-in-logs-istio bash scripts/scan-secrets.sh .run/logs || status=1; \
	  exit $$status

TEST_STEPS += test-e2e-observe

# make up OBSERVE=1 (Zipkin, Prometheus and the dashboard beside the local mesh): one checkout is
# one trace with every service's spans, Prometheus scrapes every replica, make logs TRACE=, and the
# shop still sells with Zipkin and Prometheus killed (test/observe); then make down, leaving nothing.
test-e2e-observe: setup build
	@if ! bash scripts/step.sh make-up-observe $(MAKE) --no-print-directory up OBSERVE=1; then $(MAKE) --no-print-directory down; exit 1; fi
	@status=0; bash scripts/jest.sh observe --selectProjects observe --runInBand || status=1; \
	  $(MESH_CLI) pids > .run/pids-before-down; \
	  bash scripts/step.sh make-down-clean-observe bash scripts/check-down.sh .run/pids-before-down || status=1; \
	  exit $$status

# test/istio alone: what istio/ promises, proven on the running data plane (docs/kubernetes.md has
# the table). test-e2e-istio runs it after the e2e suite; by hand: make up MESH=istio REPLICAS_catalog=2.
test-istio: build ## Prove the Istio manifests on a running make up MESH=istio (REPLICAS_catalog=2): mTLS, RBAC, JWT, retries, timeouts, faults, outlier detection, canary, connectionPool
	@bash scripts/jest.sh istio --selectProjects istio --runInBand

# Another overlay of istio/ for the running istio-mode mesh, pushed by istiod without a restart:
# make apply OVERLAY=istio/overlays/chaos (faults on payment); OVERLAY=istio/overlays/default undoes it.
apply: ## Hand another istio/ overlay to the running MESH=istio mesh: make apply OVERLAY=istio/overlays/chaos
	$(MESH_CLI) apply $(OVERLAY)

# One sidecar's Envoy config as istiod pushed it: listeners, routes and clusters from its admin port.
proxy-config: ## Print a sidecar's listeners, routes and clusters (make up MESH=istio): make proxy-config SERVICE=catalog
	@node runner/dist/cli.js proxy-config $(SERVICE)
