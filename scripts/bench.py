#!/usr/bin/env python3
"""Benchmark: round trips and requests of a Bitbucket Cloud lookup against a local API that
adds a fixed latency to every answer, plus binary size, peak memory and start-up time; then
what the API's quota pays for: a wait for builds, the requests in flight for 300 GitHub PRs,
REQUIRE=mergeable on each forge, and a team's pipelines sharing one hourly quota.

Usage: scripts/bench.py [path/to/pr-status] [--before path/to/older/pr-status] [--quick]
(default: target/release/pr-status; build it first with `cargo build --release`). With
--before, the wait, in-flight and team figures are measured for both binaries. --quick skips
the team simulation (about 7 minutes). Prints tables; asserts nothing (figures, not tests).
"""
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

LATENCY = 0.100  # seconds added to every answer
COMMIT = "0123456789abcdef0123456789abcdef01234567"
PAGELEN = 50


class Api:
    """A fake Bitbucket Cloud holding `n` PRs that contain COMMIT; `heads` of them have it as head."""

    def __init__(self, n, other_heads=0):
        self.n = n
        self.other_heads = other_heads
        self.requests = 0
        self.lock = threading.Lock()

    def pr(self, i):
        head = COMMIT[:12] if i >= self.other_heads else f"{i:012x}"
        return {
            "type": "pullrequest", "id": i + 1, "title": f"PR {i + 1}", "state": "OPEN", "draft": False,
            "links": {"html": {"href": f"https://bitbucket.org/acme/widget/pull-requests/{i + 1}"}},
            "author": {"type": "user", "display_name": "Ann", "uuid": "{a}"},
            "source": {"branch": {"name": f"feature/{i}"}, "commit": {"hash": head}},
            "destination": {"branch": {"name": "main"}},
            "created_on": "2026-11-01T10:00:00+00:00", "updated_on": "2026-11-02T10:00:00+00:00",
            "participants": [{"type": "participant", "user": {"type": "user", "display_name": "Rita", "uuid": "{r}"},
                              "role": "REVIEWER", "approved": True, "state": "approved"}],
            "task_count": 0, "comment_count": 1,
        }


def make_handler(api, origin):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def setup(self):
            super().setup()
            # Headers and body go out in two writes: without this, Nagle's algorithm and the
            # client's delayed ACK add ~40 ms to answers on a reused connection.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self):
            with api.lock:
                api.requests += 1
            time.sleep(LATENCY)
            url = urlparse(self.path)
            q = parse_qs(url.query)
            if url.path.endswith("/pullrequests"):
                page = int(q.get("page", ["1"])[0])
                start = (page - 1) * PAGELEN
                values = [api.pr(i) for i in range(start, min(api.n, start + PAGELEN))]
                body = {"pagelen": PAGELEN, "page": page, "size": api.n, "values": values}
                if start + PAGELEN < api.n:
                    body["next"] = f"{origin}{url.path}?pagelen={PAGELEN}&page={page + 1}"
            elif url.path.endswith("/statuses"):
                body = {"pagelen": 100, "page": 1, "size": 1,
                        "values": [{"type": "build", "key": "unit", "name": "Unit", "state": "SUCCESSFUL", "url": "https://ci/1"}]}
            else:
                self.send_response(404)
                self.send_header("content-length", "0")
                self.end_headers()
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


class Server(ThreadingHTTPServer):
    # The default backlog of 5 drops concurrent connects and adds retransmission delays.
    request_queue_size = 128
    daemon_threads = True


def run_once(binary, n, other_heads=0):
    api = Api(n, other_heads)
    server = Server(("127.0.0.1", 0), None)
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    base = f"{origin}/2.0"
    server.RequestHandlerClass = make_handler(api, origin)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        "BITBUCKET_API_URL": base, "BITBUCKET_WORKSPACE": "acme", "BITBUCKET_REPO_SLUG": "widget",
        "BITBUCKET_COMMIT": COMMIT, "BITBUCKET_ACCESS_TOKEN": "bench-token", "REQUIRE": "open,approved,builds-passed",
        "SUMMARY_FILE": f"/tmp/pr-status-bench-{os.getpid()}.json",
    }
    started = time.perf_counter()
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    server.shutdown()
    code = os.waitstatus_to_exitcode(status)
    with open(env["SUMMARY_FILE"]) as f:
        found = len(json.load(f)["pull_requests"])
    os.unlink(env["SUMMARY_FILE"])
    return {"wall": wall, "requests": api.requests, "exit": code, "found": found, "maxrss_kb": usage.ru_maxrss}


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    before = None
    if "--before" in sys.argv:
        before = sys.argv[sys.argv.index("--before") + 1]
        args.remove(before)
    binary = args[0] if args else "target/release/pr-status"
    if not os.path.exists(binary):
        sys.exit(f"{binary} not found: run `cargo build --release` first")
    print(f"binary: {binary}, {os.path.getsize(binary):,} bytes")
    times = []
    for _ in range(30):
        t = time.perf_counter()
        subprocess.run([binary, "--version"], stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t)
    print(f"--version start-up: median {statistics.median(times) * 1000:.2f} ms, min {min(times) * 1000:.2f} ms (30 runs)")
    print(f"latency injected per request: {LATENCY * 1000:.0f} ms, page size {PAGELEN}")
    print()
    header = f"{'PRs':>5} {'other heads':>11} {'pages':>5} {'requests':>8} {'pages+2':>7} {'wall s':>7} {'round trips':>11} {'naive req/rt':>12} {'peak RSS MiB':>12} {'exit':>4}"
    print(header)
    print("-" * len(header))
    for n, other in [(1, 0), (10, 0), (40, 0), (100, 0), (100, 10)]:
        runs = [run_once(binary, n, other) for _ in range(3)]
        best = min(runs, key=lambda r: r["wall"])
        assert all(r["found"] == n for r in runs), runs
        pages = max(1, -(-n // PAGELEN))
        naive = 1 + 2 * n  # list, then GET PR + GET statuses for each PR, one after another
        print(f"{n:>5} {other:>11} {pages:>5} {best['requests']:>8} {pages + 2:>7} {best['wall']:>7.3f} "
              f"{best['wall'] / LATENCY:>11.2f} {naive:>12} {max(r['maxrss_kb'] for r in runs) / 1024:>12.1f} {best['exit']:>4}")
    print()
    print("round trips = wall time / injected latency (best of 3 runs); naive = 1 + 2 per PR, sequential (computed, not run)")
    import bench_budget
    bench_budget.run_all(binary, before, quick="--quick" in sys.argv)


if __name__ == "__main__":
    main()
