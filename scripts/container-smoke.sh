#!/usr/bin/env bash
# The checks hand their values to `bash -c '...'` as arguments, single-quoted on purpose.
# shellcheck disable=SC2016
# Container smoke test. Base images cannot be pulled here, so this rebuilds the Dockerfile's
# targets FROM scratch with a locally built static binary, the host's CA bundle and the host's
# busybox-static: the Containerfiles are generated from the Dockerfile
# (scripts/dockerfile_stages.py) and the files come from the same docker/rootfs.sh and
# docker/busybox.sh the Dockerfile runs, so the two cannot drift.
# Then it runs the default image with podman: --version, demo, the pipe's environment against a
# fake Bitbucket Cloud API on loopback, and action.Dockerfile's variant the way GitHub's runner
# does; and the `shell` image: `sh -c`, and a GitLab CI job as GitLab Runner's Docker executor
# runs one (the shell found by the runner's probe, the job script on stdin) against a fake
# GitLab API on loopback; and the binary copied out of the image into another one.
#
# Needs podman + runc, python3 with PyYAML, cargo, readelf and busybox-static
# (scripts/install-tools.sh).
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
shell_tag=localhost/pr-status-shell-smoke:$$
own_tag=localhost/pr-status-own-smoke:$$
action_tag=localhost/pr-status-action-smoke:$$
busybox=${PR_STATUS_SMOKE_BUSYBOX:-/bin/busybox} # must be static: Debian's busybox-static
commit=3f786850e387550fdab836ed7e6dc881de23001b
token=fake-access-token-0123456789

for tool in podman runc python3 readelf openssl "$busybox"; do
  command -v "$tool" >/dev/null || { echo "container-smoke: $tool is missing (run scripts/install-tools.sh)" >&2; exit 2; }
done
python3 -c 'import yaml' 2>/dev/null || { echo "container-smoke: PyYAML is missing (run scripts/install-tools.sh)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/pr-status-smoke.XXXXXX")
fake_pid=
cleanup() {
  [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null && wait "$fake_pid" 2>/dev/null
  "${podman[@]}" rmi -f "$tag" "$shell_tag" "$own_tag" "$action_tag" >/dev/null 2>&1 || true
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

# ---- the image, generated from the Dockerfile's default target ---------------------------------
# build_image DOCKERFILE TAG [TARGET]: lays out the files the target copies from other stages
# and builds the derived Containerfile (TARGET: a stage name; default the last stage).
build_image() {
  local dockerfile=$1 image=$2 target=${3:-} ctx stage
  ctx=$(mktemp -d "$work/ctx.XXXXXX")
  for stage in $(python3 scripts/dockerfile_stages.py stages "$dockerfile" ${target:+"$target"}); do
    case $stage in
      build) install -D -m 0755 "$bin" "$ctx/build/out/pr-status" ;;
      rootfs) docker/rootfs.sh "$ctx/rootfs/rootfs" ;;
      busybox) docker/busybox.sh "$ctx/busybox/busybox" "$busybox" ;;
      *) echo "container-smoke: the image copies from stage '$stage', which this script cannot lay out" >&2; return 1 ;;
    esac
  done
  python3 scripts/dockerfile_stages.py smoke "$dockerfile" ${target:+"$target"} > "$ctx/Containerfile"
  "${podman[@]}" build --quiet --layers=false "${ulimits[@]}" --tag "$image" --file "$ctx/Containerfile" "$ctx" >/dev/null
}

echo "--- podman build (default target of Dockerfile)"
python3 scripts/dockerfile_stages.py smoke Dockerfile
build_image Dockerfile "$tag"
ok "image built from the Dockerfile's default target"

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
files=$(cd "$mnt" && find . ! -type d | sort | tr '\n' ' ')
default_files="./etc/group ./etc/nsswitch.conf ./etc/passwd ./etc/ssl/certs/ca-certificates.crt ./usr/local/bin/pr-status "
expect "image holds only the binary, the CA bundle, passwd, group and nsswitch.conf: no shell ($files)" \
  test "$files" = "$default_files"
