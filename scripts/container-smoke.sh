#!/usr/bin/env bash
# The checks hand their values to `bash -c '...'` as arguments, single-quoted on purpose.
# shellcheck disable=SC2016
# Container smoke test. Base images cannot be pulled here, so this rebuilds the Dockerfile's
# final stage FROM scratch with a locally built static binary and the host's CA bundle:
# the Containerfile is generated from the Dockerfile (scripts/dockerfile_stages.py) and the
# rootfs files come from the same docker/rootfs.sh the Dockerfile runs, so the two cannot drift.
# Then it runs the image with podman: --version, demo, the pipe's environment against a fake
# Bitbucket Cloud API on loopback, and action.Dockerfile's variant the way GitHub's runner does.
#
# Needs podman + runc, python3 with PyYAML, cargo and readelf (scripts/install-tools.sh).
# Honours CARGO_TARGET_DIR (default ./target; the build's sources are staged in
# $CARGO_TARGET_DIR/smoke-context). Set PR_STATUS_SMOKE_BIN to test an already-built
# static binary instead of building one. Prints `container smoke: N passed, M failed`.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

target=x86_64-unknown-linux-gnu
target_dir=${CARGO_TARGET_DIR:-$repo/target}
mkdir -p "$target_dir"
target_dir=$(cd "$target_dir" && pwd)
max_image_bytes=$((15 * 1000 * 1000)) # the issue's target: under 15 MB
podman=(podman --runtime runc)
ulimits=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
tag=localhost/pr-status-smoke:$$
action_tag=localhost/pr-status-action-smoke:$$
commit=3f786850e387550fdab836ed7e6dc881de23001b
token=fake-access-token-0123456789

for tool in podman runc python3 readelf openssl; do
  command -v "$tool" >/dev/null || { echo "container-smoke: $tool is missing (run scripts/install-tools.sh)" >&2; exit 2; }
done
python3 -c 'import yaml' 2>/dev/null || { echo "container-smoke: PyYAML is missing (run scripts/install-tools.sh)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/pr-status-smoke.XXXXXX")
fake_pid=
cleanup() {
  [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null && wait "$fake_pid" 2>/dev/null
  "${podman[@]}" rmi -f "$tag" "$action_tag" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
expect() { # expect DESCRIPTION COMMAND...: passes when the command succeeds
  local what=$1; shift
  if "$@"; then ok "$what"; else fail "$what"; fi
}

# ---- the static binary -----------------------------------------------------------------------
if [ -n "${PR_STATUS_SMOKE_BIN:-}" ]; then
  bin=$PR_STATUS_SMOKE_BIN
else
  # Built from exactly the files the Dockerfile's build stage copies in, so a source file the
  # Dockerfile forgets to copy fails here too.
  src_dir=$target_dir/smoke-context
  rm -rf "$src_dir"
  mkdir -p "$src_dir"
  echo "--- building the static binary from the build stage's files: $(python3 scripts/dockerfile_stages.py context Dockerfile build "$src_dir") (CARGO_TARGET_DIR=$target_dir)"
  (cd "$src_dir" && RUSTFLAGS='-C target-feature=+crt-static' CARGO_TARGET_DIR=$target_dir \
    cargo build --quiet --release --locked --target "$target")
  bin=$target_dir/$target/release/pr-status
fi
[ -x "$bin" ] || { echo "container-smoke: no binary at $bin" >&2; exit 1; }
expect "the binary is statically linked (no ELF interpreter)" \
  bash -c '! readelf -l "$1" | grep -q "Requesting program interpreter"' _ "$bin"
expect "the binary needs no shared library" \
  bash -c '! readelf -d "$1" 2>/dev/null | grep -q "(NEEDED)"' _ "$bin"

# ---- the image, generated from the Dockerfile's final stage ------------------------------------
# build_image DOCKERFILE TAG: lays out the stages' files and builds the derived Containerfile.
build_image() {
  local dockerfile=$1 image=$2 ctx stage
  ctx=$(mktemp -d "$work/ctx.XXXXXX")
  for stage in $(python3 scripts/dockerfile_stages.py stages "$dockerfile"); do
    case $stage in
      build) install -D -m 0755 "$bin" "$ctx/build/out/pr-status" ;;
      rootfs) docker/rootfs.sh "$ctx/rootfs/rootfs" ;;
      *) echo "container-smoke: the final stage copies from stage '$stage', which this script cannot lay out" >&2; return 1 ;;
    esac
  done
  python3 scripts/dockerfile_stages.py smoke "$dockerfile" > "$ctx/Containerfile"
  "${podman[@]}" build --quiet --layers=false "${ulimits[@]}" --tag "$image" --file "$ctx/Containerfile" "$ctx" >/dev/null
}

