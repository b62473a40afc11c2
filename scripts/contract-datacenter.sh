#!/usr/bin/env bash
# Contract check of the Bitbucket Data Center provider: runs the real pr-status binary against
# a fake Data Center (scripts/fake_bitbucket_datacenter.py) through Prism in proxy mode with
# --errors, which validates every request the binary sends, and every answer, against the
# Data Center 9.2 API description. A request or answer the description does not allow makes
# Prism answer 422/500 instead of forwarding it, and log a "✖ error" line: either fails here.
#
# Covered request shapes (all GET, as the provider sends them):
#   /rest/api/latest/projects/{key}/repos/{slug}/commits/{commit}/pull-requests?start=&limit=
#     (first and next page; a project key and a personal ~user key)
#   /rest/api/latest/projects/{key}/repos/{slug}/pull-requests/{id}
#   /rest/build-status/latest/commits/{commit}?start=&limit=
#   /rest/api/latest/projects/{key}/repos/{slug}/pull-requests/{id}/merge
#   /rest/api/latest/projects/{key}/repos/{slug}/settings/pull-requests
#   /rest/required-builds/latest/projects/{key}/repos/{slug}/conditions?start=&limit=
# with Bearer and Basic credentials, and a refused token (the 401 errors[] answer). The answers
# checked include the two real recordings in tests/fixtures/real/bitbucket-datacenter/.
# Two negative controls prove the check can fail: an answer with a build state the API does
# not have, and the per-repository builds GET without its required `key`.
#
# Needs python3, cargo and prism (npm install -g @stoplight/prism-cli; installed here when
# missing). PR_STATUS_CONTRACT_KEEP=1 keeps Prism's log and the requests. The API description: PR_STATUS_DC_OPENAPI, default
# spec/vendor/bitbucket-datacenter-9.2.openapi.json in the repository.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
spec=${PR_STATUS_DC_OPENAPI:-$repo/spec/vendor/bitbucket-datacenter-9.2.openapi.json}
[ -f "$spec" ] || { echo "contract-datacenter: API description not found at $spec (set PR_STATUS_DC_OPENAPI)" >&2; exit 1; }
if ! command -v prism >/dev/null 2>&1; then
  echo "contract-datacenter: npm install -g @stoplight/prism-cli" >&2
  npm install -g --silent --no-fund --no-audit @stoplight/prism-cli >/dev/null
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${PR_STATUS_CONTRACT_KEEP:-}" ]; then echo "contract-datacenter: logs kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

(cd "$repo" && cargo build --quiet --locked)
bin=${CARGO_TARGET_DIR:-$repo/target}/debug/pr-status

# The description's server is http://{baseurl}/rest and its paths start after /rest; Prism
# matches request paths against the paths alone, so the copy it loads carries the prefix.
python3 - "$spec" "$work/openapi.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["paths"] = {"/rest" + p: v for p, v in d["paths"].items()}
d["servers"] = [{"url": "/"}]
json.dump(d, open(sys.argv[2], "w"))
EOF

commit=0123456789abcdef0123456789abcdef01234567
token=contract-token-7f3e
python3 "$repo/scripts/fake_bitbucket_datacenter.py" --port-file "$work/fake.port" --log "$work/requests.jsonl" \
  --commit "$commit" --token "$token" --basic "jenkins:contract-pw-1" &
pids+=($!)
for _ in $(seq 100); do [ -f "$work/fake.port" ] && break; sleep 0.1; done
fake_port=$(cat "$work/fake.port")
prism_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
prism proxy --errors -h 127.0.0.1 -p "$prism_port" "$work/openapi.json" "http://127.0.0.1:$fake_port" >"$work/prism.log" 2>&1 &
pids+=($!)
for _ in $(seq 180); do grep -q "Prism is listening" "$work/prism.log" && break; sleep 0.5; done
grep -q "Prism is listening" "$work/prism.log" || { cat "$work/prism.log" >&2; echo "contract-datacenter: prism did not start" >&2; exit 1; }
url="http://127.0.0.1:$prism_port"

passed=0
failed=0
lines() { wc -l <"$1" 2>/dev/null | tr -d ' ' || echo 0; }
touch "$work/requests.jsonl"