"${podman[@]}" image unmount "$tag" >/dev/null

# run_in IMAGE [podman run args...] -- [command args...]: runs IMAGE; status in $rc, output in $out.
run_in() {
  local image=$1 args=()
  shift
  while [ "$1" != -- ]; do args+=("$1"); shift; done
  shift
  set +e
  out=$("${podman[@]}" run --rm "${ulimits[@]}" "${args[@]}" "$image" "$@" 2>&1)
  rc=$?
  set -e
}
# run_image [podman run args...] -- [pr-status args...]: runs the default image.
run_image() { run_in "$tag" "$@"; }

# ---- --version ---------------------------------------------------------------------------------
version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n 1)
run_image --network=none -- --version
expect "--version in the image exits 0 and prints $version ($out)" \
  bash -c '[ "$1" -eq 0 ] && printf "%s" "$2" | grep -q -- "$3"' _ "$rc" "$out" "$version"
run_image --network=none --entrypoint /bin/sh -- -c true
expect "the default image has no /bin/sh to run (exit $rc)" test "$rc" -ne 0

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

# ---- README "Other CIs"'s user mapping: a workspace only the CI's user may write ------------------
out_dir=$work/user-mapped
mkdir -p "$out_dir" && chown 12345:12345 "$out_dir" && chmod 0755 "$out_dir"
run_image --network=none -v "$out_dir:/workspace" -- demo
expect "workspace owned by another user, image's own user 10001: exit 2, nothing written ($rc: $out)" \
  test "$rc" = 2 -a ! -e "$out_dir/pr-status.json"
run_image --network=none --user 12345:12345 -v "$out_dir:/workspace" -- demo
expect "the same workspace with --user 12345:12345: exit 0, pr-status.json belongs to 12345 ($rc)" \
  test "$rc" = 0 -a "$(stat -c %u "$out_dir/pr-status.json" 2>/dev/null)" = 12345

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

# ---- the `shell` target: the same image plus a static busybox ----------------------------------
echo "--- podman build (the Dockerfile's shell target)"
python3 scripts/dockerfile_stages.py smoke Dockerfile shell
build_image Dockerfile "$shell_tag" shell
ok "shell image built from the Dockerfile's shell target"
shell_bytes=$("${podman[@]}" image inspect --format '{{.Size}}' "$shell_tag")
busybox_bytes=$(stat -c %s "$busybox")
echo "busybox:          $busybox_bytes bytes, $(mb "$busybox_bytes") ($("$busybox" 2>&1 | head -n 1))"
echo "shell image size: $shell_bytes bytes, $(mb "$shell_bytes")"
"${podman[@]}" image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' "$shell_tag"
expect "shell image is under 15 MB" test "$shell_bytes" -lt "$max_image_bytes"
config=$("${podman[@]}" image inspect --format '{{.Config.User}}|{{json .Config.Entrypoint}}|{{.Config.WorkingDir}}' "$shell_tag")
expect "shell image keeps user 10001:10001, the entrypoint and /workspace ($config)" \
  test "$config" = '10001:10001|["/usr/local/bin/pr-status"]|/workspace'
expect "shell image sets PATH=/usr/local/bin:/bin" \
  bash -c '"${@:2}" image inspect --format "{{json .Config.Env}}" "$1" | grep -q "\"PATH=/usr/local/bin:/bin\""' _ "$shell_tag" "${podman[@]}"
mnt=$("${podman[@]}" image mount "$shell_tag")
files=$(cd "$mnt" && find . -type f | sort | tr '\n' ' ')
expect "shell image holds the default image's files plus /bin/busybox ($files)" \
  test "$files" = "./bin/busybox ${default_files}"
expect "shell image: /bin/sh and /usr/bin/env are links to busybox" \
  test "$(readlink "$mnt/bin/sh")|$(readlink "$mnt/usr/bin/env")" = "busybox|../../bin/busybox"
