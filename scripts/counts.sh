#!/usr/bin/env bash
# Prints the closing line of a test run, summed over every runner: "N passed, N failed".
f=.run/test-counts
if [ ! -s "$f" ]; then echo "0 passed, 1 failed"; exit 0; fi
echo "per runner (name passed failed):"; sed 's/^/  /' "$f"
awk '{p+=$2; x+=$3} END {printf "%d passed, %d failed\n", p, x}' "$f"
