#!/usr/bin/env bash
# scripts/istio-proto.sh: the prototype of the real Istio data plane on one machine (issue 15), not
# wired into make up yet. What it does and why each flag is there: docs/istio-local.md.
#
#   bash scripts/istio-proto.sh hello [DIR]  # istiod-local, a tiny gRPC app behind sidecar A, a client's
#                                            # sidecar B, the ingress gateway; calls both ways, prints stats
#   bash scripts/istio-proto.sh shop [DIR]   # the rendered default overlay + generated workloads, a sidecar
#                                            # per replica and the gateway (no apps): did Envoy accept it all?
#   bash scripts/istio-proto.sh down [DIR]   # stop every process recorded in DIR/pids
#
# DIR defaults to .run/istio-proto. Needs `bash tools/setup.sh istio-agents envoy`. Everything binds
# loopback: istiod-local 127.0.0.1:$GRPC and :$HTTP, each sidecar's admin, status and stats ports from
# $BASE up, inbound listeners on 127.0.1.N, egress on 127.0.2.N, the gateway on 127.0.3.1:$GW_PORT.
# Envoy's own health listener (ENVOY_STATUS_PORT) and pilot-agent's status port bind every address
# (Istio's template and agent have no switch for that); they are in the $BASE range, never on the
# local mesh's ports.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
BIN=$ROOT/.bin
cmd=${1:-}; DIR=$(realpath -m "${2:-.run/istio-proto}")
GRPC=${GRPC:-15010} HTTP=${HTTP:-15014} BASE=${BASE:-16000} GW_PORT=${GW_PORT:-18080}
TRUST_DOMAIN=cluster.local

