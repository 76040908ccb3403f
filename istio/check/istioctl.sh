#!/usr/bin/env bash
# Istio's own validators on every rendered overlay, plus the negative fixtures they must refuse.
# Usage: istio/check/istioctl.sh render|validate|analyze|negative|collector|all   (from the repo root)
# Rendered YAML lands in .run/istio/<name>.yaml (kept for reading after a failure).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BIN=$PWD/.bin
OUT=.run/istio
# Every deployable tree: the three overlays, and the loadtest Job applied on its own.
TREES=(overlays/default overlays/chaos overlays/observe loadtest)

name_of() { echo "${1//\//-}"; }

render() {
  mkdir -p "$OUT"
  # The pinned kustomize from tools/setup.sh, not kubectl's embedded one, whose version varies.
  for t in "${TREES[@]}"; do "$BIN/kustomize" build "istio/$t" > "$OUT/$(name_of "$t").yaml"; done
  for f in istio/check/fixtures/*/; do
    "$BIN/kustomize" build "$f" > "$OUT/fixture-$(basename "$f").yaml"
  done
  echo "rendered ${#TREES[@]} trees and $(ls -d istio/check/fixtures/*/ | wc -l) fixtures into $OUT"
}

validate() {
  for t in "${TREES[@]}"; do "$BIN/istioctl" validate -f "$OUT/$(name_of "$t").yaml"; done
}

analyze() {
  # -A: without it, analyze looks at namespace "default" only and passes everything in shop.
  # --failure-threshold Warning: warnings fail too. No message is suppressed.
  for t in "${TREES[@]}"; do
    "$BIN/istioctl" analyze --use-kube=false -A --failure-threshold Warning "$OUT/$(name_of "$t").yaml"
  done
}

# expect_fail <what> <message> <command...>: the command must fail and print the message.
expect_fail() {
  local what=$1 msg=$2; shift 2
  local log rc=0
  log=$("$@" 2>&1) || rc=$?
  if ((rc == 0)); then echo "FAIL: $what was accepted"; return 1; fi
  if [[ $log != *"$msg"* ]]; then echo "FAIL: $what failed, but not with: $msg"; echo "$log"; return 1; fi
  echo "ok: $what refused: $msg"
}

negative() {
  expect_fail "istioctl validate on fixture bad-retryon" '"unavailabel" is not a valid retryOn policy' \
    "$BIN/istioctl" validate -f "$OUT/fixture-bad-retryon.yaml"
  expect_fail "istioctl analyze on fixture unknown-subset" \
    'IST0101] (VirtualService shop/cart' \
    "$BIN/istioctl" analyze --use-kube=false -A "$OUT/fixture-unknown-subset.yaml"
  expect_fail "istioctl analyze on fixture unknown-subset (the subset)" \
    'Referenced host+subset in destinationrule not found: "cart.shop.svc.cluster.local+v3"' \
    "$BIN/istioctl" analyze --use-kube=false -A "$OUT/fixture-unknown-subset.yaml"
}

# The Collector's own check of otelcol.yaml (istio/components/observability), with the same
# components and release as the image (tools/otelcol, built by mk/istio.mk); a misspelt exporter must fail.
collector() {
  "$BIN/otelcol" validate --config=istio/components/observability/otelcol.yaml
  echo "ok: otelcol validate accepts istio/components/observability/otelcol.yaml"
  local bad
  bad=$(mktemp)
  sed 's/^  zipkin:$/  zipkn:/' istio/components/observability/otelcol.yaml > "$bad"
  expect_fail "otelcol validate with the exporter misspelt" 'unknown type: "zipkn"' "$BIN/otelcol" validate --config="$bad"
  rm -f "$bad"
}

case ${1:-all} in
  render) render ;;
  validate) validate ;;
  analyze) analyze ;;
  negative) negative ;;
  collector) collector ;;
  all) render; validate; analyze; negative; collector ;;
  *) echo "usage: $0 render|validate|analyze|negative|collector|all" >&2; exit 2 ;;
esac