"${podman[@]}" image unmount "$shell_tag" >/dev/null

run_in "$shell_tag" --network=none --entrypoint "" -- sh -c 'pr-status --version && id -u'
expect "shell image: sh -c 'pr-status --version && id -u' prints $version and 10001 ($out)" \
  bash -c '[ "$1" -eq 0 ] && printf "%s" "$2" | grep -q -- "$3" && printf "%s" "$2" | grep -qx 10001' _ "$rc" "$out" "$version"
run_in "$shell_tag" --network=none -- --version
expect "shell image: the entrypoint still runs pr-status (--version, exit $rc)" \
  bash -c '[ "$1" -eq 0 ] && printf "%s" "$2" | grep -q -- "$3"' _ "$rc" "$out" "$version"

# A GitLab CI job with `image: {name: ...-shell, entrypoint: [""]}`, shaped as GitLab Runner's
# Docker executor runs it: the container's command is `sh -c <probe>`, the probe execs the first
# shell it finds, and the job script arrives on stdin and `cd`s into the project directory (which
# the runner's helper cloned with umask 0000, hence writable by the image's user).
gl_project=4242
gl_token=glpat-fake-token-0123456789
rm -f "$work/port"
python3 scripts/fake_gitlab.py --port-file "$work/port" --log "$work/gitlab-requests.log" \
  --project "$gl_project" --project-path acme/widgets --commit "$commit" --token "$gl_token" &
fake_pid=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { echo "container-smoke: the fake GitLab API did not start" >&2; exit 1; }
probe='for s in /usr/local/bin/bash /usr/bin/bash /bin/bash /usr/local/bin/sh /usr/bin/sh /bin/sh /busybox/sh; do
  if [ -x "$s" ]; then exec "$s"; fi
done
echo shell not found; exit 1'
cat > "$work/job.sh" <<'JOB'
set -eo pipefail
cd "$CI_PROJECT_DIR"
echo '$ pr-status'
pr-status
echo '$ set -a; . ./pr-status.env; set +a'
set -a; . ./pr-status.env; set +a
echo "dotenv: PR_STATUS_OUTCOME=$PR_STATUS_OUTCOME PR_ID=$PR_ID PR_APPROVALS=$PR_APPROVALS"
JOB
project_dir=/builds/acme/widgets
gitlab_env=(
  -e CI=true -e GITLAB_CI=true -e CI_SERVER=yes
  -e CI_API_V4_URL="http://127.0.0.1:$(cat "$work/port")/api/v4" -e CI_PROJECT_ID="$gl_project"
  -e CI_PROJECT_PATH=acme/widgets -e CI_PROJECT_URL=https://gitlab.example.com/acme/widgets
  -e CI_PROJECT_DIR="$project_dir" -e CI_COMMIT_SHA="$commit" -e CI_COMMIT_REF_NAME=feature/pr-status
  -e CI_PIPELINE_ID=1240 -e CI_PIPELINE_SOURCE=push -e CI_JOB_TOKEN=fake-job-token
  -e GITLAB_TOKEN="$gl_token" -e SUMMARY_MARKDOWN_FILE=pr-status.md -e SUMMARY_DOTENV_FILE=pr-status.env
)
out_dir=$work/gitlab-job
mkdir -p "$out_dir" && chmod 0777 "$out_dir"
run_in "$shell_tag" -i --network=host --entrypoint "" -v "$out_dir:$project_dir" "${gitlab_env[@]}" \
  -e REQUIRE=open,approved,builds-passed -- sh -c "$probe" < "$work/job.sh"
expect "GitLab job, REQUIRE=open,approved,builds-passed: exit code 0 ($rc: $out)" test "$rc" = 0
if [ -f "$out_dir/pr-status.json" ]; then
  expect "GitLab job: pr-status.json in the project dir has provider gitlab, outcome pass, MR !7 with 1 approval and a passed pipeline" \
    python3 -c 'import json,sys
