# Polyglot: the Python recommendation service and the Go and Python example clients.
# Each step records "<name> <passed> <failed>" in $(COUNTS), like scripts/step.sh and jest.sh.
TEST_STEPS += test-python test-go

.PHONY: test-python test-go run-recommendation

# Turns a pytest junit XML into one counts line; a missing or empty report counts as one failure.
define PYTEST_COUNTS
import sys, xml.etree.ElementTree as ET
path, name = sys.argv[1], sys.argv[2]
try:
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    t = sum(int(s.get("tests", 0)) for s in suites)
    bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skip = sum(int(s.get("skipped", 0)) for s in suites)
    print(name, t - bad - skip, bad if t else max(bad, 1))
except Exception:
    print(name, 0, 1)
endef
export PYTEST_COUNTS

# pytest in <dir>, its counts under <name>: $(call pytest-step,<dir>,<name>)
define pytest-step
mkdir -p .run; rm -f .run/pytest-$(2).xml; \
( cd $(1) && $(abspath $(PY)) -m pytest -q --junitxml=$(CURDIR)/.run/pytest-$(2).xml ); rc=$$?; \
$(PY) -c "$$PYTEST_COUNTS" .run/pytest-$(2).xml $(2) >> $(COUNTS); \
if [ $$rc -eq 0 ]; then echo "ok: $(2)"; else echo "FAILED: $(2)"; fi; exit $$rc
endef

test-python: setup ## pytest: recommendation (real redis-server, mTLS, a fake catalog) and the Python client
	@status=0; \
	( $(call pytest-step,services/recommendation,recommendation-pytest) ) || status=1; \
	( $(call pytest-step,examples/python-client,python-client-pytest) ) || status=1; \
	exit $$status

test-go: setup ## go build, go vet and go test of examples/go-client, and the bench's Go echo
	@bash scripts/step.sh go-client-vet bash -c 'cd examples/go-client && go build -o /dev/null . && go vet ./...'
	@bash scripts/step.sh go-client-test bash -c 'cd examples/go-client && go test -count=1 ./...'
	@bash scripts/step.sh go-echo-vet bash -c 'cd bench/go-echo && go build -o /dev/null . && go vet ./...'

run-recommendation: setup ## Run the recommendation service in the foreground (env: see services/recommendation/README.md)
	cd services/recommendation && $(abspath $(PY)) -m recommendation
