"""The quota half of scripts/bench.py: what a wait for builds, a wide lookup, REQUIRE=mergeable
and a whole team's pipelines cost in requests. Run through scripts/bench.py.

Every fake is a local threaded HTTP server that counts requests and the most in flight at once,
and answers like the forge documents it: GitHub with an ETag on every answer and a 304 without a
body to a matching If-None-Match, Bitbucket Cloud with no ETag and, to access tokens,
X-RateLimit-Limit / X-RateLimit-Resource / X-RateLimit-NearLimit (less than 20 % left).
"""
import json
import os
import random
import socket
import subprocess
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class Server(ThreadingHTTPServer):
    request_queue_size = 256
    daemon_threads = True


class Fake:
    """A local API: `route(handler, path, query)` returns (status, headers, body or None)."""

    def __init__(self, route, latency=0.0):
        self.route = route
        self.latency = latency
        self.lock = threading.Lock()
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.not_modified = 0
        self.paths = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def answer(self):
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                with fake.lock:
                    fake.requests += 1
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                    fake.paths.append(self.command + " " + self.path)
                try:
                    time.sleep(fake.latency)
                    url = urlparse(self.path)
                    status, headers, body = fake.route(self, url.path, parse_qs(url.query))
                finally:
                    with fake.lock:
                        fake.in_flight -= 1
                data = b"" if body is None else json.dumps(body).encode()
                etag = None
                if status == 200 and headers.pop("etag", False):
                    etag = '"%08x"' % zlib.crc32(data)
                    if self.headers.get("if-none-match") == etag:
                        status, data = 304, b""
                        with fake.lock:
                            fake.not_modified += 1
                self.send_response(status)
                if etag:
                    self.send_header("etag", etag)
                for k, v in headers.items():
                    self.send_header(k, v)
                if data:
                    self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = answer
            do_POST = answer

        self.server = Server(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


def run(binary, env, summary=None):
    """Runs the binary; returns (exit code, wall seconds, summary dict or None)."""
    path = summary or f"/tmp/pr-status-bench-{os.getpid()}-{threading.get_ident()}.json"
    env = dict(env, SUMMARY_FILE=path)
    started = time.perf_counter()
    proc = subprocess.run([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=900)
    wall = time.perf_counter() - started
    try:
        with open(path) as f:
            doc = json.load(f)
        os.unlink(path)
    except (OSError, ValueError):
        doc = None
    return proc.returncode, wall, doc


# ---- Bitbucket Cloud ----

def cloud_pr(commit, approved=True):
    return {
        "type": "pullrequest", "id": 1, "title": "PR 1", "state": "OPEN", "draft": False,
        "links": {"html": {"href": "https://bitbucket.org/acme/widget/pull-requests/1"}},
        "author": {"type": "user", "display_name": "Ann", "uuid": "{a}"},
        "source": {"branch": {"name": "feature/x"}, "commit": {"hash": commit[:12]}},
        "destination": {"branch": {"name": "main"}},
        "created_on": "2026-11-01T10:00:00+00:00", "updated_on": "2026-11-02T10:00:00+00:00",
        "participants": [{"type": "participant", "user": {"type": "user", "display_name": "Rita", "uuid": "{r}"},
                          "role": "REVIEWER", "approved": approved, "state": "approved" if approved else None}],
        "task_count": 0, "comment_count": 0,
    }


def cloud_env(origin, commit=COMMIT, **extra):
    env = {
        "BITBUCKET_API_URL": f"{origin}/2.0", "BITBUCKET_WORKSPACE": "acme", "BITBUCKET_REPO_SLUG": "widget",
        "BITBUCKET_COMMIT": commit, "BITBUCKET_ACCESS_TOKEN": "bench-token",
        "REQUIRE": "open,approved,builds-passed",
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env


def cloud_route(build_state):
    """Bitbucket Cloud: one approved PR; `build_state(commit)` is its build's state now."""
    def route(_h, path, _q):
        parts = path.split("/")
        if path.endswith("/pullrequests") and "/commit/" in path:
            commit = parts[-2]
            return 200, {}, {"pagelen": 50, "page": 1, "size": 1, "values": [cloud_pr(commit)]}
        if path.endswith("/statuses"):
            commit = parts[-2]
            return 200, {}, {"pagelen": 100, "page": 1, "size": 1, "values": [
                {"type": "build", "key": "unit", "name": "Unit", "state": build_state(commit), "url": "https://ci/1"}]}
        if path.endswith("/branch-restrictions"):
            return 200, {}, {"pagelen": 100, "page": 1, "size": 0, "values": []}
        if path == "/2.0/repositories/acme/widget":
            return 200, {}, {"full_name": "acme/widget"}
        return 404, {}, {"type": "error", "error": {"message": f"no {path}"}}
    return route


def wait_figures(binary, wait, poll):
    """A wait on a build that never finishes: requests, wall seconds, exit code."""
    fake = Fake(cloud_route(lambda _c: "INPROGRESS"))
    code, wall, _ = run(binary, cloud_env(fake.origin, WAIT_FOR_BUILDS=wait, POLL_INTERVAL=poll))
    fake.stop()
    return fake.requests, wall, code


# ---- GitHub ----

def github_pr(n, head=COMMIT):
    return {
        "number": n, "title": f"PR {n}", "state": "open", "draft": False, "merged_at": None,
        "html_url": f"https://github.com/acme/widget/pull/{n}", "user": {"login": "ann", "id": 1, "type": "User"},
        "head": {"ref": f"feature/{n}", "sha": head, "repo": {"full_name": "acme/widget"}},
        "base": {"ref": "main", "sha": "1" * 40, "repo": {"full_name": "acme/widget"}},
        "created_at": "2026-11-01T10:00:00Z", "updated_at": "2026-11-02T10:00:00Z",
        "requested_reviewers": [], "requested_teams": [],
        # GET /pulls/{n} only (REQUIRE=mergeable): GitHub's own verdict.
        "mergeable": True, "mergeable_state": "clean",
    }


def github_route(prs):
    repo = "/repos/acme/widget"

    def route(_h, path, q):
        headers = {"etag": True, "x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4000",
                   "x-ratelimit-reset": str(int(time.time()) // 3600 * 3600 + 3600), "x-ratelimit-resource": "core"}
        page = int(q.get("page", ["1"])[0])
        if path == f"{repo}/commits/{COMMIT}/pulls":
            items = [github_pr(n) for n in range((page - 1) * 100 + 1, min(prs, page * 100) + 1)]
            if page * 100 < prs:
                headers["link"] = f'<{path}?per_page=100&page={page + 1}>; rel="next"'
            return 200, headers, items
        if path.endswith("/reviews"):
            return 200, headers, [{"id": 1, "user": {"login": "rita", "id": 2, "type": "User"}, "state": "APPROVED",
                                   "submitted_at": "2026-11-01T11:00:00Z", "commit_id": COMMIT}]
        if path.endswith("/check-runs"):
            return 200, headers, {"total_count": 1, "check_runs": [
                {"id": 1, "name": "unit", "status": "completed", "conclusion": "success",
                 "details_url": "https://ci/1", "html_url": "https://github.com/acme/widget/runs/1"}]}
        if path.endswith(f"/commits/{COMMIT}/status"):
            return 200, headers, {"state": "success", "sha": COMMIT, "total_count": 0, "statuses": []}
        if path.startswith(f"{repo}/pulls/"):
            return 200, headers, github_pr(int(path.split("/")[-1]))
        if path.startswith(f"{repo}/rules/branches/"):
            return 200, headers, []
        if path.startswith(f"{repo}/branches/"):
            return 200, headers, {"name": path.split("/")[-1], "protected": False}
        return 404, {}, {"message": "Not Found"}
    return route


def github_env(origin, **extra):
    env = {"GITHUB_ACTIONS": "true", "GITHUB_API_URL": origin, "GITHUB_REPOSITORY": "acme/widget",
           "GITHUB_SHA": COMMIT, "GITHUB_TOKEN": "bench-token", "REQUIRE": "open,approved,builds-passed"}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def in_flight_figures(binary, prs=300):
    fake = Fake(github_route(prs), latency=0.020)
    code, wall, doc = run(binary, github_env(fake.origin))
    fake.stop()
    found = len(doc["pull_requests"]) if doc else 0
    return fake.requests, fake.max_in_flight, wall, code, found


# ---- REQUIRE=mergeable on each forge ----

def dc_route(_h, path, _q):
    repo = "/rest/api/latest/projects/PROJ/repos/widget"
    if path == f"{repo}/commits/{COMMIT}/pull-requests":
        return 200, {}, {"size": 1, "limit": 25, "isLastPage": True, "start": 0, "values": [{
            "id": 7, "title": "PR 7", "state": "OPEN", "open": True, "closed": False, "draft": False,
            "createdDate": 1700000000000, "updatedDate": 1700000000001,
            "fromRef": {"id": "refs/heads/topic", "displayId": "topic", "latestCommit": COMMIT},
            "toRef": {"id": "refs/heads/main", "displayId": "main", "latestCommit": "f" * 40},
            "author": {"user": {"id": 1, "name": "alice", "slug": "alice", "displayName": "Alice"},
                       "role": "AUTHOR", "approved": False, "status": "UNAPPROVED"},
            "reviewers": [{"user": {"id": 2, "name": "rita", "slug": "rita", "displayName": "Rita"},
                           "role": "REVIEWER", "approved": True, "status": "APPROVED"}],
            "participants": [], "links": {"self": [{"href": "https://bitbucket.example.com/pr/7"}]}}]}
    if path == f"/rest/build-status/latest/commits/{COMMIT}":
        return 200, {}, {"size": 1, "limit": 25, "isLastPage": True, "start": 0,
                         "values": [{"key": "unit", "name": "Unit", "state": "SUCCESSFUL", "url": "https://ci/1"}]}
    if path.endswith("/pull-requests/7/merge"):
        return 200, {}, {"canMerge": True, "conflicted": False, "outcome": "CLEAN", "vetoes": []}
    if path.endswith("/settings/pull-requests"):
        return 200, {}, {"requiredApprovers": 0, "requiredAllApprovers": False, "requiredSuccessfulBuilds": 0}
    if "required-builds" in path:
        return 200, {}, {"size": 0, "limit": 25, "isLastPage": True, "start": 0, "values": []}
    return 404, {}, {"errors": [{"message": f"no {path}"}]}


def gitlab_route(_h, path, _q):
    project = "/api/v4/projects/acme%2Fwidget"
    mr = {"id": 1, "iid": 7, "project_id": 1, "title": "MR 7", "state": "opened", "draft": False,
          "author": {"id": 1, "username": "ann", "name": "Ann"}, "source_branch": "topic", "target_branch": "main",
          "sha": COMMIT, "user_notes_count": 0, "created_at": "2026-11-02T08:00:00Z",
          "updated_at": "2026-11-02T10:00:00Z", "web_url": "https://gitlab.example/acme/widget/-/merge_requests/7",
          "reviewers": [], "merge_status": "can_be_merged", "detailed_merge_status": "mergeable",
          "head_pipeline": {"id": 9, "iid": 9, "project_id": 1, "sha": COMMIT, "ref": "topic", "status": "success",
                            "source": "push", "web_url": "https://gitlab.example/acme/widget/-/pipelines/9"}}
    p = path.replace("%2F", "%2f").replace("acme%2fwidget", "acme%2Fwidget")
    if p == f"{project}/repository/commits/{COMMIT}/merge_requests":
        return 200, {}, [mr]
    if p == f"{project}/merge_requests/7":
        return 200, {}, mr
    if p == f"{project}/merge_requests/7/approvals":
        return 200, {}, {"approved": True, "approvals_required": 1, "approvals_left": 0,
                         "approved_by": [{"user": {"id": 2, "username": "rita", "name": "Rita"}}]}
    if p == f"{project}/merge_requests/7/reviewers" or p.endswith("/statuses") or p.endswith("/versions"):
        return 200, {}, []
    if p == project:
        return 200, {}, {"id": 1, "only_allow_merge_if_pipeline_succeeds": False}
    if p == f"{project}/approvals":
        return 200, {}, {"approvals_before_merge": 0, "reset_approvals_on_push": False}
    return 404, {}, {"message": "404 Not found"}


def mergeable_rows(binary, latency=0.050):
    rows = []
    forges = [
        ("bitbucket-cloud", lambda o: cloud_env(o, REQUIRE="open,approved,builds-passed,mergeable"),
         cloud_route(lambda _c: "SUCCESSFUL")),
        ("bitbucket-datacenter", lambda o: {
            "BITBUCKET_SERVER_URL": o, "BITBUCKET_PROJECT_KEY": "PROJ", "BITBUCKET_REPO_SLUG": "widget",
            "BITBUCKET_COMMIT": COMMIT, "BITBUCKET_ACCESS_TOKEN": "bench-token",
            "REQUIRE": "open,approved,builds-passed,mergeable"}, dc_route),
        ("github", lambda o: github_env(o, REQUIRE="open,approved,builds-passed,mergeable"), github_route(1)),
        ("gitlab", lambda o: {
            "GITLAB_CI": "true", "CI_API_V4_URL": f"{o}/api/v4", "CI_PROJECT_ID": "acme/widget",
            "CI_COMMIT_SHA": COMMIT, "GITLAB_TOKEN": "bench-token",
            "REQUIRE": "open,approved,builds-passed,mergeable"}, gitlab_route),
    ]
    for name, env, route in forges:
        fake = Fake(route, latency=latency)
        code, wall, doc = run(binary, env(fake.origin))
        fake.stop()
        outcome = doc.get("outcome") if doc else "-"
        rows.append((name, fake.requests, wall, wall / latency, code, outcome, doc))
    return rows


# ---- a team: 200 pipelines an hour through one 1,000-an-hour quota ----

class Quota:
    """Bitbucket Cloud's rolling one-hour window (time-scaled), as an access token sees it."""

    def __init__(self, limit, hour):
        self.limit, self.hour = limit, hour
        self.sent = []
        self.lock = threading.Lock()
        self.refused = 0

    def take(self):
        now = time.monotonic()
        with self.lock:
            self.sent = [t for t in self.sent if now - t < self.hour]
            if len(self.sent) >= self.limit:
                self.refused += 1
                return False, 0
            self.sent.append(now)
            return True, self.limit - len(self.sent)


def team_figures(binary, scale=10, pipelines=200, limit=1000, mean_wait=300.0, seed=7):
    """Starts `pipelines` runs spread over one (scaled) hour, each waiting for a build that takes
    on average `mean_wait` seconds (exponential), all through one quota of `limit` an hour.
    Time runs `scale` times faster: POLL_INTERVAL=1 stands in for 10 s."""
    hour = 3600.0 / scale
    rng = random.Random(seed)
    waits = [rng.expovariate(1.0 / (mean_wait / scale)) for _ in range(pipelines)]
    commits = [f"{i:08x}" + COMMIT[8:] for i in range(pipelines)]
    first_seen = {}
    lock = threading.Lock()
    quota = Quota(limit, hour)
    limited = set()

    def state(commit):
        with lock:
            started = first_seen.setdefault(commit, time.monotonic())
        i = commits.index(commit)
        return "SUCCESSFUL" if time.monotonic() - started >= waits[i] else "INPROGRESS"

    inner = cloud_route(state)

    def route(h, path, q):
        ok, left = quota.take()
        limit_headers = {"X-RateLimit-Limit": str(limit), "X-RateLimit-Resource": "api"}
        commit = next((c for c in commits if c in path), None)
        if not ok:
            if commit:
                with lock:
                    limited.add(commit)
            return 429, limit_headers, {"type": "error", "error": {"message": "Rate limit for this resource has been exceeded"}}
        if left < limit * 0.2:
            limit_headers["X-RateLimit-NearLimit"] = "true"
        status, headers, body = inner(h, path, q)
        headers.update(limit_headers)
        return status, headers, body

    fake = Fake(route)
    results = [None] * pipelines

    def one(i):
        env = cloud_env(fake.origin, commit=commits[i], WAIT_FOR_BUILDS=int(3600 / scale), POLL_INTERVAL=1,
                        HTTP_RETRY_DELAY_MS=100)
        results[i] = run(binary, env, summary=f"/tmp/pr-status-team-{os.getpid()}-{id(fake)}-{i}.json")[0]

    threads = []
    started = time.monotonic()
    for i in range(pipelines):
        delay = started + i * hour / pipelines - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        t = threading.Thread(target=one, args=(i,))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    fake.stop()
    codes = {c: results.count(c) for c in sorted(set(results))}
    return {"requests": fake.requests, "refused": quota.refused, "pipelines_refused": len(limited),
            "codes": codes, "wall": time.monotonic() - started}


def run_all(binary, before, quick=False):
    binaries = [("before", before), ("after", binary)] if before else [("this", binary)]
    print()
    print("A wait for builds that never finish (Bitbucket Cloud, 1 PR, exit 8 at the end).")
    print("POLL_INTERVAL=1 for 20 s is the scaled stand-in; 60 s at 1 s has as many intervals as 10 min at 10 s.")
    header = f"{'binary':>7} {'WAIT_FOR_BUILDS':>15} {'POLL_INTERVAL':>13} {'requests':>8} {'wall s':>7} {'exit':>4}"
    print(header)
    print("-" * len(header))
    for wait in (20, 60):
        results = {}
        threads = [threading.Thread(target=lambda n=n, b=b: results.__setitem__(n, wait_figures(b, wait, 1)))
                   for n, b in binaries]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for n, _ in binaries:
            req, wall, code = results[n]
            print(f"{n:>7} {wait:>15} {1:>13} {req:>8} {wall:>7.1f} {code:>4}")
    print()
    print("300 GitHub pull requests with one head, 20 ms per answer: the most requests in flight at once.")
    header = f"{'binary':>7} {'requests':>8} {'max in flight':>13} {'wall s':>7} {'PRs':>4} {'exit':>4}"
    print(header)
    print("-" * len(header))
    for n, b in binaries:
        req, most, wall, code, found = in_flight_figures(b)
        print(f"{n:>7} {req:>8} {most:>13} {wall:>7.2f} {found:>4} {code:>4}")
    print()
    print(f"REQUIRE=open,approved,builds-passed,mergeable on each forge ({binary}), 50 ms per answer.")
    header = f"{'forge':>21} {'requests':>8} {'wall s':>7} {'round trips':>11} {'exit':>4} {'outcome':>8}"
    print(header)
    print("-" * len(header))
    for name, req, wall, trips, code, outcome, doc in mergeable_rows(binary):
        note = ""
        if doc and doc.get("error"):
            note = "  " + doc["error"]["message"][:100]
        elif doc and doc.get("pull_requests"):
            note = f"  mergeable={doc['pull_requests'][0].get('mergeable')}"
        print(f"{name:>21} {req:>8} {wall:>7.2f} {trips:>11.2f} {code:>4} {outcome:>8}{note}")
    if quick:
        return
    print()
    print("A team: 200 pipelines in one hour through one 1,000-an-hour quota (Bitbucket Cloud, rolling window),")
    print("each waiting for a build of 5 min on average (exponential), POLL_INTERVAL=10 s; time runs 10x faster.")
    header = f"{'binary':>7} {'requests':>8} {'429 answers':>11} {'pipelines given a 429':>21} {'exit codes (code: runs)':>30}"
    print(header)
    print("-" * len(header))
    results = {}
    threads = [threading.Thread(target=lambda n=n, b=b: results.__setitem__(n, team_figures(b))) for n, b in binaries]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for n, _ in binaries:
        r = results[n]
        codes = ", ".join(f"{c}: {k}" for c, k in r["codes"].items())
        print(f"{n:>7} {r['requests']:>8} {r['refused']:>11} {r['pipelines_refused']:>21} {codes:>30}")
    print("exit codes: 0 pass, 4 API failure (the 429 outlasted the retries), 8 pending (wait ran out or stopped early)")