echo "--- podman build (final stage of Dockerfile)"
python3 scripts/dockerfile_stages.py smoke Dockerfile
build_image Dockerfile "$tag"
ok "image built from the Dockerfile's final stage"

bin_bytes=$(stat -c %s "$bin")
image_bytes=$("${podman[@]}" image inspect --format '{{.Size}}' "$tag")
mb() { awk -v b="$1" 'BEGIN { printf "%.2f MB (%.2f MiB)", b / 1000000, b / 1048576 }'; }
echo "binary size: $bin_bytes bytes, $(mb "$bin_bytes")"
echo "image size:  $image_bytes bytes, $(mb "$image_bytes")"
"${podman[@]}" image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' "$tag"
expect "image is under 15 MB" test "$image_bytes" -lt "$max_image_bytes"

config=$("${podman[@]}" image inspect --format '{{.Config.User}}|{{json .Config.Entrypoint}}|{{.Config.WorkingDir}}' "$tag")
expect "image runs as 10001:10001 with entrypoint /usr/local/bin/pr-status in /workspace ($config)" \
  test "$config" = '10001:10001|["/usr/local/bin/pr-status"]|/workspace'

# The image has no shell, so look at its files from the outside.
mnt=$("${podman[@]}" image mount "$tag")
expect "image carries the CA bundle (/etc/ssl/certs/ca-certificates.crt, same as the host's)" \
  cmp -s "$mnt/etc/ssl/certs/ca-certificates.crt" /etc/ssl/certs/ca-certificates.crt
expect "the CA bundle holds root certificates" \
  bash -c '[ "$(grep -c "BEGIN CERTIFICATE" "$1")" -gt 100 ]' _ "$mnt/etc/ssl/certs/ca-certificates.crt"
expect "image has /etc/passwd and /etc/group entries for pr-status (10001)" \
  bash -c 'grep -q "^pr-status:x:10001:10001:" "$1/etc/passwd" && grep -q "^pr-status:x:10001:" "$1/etc/group"' _ "$mnt"
expect "/workspace belongs to 10001" test "$(stat -c %u:%g "$mnt/workspace")" = 10001:10001
files=$(cd "$mnt" && find . -type f | sort | tr '\n' ' ')
expect "image holds only the binary, the CA bundle, passwd, group and nsswitch.conf ($files)" \
  test "$files" = "./etc/group ./etc/nsswitch.conf ./etc/passwd ./etc/ssl/certs/ca-certificates.crt ./usr/local/bin/pr-status "
"${podman[@]}" image unmount "$tag" >/dev/null

# run NAME [podman run args...] -- [pr-status args...]: runs the image; status in $rc, output in $out.
run_image() {
  local args=()
  while [ "$1" != -- ]; do args+=("$1"); shift; done
  shift
  set +e
  out=$("${podman[@]}" run --rm "${ulimits[@]}" "${args[@]}" "$tag" "$@" 2>&1)
  rc=$?
  set -e
}

# ---- --version ---------------------------------------------------------------------------------
version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n 1)
run_image --network=none -- --version
expect "--version in the image exits 0 and prints $version ($out)" \
  bash -c '[ "$1" -eq 0 ] && printf "%s" "$2" | grep -q -- "$3"' _ "$rc" "$out" "$version"

# ---- demo: same exit code and outcome as the same binary outside the container -----------------
json_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
for require in "" "merged,approved" "open"; do
  host_dir=$work/demo-host-${require:-none}; ctr_dir=$work/demo-ctr-${require:-none}
  mkdir -p "$host_dir" "$ctr_dir"
  chmod 0777 "$ctr_dir" # the image's user (10001) writes into the mounted workspace
  set +e
  (cd "$host_dir" && env -i PATH="$PATH" REQUIRE="$require" "$bin" demo >/dev/null 2>&1)
  host_rc=$?
  set -e
  run_image --network=none -v "$ctr_dir:/workspace" -e REQUIRE="$require" -- demo
  label="demo with REQUIRE='$require'"
  expect "$label: exit code in the image ($rc) equals the host's ($host_rc)" test "$rc" = "$host_rc"
  if [ -f "$ctr_dir/pr-status.json" ]; then
    ok "$label: pr-status.json written into the mounted workspace"
    expect "$label: outcome in the image equals the host's" \
      test "$(json_field "$ctr_dir/pr-status.json" outcome)" = "$(json_field "$host_dir/pr-status.json" outcome)"
    expect "$label: the summary file belongs to the image's user 10001" \
      test "$(stat -c %u "$ctr_dir/pr-status.json")" = 10001
  else
    fail "$label: pr-status.json written into the mounted workspace ($out)"
  fi
  if [ -z "$require" ]; then
    expect "$label: exit code 0 (report only)" test "$rc" = 0
  fi
