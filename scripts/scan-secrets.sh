#!/usr/bin/env bash
# Secret scanner front door: tracked files and/or log directories (see scripts/scan-secrets.mjs).
# Usage: scan-secrets.sh [--repo] [LOG_DIR...]   e.g. `bash scripts/scan-secrets.sh .run/logs`
set -euo pipefail
exec node "$(dirname "$0")/scan-secrets.mjs" "$@"