say() { echo "istio-proto: $*"; }
die() { echo "istio-proto: ERROR: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

record() { echo "$1 $2" >>"$DIR/pids"; }   # name pid

down() {
  [[ -f $DIR/pids ]] || { say "nothing recorded in $DIR/pids"; return; }
  local name pid
  # Sidecars first (pilot-agent stops its Envoy), istiod last.
  tac "$DIR/pids" | while read -r name pid; do
    kill -0 "$pid" 2>/dev/null && kill "$pid" && say "stopped $name ($pid)" || true
  done
  local deadline=$((SECONDS + 15))
  while read -r name pid; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && { kill -9 "$pid"; say "killed $name ($pid)"; }
  done <"$DIR/pids"
  rm -f "$DIR/pids"
}

need() {
  local f
  for f in istiod-local pilot-agent envoy istio/envoy_bootstrap_tmpl.json; do
    [[ -e $BIN/$f ]] || die "$BIN/$f is missing: run bash tools/setup.sh istio-agents envoy"
  done
}

# ---------------------------------------------------------------------------------------------
# The dev CA and one workload certificate per identity, as pilot-agent reads them with
# FILE_MOUNTED_CERTS=true: <dir>/etc/certs/{cert-chain,key,root-cert}.pem. The SPIFFE URI SAN is the
# identity Istio gives a pod: spiffe://cluster.local/ns/<namespace>/sa/<serviceAccount>.
make_ca() {
  mkdir -p "$DIR/ca"
  [[ -f $DIR/ca/ca.pem ]] && return
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$DIR/ca/ca-key.pem" 2>/dev/null
  openssl req -x509 -new -key "$DIR/ca/ca-key.pem" -sha256 -days 3650 -subj "/O=shopmesh/CN=shopmesh istio-proto CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -out "$DIR/ca/ca.pem"
}

make_cert() { # workdir namespace serviceAccount
  local d=$1/etc/certs ns=$2 sa=$3
  mkdir -p "$d"
  [[ -f $d/cert-chain.pem ]] && return
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=URI:spiffe://%s/ns/%s/sa/%s\n' \
    "$TRUST_DOMAIN" "$ns" "$sa" >"$d/ext"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/key.pem" 2>/dev/null
  openssl req -new -key "$d/key.pem" -subj "/O=shopmesh" -out "$d/csr" 2>/dev/null
  openssl x509 -req -in "$d/csr" -CA "$DIR/ca/ca.pem" -CAkey "$DIR/ca/ca-key.pem" -set_serial "0x$(openssl rand -hex 12)" \
    -days 825 -sha256 -extfile "$d/ext" -out "$d/cert-chain.pem" 2>/dev/null
  cp "$DIR/ca/ca.pem" "$d/root-cert.pem"
  rm -f "$d/ext" "$d/csr"
}

# ---------------------------------------------------------------------------------------------
mesh_config() {
  # No defaultProviders: a Prometheus provider would make istiod add istio.stats, which upstream
  # Envoy lacks. REGISTRY_ONLY: a name the mesh does not know gets a 502 (UNAVAILABLE: no route), not
  # the PassthroughCluster, which has nowhere to go without iptables' original destination.
  cat >"$DIR/mesh.yaml" <<EOF
trustDomain: $TRUST_DOMAIN
rootNamespace: istio-system
enableAutoMtls: true
outboundTrafficPolicy: {mode: REGISTRY_ONLY}
defaultConfig:
  discoveryAddress: 127.0.0.1:$GRPC
  controlPlaneAuthPolicy: NONE
EOF
}

start_istiod() {
  mkdir -p "$DIR/config" "$DIR/logs"
  mesh_config
  local t0; t0=$(now)
  # The two istio.* filters upstream Envoy would reject (istio.alpn, istio.metadata_exchange).
  # PILOT_JWT_ENABLE_REMOTE_JWKS=envoy: each Envoy fetches RequestAuthentication's jwksUri itself,
  # through the mesh (auth.shop.svc.cluster.local resolves nowhere here, so istiod cannot).
  PILOT_ENABLE_ALPN_FILTER=false PILOT_ENABLE_METADATA_EXCHANGE=false PILOT_JWT_ENABLE_REMOTE_JWKS=envoy \
    setsid "$BIN/istiod-local" -configDir "$DIR/config" -meshConfig "$DIR/mesh.yaml" \
    -grpcAddr "127.0.0.1:$GRPC" -httpAddr "127.0.0.1:$HTTP" >"$DIR/logs/istiod.log" 2>&1 &
  record istiod $!
  until curl -sf "127.0.0.1:$HTTP/ready" >/dev/null; do
    kill -0 "$!" 2>/dev/null || { tail -5 "$DIR/logs/istiod.log" >&2; die "istiod-local did not start"; }
    sleep 0.05
  done
  say "istiod-local ready in $(since "$t0") s (xDS 127.0.0.1:$GRPC, HTTP 127.0.0.1:$HTTP)"
}

# start_proxy NAME INDEX TYPE IP NAMESPACE SA LABELS_JSON: pilot-agent (and its Envoy) in DIR/proxies/NAME.
# Ports: admin BASE+INDEX, agent status BASE+100+INDEX, Envoy health BASE+200+INDEX, stats BASE+300+INDEX.
start_proxy() {
  local name=$1 idx=$2 type=$3 ip=$4 ns=$5 sa=$6 labels=$7 wd=$DIR/proxies/$1
  mkdir -p "$wd"
  make_cert "$wd" "$ns" "$sa"
  local pc
  pc=$(printf '{"discoveryAddress":"127.0.0.1:%s","controlPlaneAuthPolicy":"NONE","binaryPath":"%s","proxyAdminPort":%d,"statusPort":%d,"concurrency":1,"proxyBootstrapTemplatePath":"%s","proxyMetadata":{"METRICS_LOCALHOST_ACCESS_ONLY":"true"},"proxyStatsMatcher":{"inclusionRegexps":[".*"]}}' \
    "$GRPC" "$BIN/envoy" $((BASE + idx)) $((BASE + 100 + idx)) "$BIN/istio/envoy_bootstrap_tmpl.json")
  (
    cd "$wd"
    export PROXY_CONFIG=$pc INSTANCE_IP=$ip POD_NAME=$name POD_NAMESPACE=$ns SERVICE_ACCOUNT=$sa
    export ISTIO_META_INTERCEPTION_MODE=NONE CLOUD_PLATFORM=none FILE_MOUNTED_CERTS=true ISTIO_META_CLUSTER_ID=Kubernetes
    export ISTIO_METAJSON_LABELS=$labels ISTIO_META_WORKLOAD_NAME=${name%-*} TRUST_DOMAIN=$TRUST_DOMAIN
    export ENVOY_STATUS_PORT=$((BASE + 200 + idx)) ENVOY_PROMETHEUS_PORT=$((BASE + 300 + idx))
    exec setsid "$BIN/pilot-agent" proxy "$type" --proxyLogLevel=warning
  ) >"$DIR/logs/$name.log" 2>&1 &
  record "$name" $!
}

wait_ready() { # NAME INDEX
  local t0; t0=$(now)
  until curl -sf "127.0.0.1:$((BASE + 100 + $2))/healthz/ready" >/dev/null; do
    (($(date +%s) - ${t0%.*} < 30)) || { tail -5 "$DIR/logs/$1.log" >&2; die "$1 not ready in 30 s"; }
    sleep 0.05
  done
}

stat() { curl -s "127.0.0.1:$((BASE + $1))/stats" | grep -E "$2" | grep -v ': 0$' || true; }

rss() { # pid -> "RSS MiB" of the process and its children (pilot-agent + envoy)
  local p kids total=0
  for p in $1 $(pgrep -P "$1" || true); do total=$((total + $(awk '/VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0))); done
  echo "$((total / 1024))"
}

# ---------------------------------------------------------------------------------------------
hello() {
  need; rm -rf "$DIR"; mkdir -p "$DIR/logs" "$DIR/config"; make_ca
  # The config is in place before istiod starts, so a proxy's first push is complete (a proxy is
  # "ready" once it has its first config, whatever that holds).
  cat >"$DIR/config/hello.yaml" <<'EOF'
# hello: one service (7001, gRPC), one replica at 127.0.1.1, its app on 127.0.0.1:17001.
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: hello, namespace: shop}
spec:
  hosts: [hello.shop.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 7001, name: grpc, protocol: GRPC}]
  workloadSelector: {labels: {app: hello}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: hello-0, namespace: shop, labels: {app: hello}}
spec: {address: 127.0.1.1, labels: {app: hello}, serviceAccount: hello}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: hello, namespace: shop}
spec:
  workloadSelector: {labels: {app: hello}}
  ingress:
  - {port: {number: 7001, protocol: GRPC, name: grpc}, bind: 127.0.1.1, defaultEndpoint: "127.0.0.1:17001"}
  egress:
  - {port: {number: 7001, protocol: GRPC, name: grpc}, bind: 127.0.2.1, hosts: ["shop/*"]}
---
# client: no service of its own, only an egress listener at 127.0.2.2:7001.
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: client-0, namespace: shop, labels: {app: client}}
spec: {address: 127.0.1.2, labels: {app: client}, serviceAccount: client}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: client, namespace: shop}
spec:
  workloadSelector: {labels: {app: client}}
  egress:
  - {port: {number: 7001, protocol: GRPC, name: grpc}, bind: 127.0.2.2, hosts: ["shop/*"]}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec: {mtls: {mode: STRICT}}
