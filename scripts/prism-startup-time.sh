#!/usr/bin/env bash
# Prints how long `prism proxy --errors` takes until it listens, for GitHub's whole OpenAPI
# description and for the subset the contract tests load (scripts/github-openapi-subset.py).
# usage: scripts/prism-startup-time.sh [RUNS]   (default 3 runs of the subset, 1 of the whole)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
whole=scripts/node-tools/node_modules/@octokit/openapi/generated/api.github.com.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 scripts/github-openapi-subset.py "$whole" "$tmp/subset.json"

ready_in() { # SPEC: seconds until Prism says it listens
  local port log start pid
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  log="$tmp/prism-$port.log"
  start=$(date +%s%N)
  prism proxy --errors -h 127.0.0.1 -p "$port" "$1" http://127.0.0.1:9 >"$log" 2>&1 &
  pid=$!
  until grep -q "Prism is listening" "$log"; do
    kill -0 "$pid" 2>/dev/null || { echo "prism exited: $(tail -1 "$log")" >&2; return 1; }
    sleep 0.05
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "$(( ($(date +%s%N) - start) / 1000000 )) ms"
}

for _ in $(seq "$runs"); do echo "subset ($(stat -c %s "$tmp/subset.json") bytes): $(ready_in "$tmp/subset.json")"; done
echo "whole ($(stat -c %s "$whole") bytes): $(ready_in "$whole")"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