done

# ---- the pipe's environment against a fake Bitbucket Cloud on loopback -------------------------
python3 scripts/fake_bitbucket_cloud.py --port-file "$work/port" --log "$work/requests.log" \
  --workspace acme --repo widgets --commit "$commit" --token "$token" &
fake_pid=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { echo "container-smoke: the fake API did not start" >&2; exit 1; }
api=http://127.0.0.1:$(cat "$work/port")/2.0

pipe_env=(
  -e BITBUCKET_API_URL="$api" -e BITBUCKET_WORKSPACE=acme -e BITBUCKET_REPO_SLUG=widgets
  -e BITBUCKET_COMMIT="$commit" -e BITBUCKET_ACCESS_TOKEN="$token"
)

# 1. As in the issue: a mounted workspace and an absolute summary path in a missing folder.
out_dir=$work/pipe-abs
mkdir -p "$out_dir" && chmod 0777 "$out_dir"
run_image --network=host -v "$out_dir:/workspace" "${pipe_env[@]}" \
  -e REQUIRE=open,approved,builds-passed -e SUMMARY_FILE=/workspace/out/pr-status.json --
expect "fake API, REQUIRE=open,approved,builds-passed: exit code 0 ($rc: $out)" test "$rc" = 0
if [ -f "$out_dir/out/pr-status.json" ]; then
  expect "fake API: out/pr-status.json on the host has outcome pass" \
    test "$(json_field "$out_dir/out/pr-status.json" outcome)" = pass
else
  fail "fake API: out/pr-status.json written into the mounted workspace"
fi
expect "fake API: the commit lookup was called with the Bearer token" \
  python3 -c 'import json,sys
reqs=[json.loads(l) for l in open(sys.argv[1])]
sys.exit(0 if any(r["path"].endswith("/commit/"+sys.argv[2]+"/pullrequests") and r["authorization"]=="Bearer "+sys.argv[3] for r in reqs) else 1)' \
  "$work/requests.log" "$commit" "$token"

# 2. As Pipelines runs a pipe: clone dir mounted at its own path and used as working directory,
#    relative summary paths, Pipelines' own variables, dotenv sourced by a later step.
clone=/opt/atlassian/pipelines/agent/build
out_dir=$work/pipe-clone
mkdir -p "$out_dir" && chmod 0777 "$out_dir"
run_image --network=host -v "$out_dir:$clone" -w "$clone" "${pipe_env[@]}" \
  -e BITBUCKET_CLONE_DIR="$clone" -e BITBUCKET_BUILD_NUMBER=17 -e BITBUCKET_BRANCH=feature/pr-status \
  -e CI=true -e REQUIRE=open,approved -e SUMMARY_MARKDOWN_FILE=pr-status.md \
  -e SUMMARY_DOTENV_FILE=pr-status.env --
expect "pipe run in the clone dir: exit code 0 ($rc: $out)" test "$rc" = 0
expect "pipe run: pr-status.json, pr-status.md and pr-status.env written in the clone dir" \
  test -f "$out_dir/pr-status.json" -a -f "$out_dir/pr-status.md" -a -f "$out_dir/pr-status.env"
if [ -f "$out_dir/pr-status.env" ]; then
  expect "pipe run: sourcing pr-status.env gives PR_STATUS_OUTCOME=pass PR_ID=7" \
    sh -c 'set -a; . "$1"; set +a; [ "$PR_STATUS_OUTCOME" = pass ] && [ "$PR_ID" = 7 ]' _ "$out_dir/pr-status.env"
fi