---
# The ingress gateway: port 80 of its Service is 127.0.3.1:GW_PORT (targetPort), bound to that IP.
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: istio-ingressgateway, namespace: istio-system}
spec:
  hosts: [istio-ingressgateway.istio-system.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: http2, protocol: HTTP2, targetPort: GW_PORT}]
  workloadSelector: {labels: {istio: ingressgateway}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: istio-ingressgateway-0, namespace: istio-system, labels: {istio: ingressgateway}}
spec: {address: 127.0.3.1, labels: {istio: ingressgateway}, serviceAccount: istio-ingressgateway-service-account}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: proto-gateway, namespace: shop}
spec:
  selector: {istio: ingressgateway}
  servers:
  - {port: {number: 80, name: grpc, protocol: GRPC}, bind: 127.0.3.1, hosts: ["*"]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: hello-edge, namespace: shop}
spec:
  hosts: ["*"]
  gateways: [proto-gateway]
  http:
  - match: [{uri: {exact: /grpc.health.v1.Health/Check}}]
    route: [{destination: {host: hello.shop.svc.cluster.local, port: {number: 7001}}}]
EOF
  sed -i "s/GW_PORT/$GW_PORT/" "$DIR/config/hello.yaml"
  start_istiod
  setsid node scripts/istio-proto/hello.cjs serve 127.0.0.1:17001 >"$DIR/logs/hello-app.log" 2>&1 &
  record hello-app $!
  local t0; t0=$(now)
  start_proxy hello-0 1 sidecar 127.0.1.1 shop hello '{"app":"hello"}'
  start_proxy client-0 2 sidecar 127.0.1.2 shop client '{"app":"client"}'
  start_proxy istio-ingressgateway-0 9 router 127.0.3.1 istio-system istio-ingressgateway-service-account '{"istio":"ingressgateway"}'
  wait_ready hello-0 1; wait_ready client-0 2; wait_ready istio-ingressgateway-0 9
  say "3 proxies ready in $(since "$t0") s"

  say "client -> sidecar B egress 127.0.2.2:7001 (authority hello.shop.svc.cluster.local) -> mTLS -> sidecar A 127.0.1.1:7001 -> app"
  node scripts/istio-proto/hello.cjs call 127.0.2.2:7001 hello.shop.svc.cluster.local 100 || true
  say "outside -> gateway 127.0.3.1:$GW_PORT -> mTLS -> sidecar A -> app"
  node scripts/istio-proto/hello.cjs call "127.0.3.1:$GW_PORT" shop.example 10 || true
  say "plaintext straight to sidecar A's inbound (STRICT mTLS: refused)"
  node scripts/istio-proto/hello.cjs call 127.0.1.1:7001 hello.shop.svc.cluster.local 1 || true
  say "a name the mesh does not know, through sidecar B"
  node scripts/istio-proto/hello.cjs call 127.0.2.2:7001 nosuch.shop.svc.cluster.local 1 || true
  say "sidecar A (hello-0) stats:"
  stat 1 '^listener\.127\.0\.1\.1_7001\.(ssl\.handshake|ssl\.versions|no_filter_chain_match)|^http\.inbound_127\.0\.1\.1_7001;\.(downstream_cx_ssl_total|downstream_rq_2xx)|^cluster\.inbound\|7001\|\|;\.upstream_rq_2xx'
  say "sidecar B (client-0) stats:"
  stat 2 '^cluster\.outbound\|7001\|\|hello\.shop\.svc\.cluster\.local;\.(ssl\.handshake|ssl\.versions|upstream_rq_2xx)|^http\.outbound_127\.0\.2\.2_7001;\.downstream_rq_[245]xx'
  say "gateway stats:"
  stat 9 '^cluster\.outbound\|7001\|\|hello\.shop\.svc\.cluster\.local;\.(ssl\.handshake|upstream_rq_2xx)'
  report
}

