#!/usr/bin/env bash
# Runs jest and records its pass/fail counts in .run/test-counts under <name>.
# Usage: jest.sh <name> [jest args...]
set -uo pipefail
name=$1; shift
mkdir -p .run
# One file per run: engineers running jest at the same time must not read each other's counts.
out=.run/jest-$name-$$.json
rm -f "$out"
# --forceExit: a handle left open by some test (seen on 2026-12-02: the unit run finished, 466
# passed, then jest waited for more than ten minutes) must not hang make test. Jest still prints
# "did not exit one second after", so the leak stays visible until it is found.
# --expose-gc: test/security/fuzz.test.ts runs a full GC before it reads memory.
NODE_OPTIONS="--experimental-vm-modules --no-warnings=ExperimentalWarning --expose-gc ${NODE_OPTIONS:-}" \
  node_modules/.bin/jest ${CI:+--ci} --forceExit --json --outputFile="$out" "$@"
rc=$?
if [ -s "$out" ]; then
  node -e 'const r=require(process.argv[1]); const f=r.numFailedTests+(r.numRuntimeErrorTestSuites||0); console.log(process.argv[2], r.numPassedTests, f)' "$PWD/$out" "$name" >> .run/test-counts
else
  echo "$name 0 1" >> .run/test-counts
fi
exit $rc
