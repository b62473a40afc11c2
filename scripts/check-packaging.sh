#!/usr/bin/env bash
# Static checks of the packaging files: schemas, hadolint, actionlint, and that action.yml,
# pipe.yml, bitbucket-pipelines.yml, action.Dockerfile and the local-build action agree with
# SPEC.md, the Dockerfile and each other.
# Needs the tools of scripts/install-tools.sh. Run from anywhere; exits non-zero on any failure.
# PR_STATUS_SPEC=none leaves out the one check that needs SPEC.md, which lives beside the
# repository (GitHub's CI has no copy of it); any other value is SPEC.md's path.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
spec=${PR_STATUS_SPEC:-$(dirname "$repo")/shared/SPEC.md}
cd "$repo"

if [ "$spec" != none ] && [ ! -f "$spec" ]; then
  echo "check-packaging: SPEC.md not found at $spec (set PR_STATUS_SPEC, or PR_STATUS_SPEC=none to skip that check)" >&2
  exit 1
fi

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

step "action.yml and the local-build action against the GitHub Actions schema" \
  check-jsonschema --builtin-schema vendor.github-actions action.yml .github/actions/local-build/action.yml
step "the local-build action is action.yml building action.Dockerfile" \
  python3 scripts/local_action.py check
step "workflows against the GitHub workflow schema" \
  check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
step "actionlint (WebAssembly build, offline) on the workflows" \
  node scripts/actionlint.mjs
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
if [ "$spec" = none ]; then
  echo "--- pipe.yml, action.yml and bitbucket-pipelines.yml against SPEC.md: skipped (PR_STATUS_SPEC=none)"
else
  step "pipe.yml, action.yml and bitbucket-pipelines.yml against SPEC.md" \
    python3 scripts/check_pipe.py "$repo" "$spec"
fi

echo "check packaging: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