report() {
  say "Envoy xDS updates rejected (every proxy):"
  local name pid idx=0 port
  while read -r name pid; do
    [[ $name == istiod || $name == *-app ]] && continue
    port=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | sed -n 's/^PROXY_CONFIG=.*"proxyAdminPort":\([0-9]*\).*/\1/p')
    [[ -n $port ]] || continue
    printf '  %-26s lds %s, cds %s, rds %s; RSS pilot-agent+envoy %s MiB\n' "$name" \
      "$(curl -s "127.0.0.1:$port/stats" | awk -F': ' '/^listener_manager.lds.update_rejected/ {print $2}')" \
      "$(curl -s "127.0.0.1:$port/stats" | awk -F': ' '/^cluster_manager.cds.update_rejected/ {print $2}')" \
      "$(curl -s "127.0.0.1:$port/stats" | awk -F': ' '/\.rds\..*update_rejected/ {s += $2} END {print s + 0}')" \
      "$(rss "$pid")"
  done <"$DIR/pids"
  say "istiod: $(curl -s "127.0.0.1:$HTTP/metrics" | grep -E '^pilot_total_xds_rejects' | tr '\n' ' ' || true)(none listed = 0 rejects); RSS $(rss "$(awk '$1 == "istiod" {print $2}' "$DIR/pids")") MiB"
  say "connected proxies: $(curl -s "127.0.0.1:$HTTP/debug/syncz" | grep -o '"proxy": *"[^"]*"' | wc -l)"
}

# ---------------------------------------------------------------------------------------------
shop() {
  need; rm -rf "$DIR"; mkdir -p "$DIR/logs"; make_ca
  [[ -x $BIN/kustomize && -x $BIN/yaml2json ]] || die "needs .bin/kustomize and .bin/yaml2json (make validate builds them)"
  "$BIN/kustomize" build istio/overlays/default | "$BIN/yaml2json" >"$DIR/objects.json"
  node scripts/istio-proto/workloads.cjs 127.0.3.1 "$GW_PORT" 21000 <"$DIR/objects.json" >"$DIR/shop.yaml" 2>"$DIR/replicas.txt"
  mkdir -p "$DIR/config"; cp "$DIR/shop.yaml" "$DIR/config/shop.yaml"   # before istiod starts (see hello)
  start_istiod
  grep -o 'istiod-local: serving.*' "$DIR/logs/istiod.log" | sed 's/^/  /'
  local t0 name idx ip egress ports sa ns labels
  t0=$(now)
  while read -r name idx ip egress ports sa ns labels; do
    start_proxy "$name" "$idx" sidecar "$ip" "$ns" "$sa" "$labels"
  done <"$DIR/replicas.txt"
  start_proxy istio-ingressgateway-0 99 router 127.0.3.1 istio-system istio-ingressgateway-service-account '{"istio":"ingressgateway"}'
  while read -r name idx _; do wait_ready "$name" "$idx"; done <"$DIR/replicas.txt"
  wait_ready istio-ingressgateway-0 99
  say "$(($(wc -l <"$DIR/replicas.txt") + 1)) proxies ready in $(since "$t0") s"
  sleep 2 # let the last pushes land before counting
  report
}

case $cmd in
  hello) hello ;;
  shop) shop ;;
  down) down ;;
  *) echo "usage: $0 hello|shop|down [DIR]" >&2; exit 2 ;;
esac
