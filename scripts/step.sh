#!/usr/bin/env bash
# Runs one check of `make test` and records it as one passed or failed test in .run/test-counts.
# Usage: step.sh <name> <command...>
set -uo pipefail
name=$1; shift
mkdir -p .run
if "$@"; then
  echo "$name 1 0" >> .run/test-counts; echo "ok: $name"
else
  echo "$name 0 1" >> .run/test-counts; echo "FAILED: $name"; exit 1
fi
