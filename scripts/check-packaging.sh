#!/usr/bin/env bash
# Static checks of the packaging files: schemas, hadolint, and that action.yml, pipe.yml,
# bitbucket-pipelines.yml and action.Dockerfile agree with SPEC.md and the Dockerfile.
# Needs the tools of scripts/install-tools.sh. Run from anywhere; exits non-zero on any failure.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
spec=${PR_STATUS_SPEC:-$(dirname "$repo")/shared/SPEC.md}
cd "$repo"

[ -f "$spec" ] || { echo "check-packaging: SPEC.md not found at $spec (set PR_STATUS_SPEC)" >&2; exit 1; }

passed=0
failed=0
# Runs every check even after a failure, so one run shows everything that needs fixing.
step() {
  local what=$1; shift
  echo "--- $what"
  if "$@"; then
    passed=$((passed + 1))
  else
    echo "FAIL: $what" >&2
    failed=$((failed + 1))
  fi
}

step "action.yml against the GitHub Actions schema" \
  check-jsonschema --builtin-schema vendor.github-actions action.yml
step "bitbucket-pipelines.yml against the Bitbucket Pipelines schema" \
  check-jsonschema --builtin-schema vendor.bitbucket-pipelines bitbucket-pipelines.yml
step "hadolint Dockerfile" hadolint Dockerfile
step "hadolint action.Dockerfile" hadolint action.Dockerfile
step "action.Dockerfile is generated from Dockerfile" \
  python3 scripts/dockerfile_stages.py check Dockerfile action.Dockerfile
step "the smoke Containerfile can be derived from Dockerfile's default target" \
  python3 scripts/dockerfile_stages.py smoke Dockerfile >/dev/null
step "the smoke Containerfile can be derived from Dockerfile's shell target" \
  python3 scripts/dockerfile_stages.py smoke Dockerfile shell >/dev/null
step "pipe.yml, action.yml and bitbucket-pipelines.yml against SPEC.md" \
  python3 scripts/check_pipe.py "$repo" "$spec"

echo "check packaging: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