# scenario NAME EXPECTED_EXIT EXPECTED_REQUESTS VIOLATIONS(no|yes) VAR=VALUE...
scenario() {
  local name=$1 want=$2 want_requests=$3 violations=$4; shift 4
  local log_before req_before code=0
  log_before=$(lines "$work/prism.log")
  req_before=$(lines "$work/requests.jsonl")
  env -i PATH="$PATH" SUMMARY_FILE="$work/summary.json" HTTP_RETRY_DELAY_MS=20 HTTP_TIMEOUT=10 \
    BITBUCKET_SERVER_URL="$url" BITBUCKET_REPO_SLUG=widget "$@" "$bin" >"$work/out" 2>"$work/err" || code=$?
  local new_log requests bad
  new_log=$(tail -n +"$((log_before + 1))" "$work/prism.log")
  requests=$(($(lines "$work/requests.jsonl") - req_before))
  bad=$(printf '%s\n' "$new_log" | grep -E '✖|⚠' || true)
  local why=""
  [ "$code" -eq "$want" ] || why="exit $code, expected $want: $(cat "$work/err")"
  [ -n "$why" ] || [ "$requests" -eq "$want_requests" ] || why="$requests requests reached the server through Prism, expected $want_requests"
  if [ -z "$why" ] && [ "$violations" = no ] && [ -n "$bad" ]; then why="Prism reported: $bad"; fi
  if [ -z "$why" ] && [ "$violations" = yes ] && [ -z "$bad" ]; then why="Prism reported no violation"; fi
  if [ -z "$why" ]; then
    echo "ok    $name ($requests requests)"
    passed=$((passed + 1))
  else
    echo "FAIL  $name: $why" >&2
    echo "      the requests that reached the server:" >&2
    tail -n "$requests" "$work/requests.jsonl" | sed 's/^/      /' >&2
    failed=$((failed + 1))
  fi
}

common=(BITBUCKET_PROJECT_KEY=PROJ BITBUCKET_COMMIT=$commit)
scenario "commit lookup, two pages, builds of two heads, Bearer" 0 4 no "${common[@]}" BITBUCKET_ACCESS_TOKEN=$token
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert [p["id"] for p in s["pull_requests"]] == [7, 9], s' \
  "$work/summary.json" || { echo "FAIL  the summary does not hold PRs 7 and 9" >&2; failed=$((failed + 1)); }
scenario "commit lookup, Basic" 0 4 no "${common[@]}" BITBUCKET_USERNAME=jenkins BITBUCKET_PASSWORD=contract-pw-1
scenario "Jenkins GIT_COMMIT, gate" 1 4 no BITBUCKET_PROJECT_KEY=PROJ GIT_COMMIT=$commit BITBUCKET_ACCESS_TOKEN=$token \
  REQUIRE=approved,no-changes-requested
scenario "personal repository ~jane.doe" 0 4 no 'BITBUCKET_PROJECT_KEY=~jane.doe' BITBUCKET_COMMIT=$commit \
  BITBUCKET_ACCESS_TOKEN=$token
scenario "BITBUCKET_PR_ID" 0 2 no BITBUCKET_PROJECT_KEY=PROJ BITBUCKET_PR_ID=7 BITBUCKET_ACCESS_TOKEN=$token
# The repository's rules: the lookup's 4, PR 7's verdict (PR 9 is merged: none asked), the
# pull-request settings and the required-builds checks.
scenario "rules: REQUIRE=mergeable, MIN_APPROVALS, FRESH_APPROVALS, REQUIRED_BUILDS=auto" 1 7 no "${common[@]}" \
  BITBUCKET_ACCESS_TOKEN=$token REQUIRE=open,approved,mergeable MIN_APPROVALS=auto FRESH_APPROVALS=auto \
  REQUIRED_BUILDS=auto
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); p=s["pull_requests"][0]
assert s["min_approvals"] == 2 and s["min_approvals_source"] == "rules", s
assert p["mergeable"] is False and p["merge_vetoes"][0]["rule"] == "Not all tasks are resolved", p' \
  "$work/summary.json" || { echo "FAIL  the rules are not in the summary" >&2; failed=$((failed + 1)); }
scenario "refused token (401 errors[])" 3 2 no "${common[@]}" BITBUCKET_ACCESS_TOKEN=wrong-token-0000
scenario "recorded Jenkins-plugin page (AMUNIZ/test-repos)" 0 4 no BITBUCKET_PROJECT_KEY=AMUNIZ \
  BITBUCKET_REPO_SLUG=test-repos BITBUCKET_COMMIT=$commit BITBUCKET_ACCESS_TOKEN=$token
scenario "recorded danger-js PR (PROJ/repo #1)" 0 2 no BITBUCKET_PROJECT_KEY=PROJ BITBUCKET_REPO_SLUG=repo \
  BITBUCKET_PR_ID=1 BITBUCKET_ACCESS_TOKEN=$token

# Negative controls: the check must be able to fail.
# 7 requests: two PR pages, four attempts at the bad builds (Prism rejects each answer), and
# the other PR head's builds, which the shared lookup flow reads before it reports the failed list.
scenario "negative control: an answer with a build state the API does not have" 4 7 yes BITBUCKET_PROJECT_KEY=PROJ \
  BITBUCKET_COMMIT=badbadbadbadbadbadbadbadbadbadbadbadbad0 BITBUCKET_ACCESS_TOKEN=$token
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
  "$url/rest/api/latest/projects/PROJ/repos/widget/commits/$commit/builds")
if [ "$status" = 422 ]; then
  echo "ok    negative control: the per-repository builds GET without key is refused (422)"
  passed=$((passed + 1))
else
  echo "FAIL  negative control: the per-repository builds GET without key gave $status, expected 422" >&2
  failed=$((failed + 1))
fi

echo "contract datacenter: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
