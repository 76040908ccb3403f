#!/usr/bin/env bash
# Runs make down, then fails if any process the mesh recorded (file: "name pid" lines) still runs.
set -uo pipefail
before=$1
make --no-print-directory down
left=0
while read -r name pid; do
  [ -n "$pid" ] || continue
  # A zombie has stopped; it only waits for init to reap it.
  state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
  if [ -n "$state" ] && [ "$state" != Z ]; then echo "still running after make down: $name (pid $pid)"; left=1; fi
done < "$before"
[ "$(wc -l < "$before")" -gt 0 ] || { echo "no mesh process was recorded before make down"; exit 1; }
exit $left