s=json.load(open(sys.argv[1])); pr=s["pull_requests"][0]
sys.exit(0 if (s["provider"], s["outcome"], s["selected_pr"], pr["approvals"], [b["state"] for b in pr["builds"]]) == ("gitlab", "pass", 7, 1, ["SUCCESSFUL"]) else 1)' \
    "$out_dir/pr-status.json"
  expect "GitLab job: pr-status.md and pr-status.env written beside it" test -f "$out_dir/pr-status.md" -a -f "$out_dir/pr-status.env"
else
  fail "GitLab job: pr-status.json written into the project dir ($out)"
fi
expect "GitLab job: the job script sourced pr-status.env with busybox sh" \
  bash -c 'printf "%s" "$1" | grep -q "dotenv: PR_STATUS_OUTCOME=pass PR_ID=7 PR_APPROVALS=1"' _ "$out"
expect "GitLab job: the commit's MRs, the MR, its approvals and reviewers were read with PRIVATE-TOKEN" \
  python3 -c 'import json,sys
reqs=[json.loads(l) for l in open(sys.argv[1])]
base="/api/v4/projects/"+sys.argv[2]
want={base+"/repository/commits/"+sys.argv[3]+"/merge_requests", base+"/merge_requests/7",
      base+"/merge_requests/7/approvals", base+"/merge_requests/7/reviewers"}
got={r["path"] for r in reqs if r["private_token"]==sys.argv[4]}
sys.exit(0 if want <= got else 1)' "$work/gitlab-requests.log" "$gl_project" "$commit" "$gl_token"
out_dir=$work/gitlab-job-closed
mkdir -p "$out_dir" && chmod 0777 "$out_dir"
run_in "$shell_tag" -i --network=host --entrypoint "" -v "$out_dir:$project_dir" "${gitlab_env[@]}" \
  -e REQUIRE=merged -- sh -c "$probe" < "$work/job.sh"
expect "GitLab job, REQUIRE=merged: the job fails with pr-status's exit code 1 ($rc)" \
  bash -c '[ "$1" = 1 ] && [ "$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"outcome\"])" "$2")" = fail ]' \
  _ "$rc" "$out_dir/pr-status.json"
kill "$fake_pid" 2>/dev/null || true
wait "$fake_pid" 2>/dev/null || true
fake_pid=

# ---- README "Other CIs"'s "copy the binary into your own image", with the default image as source --
ctx=$(mktemp -d "$work/ctx.XXXXXX")
docker/busybox.sh "$ctx/busybox" "$busybox"
cat > "$ctx/Containerfile" <<EOF
FROM scratch
COPY busybox/ /
COPY --from=$tag /usr/local/bin/pr-status /usr/local/bin/
COPY --from=$tag /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
ENV PATH=/usr/local/bin:/bin
EOF
"${podman[@]}" build --quiet --layers=false "${ulimits[@]}" --tag "$own_tag" --file "$ctx/Containerfile" "$ctx" >/dev/null
run_in "$own_tag" --network=none -- sh -c 'pr-status --version'
expect "COPY --from=<image> /usr/local/bin/pr-status into another image: it runs there ($out)" \
  bash -c '[ "$1" -eq 0 ] && printf "%s" "$2" | grep -q -- "$3"' _ "$rc" "$out" "$version"
"${podman[@]}" rmi -f "$own_tag" >/dev/null 2>&1 || true

# ---- the GitHub Action's image, run the way the runner runs it ---------------------------------
echo "--- podman build (default target of action.Dockerfile) and action.yml's environment"
build_image action.Dockerfile "$action_tag"
set +e
python3 tests/packaging/action_env.py --podman "$action_tag"
action_rc=$?
set -e
expect "action.yml's environment in action.Dockerfile's image, as GitHub's runner runs it" \
  test "$action_rc" = 0

echo "container smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