# 3. The gate closed and a refused token keep their exit codes through the container.
out_dir=$work/pipe-closed
mkdir -p "$out_dir" && chmod 0777 "$out_dir"
run_image --network=host -v "$out_dir:/workspace" "${pipe_env[@]}" -e REQUIRE=merged --
expect "fake API, REQUIRE=merged: exit code 1, outcome fail ($rc)" \
  bash -c '[ "$1" = 1 ] && [ "$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"outcome\"])" "$2")" = fail ]' \
  _ "$rc" "$out_dir/pr-status.json"
out_dir=$work/pipe-denied
mkdir -p "$out_dir" && chmod 0777 "$out_dir"
run_image --network=host -v "$out_dir:/workspace" "${pipe_env[@]}" \
  -e BITBUCKET_ACCESS_TOKEN=wrong-token -e REQUIRE=open --
expect "fake API, refused token: exit code 3 ($rc)" test "$rc" = 3
expect "fake API, refused token: the token is not in the output" \
  bash -c '! printf "%s" "$1" | grep -q wrong-token' _ "$out"

# 4. A host name, not an address: the static binary resolves names in a scratch image (glibc's
#    built-in `files` source, /etc/hosts from the runtime, nsswitch.conf from the image).
out_dir=$work/pipe-name
mkdir -p "$out_dir" && chmod 0777 "$out_dir"
run_image --network=host -v "$out_dir:/workspace" "${pipe_env[@]}" \
  -e BITBUCKET_API_URL="http://localhost:$(cat "$work/port")/2.0" -e REQUIRE=open --
expect "fake API by name (http://localhost:PORT): exit code 0 ($rc: $out)" test "$rc" = 0

kill "$fake_pid" 2>/dev/null || true
wait "$fake_pid" 2>/dev/null || true
fake_pid=

# ---- the image's CA bundle is the one the binary trusts ----------------------------------------
# A test CA signs a certificate for 127.0.0.1 and the fake serves HTTPS with it. Mounted over
# /etc/ssl/certs/ca-certificates.crt (the image's bundle plus the test CA) the lookup succeeds;
# with the image's own bundle the certificate is refused (exit 4). So the binary reads its
# roots from that path, and the bundle in the image is what it trusts.
tls=$work/tls
mkdir -p "$tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=pr-status smoke CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
  -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$tls/leaf.key" -out "$tls/leaf.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$tls/leaf.ext"
openssl x509 -req -in "$tls/leaf.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -days 2 \
  -extfile "$tls/leaf.ext" -out "$tls/leaf.pem" 2>/dev/null
cat /etc/ssl/certs/ca-certificates.crt "$tls/ca.pem" > "$tls/bundle.pem"
chmod 0644 "$tls"/*.pem
rm -f "$work/port"
python3 scripts/fake_bitbucket_cloud.py --port-file "$work/port" --log "$work/tls-requests.log" \
  --workspace acme --repo widgets --commit "$commit" --token "$token" \
  --tls-cert "$tls/leaf.pem" --tls-key "$tls/leaf.key" &
fake_pid=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { echo "container-smoke: the HTTPS fake API did not start" >&2; exit 1; }
tls_env=("${pipe_env[@]}" -e BITBUCKET_API_URL="https://127.0.0.1:$(cat "$work/port")/2.0" -e REQUIRE=open)
out_dir=$work/tls-trusted
mkdir -p "$out_dir" && chmod 0777 "$out_dir"
run_image --network=host -v "$out_dir:/workspace" \
  -v "$tls/bundle.pem:/etc/ssl/certs/ca-certificates.crt:ro" "${tls_env[@]}" --
expect "HTTPS fake, test CA in /etc/ssl/certs/ca-certificates.crt: exit code 0 ($rc: $out)" test "$rc" = 0
out_dir=$work/tls-untrusted
mkdir -p "$out_dir" && chmod 0777 "$out_dir"
run_image --network=host -v "$out_dir:/workspace" "${tls_env[@]}" --
expect "HTTPS fake, the image's own bundle: certificate refused, exit code 4 ($rc: $out)" test "$rc" = 4
kill "$fake_pid" 2>/dev/null || true
wait "$fake_pid" 2>/dev/null || true
fake_pid=

# ---- the GitHub Action's image, run the way the runner runs it ---------------------------------
echo "--- podman build (final stage of action.Dockerfile) and action.yml's environment"
build_image action.Dockerfile "$action_tag"
set +e
python3 tests/packaging/action_env.py --podman "$action_tag"
action_rc=$?
set -e
expect "action.yml's environment in action.Dockerfile's image, as GitHub's runner runs it" \
  test "$action_rc" = 0

echo "container smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
