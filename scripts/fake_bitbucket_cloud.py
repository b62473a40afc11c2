#!/usr/bin/env python3
"""A tiny fake of the Bitbucket Cloud 2.0 API on loopback, for the packaging smoke tests.

It answers, for any query string:

  GET /2.0/repositories/{ws}/{slug}/commit/{commit}/pullrequests   one page with one open PR
  GET /2.0/repositories/{ws}/{slug}/commit/{commit}/statuses       one SUCCESSFUL build
  GET /2.0/repositories/{ws}/{slug}/pullrequests/{id}              that PR
  GET /2.0/repositories/{ws}/{slug}/pullrequests/{id}/statuses     the same build
  GET /2.0/repositories/{ws}/{slug}/pullrequests/{id}/tasks        no tasks
  GET /2.0/repositories/{ws}/{slug}                                the repository

and a Bitbucket-shaped 404 (`{"type": "error", "error": {"message": ...}}`) for anything else.
The PR's source commit is the first 12 hex digits of the commit asked for (as Bitbucket
abbreviates it), it is OPEN, not a draft, and one reviewer other than the author approved it.

With --workspace / --repo / --commit the fake answers 404 for any other value, and with
--token it answers 401 unless `Authorization: Bearer <token>` is sent, so that a wrongly
mapped variable fails the test instead of passing by accident. Every request is appended as a
JSON line (method, path, query, authorization) to --log.

  fake_bitbucket_cloud.py [--port 0] [--port-file F] [--log F] [--workspace W] [--repo R]
                          [--commit C] [--token T] [--tls-cert PEM --tls-key PEM]

With --tls-cert/--tls-key it serves HTTPS, so a test can check which CA bundle the client trusts.

Used as a module: `serve_in_thread(...)` returns (server, base_url).
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

PR_ID = 7
AUTHOR = {
    "type": "user",
    "display_name": "Ada Author",
    "nickname": "ada",
    "uuid": "{a0a0a0a0-0000-4000-8000-000000000001}",
    "account_id": "557058:ada",
}
REVIEWER = {
    "type": "user",
    "display_name": "Rita Reviewer",
    "nickname": "rita",
    "uuid": "{b0b0b0b0-0000-4000-8000-000000000002}",
    "account_id": "557058:rita",
}


def pull_request(base: str, ws: str, slug: str, commit: str) -> dict:
    api = f"{base}/repositories/{ws}/{slug}"
    web = f"https://bitbucket.org/{ws}/{slug}"
    return {
        "type": "pullrequest",
        "id": PR_ID,
        "title": "Add the pr-status step",
        "description": "Runs pr-status in the pipeline.",
        "state": "OPEN",
        "draft": False,
        "author": AUTHOR,
        "source": {
            "branch": {"name": "feature/pr-status"},
            "commit": {"type": "commit", "hash": commit[:12]},
            "repository": {"type": "repository", "full_name": f"{ws}/{slug}"},
        },
        "destination": {
            "branch": {"name": "main"},
            "commit": {"type": "commit", "hash": "0123456789ab"},
            "repository": {"type": "repository", "full_name": f"{ws}/{slug}"},
        },
        "participants": [
            {"type": "participant", "user": AUTHOR, "role": "PARTICIPANT",
             "approved": False, "state": None, "participated_on": "2026-11-02T09:00:00+00:00"},
            {"type": "participant", "user": REVIEWER, "role": "REVIEWER",
             "approved": True, "state": "approved", "participated_on": "2026-11-02T10:00:00+00:00"},
        ],
        "reviewers": [REVIEWER],
        "comment_count": 2,
        "task_count": 0,
        "close_source_branch": True,
        "created_on": "2026-11-02T08:00:00.000000+00:00",
        "updated_on": "2026-11-02T10:00:00.000000+00:00",
        "links": {
            "self": {"href": f"{api}/pullrequests/{PR_ID}"},
            "html": {"href": f"{web}/pull-requests/{PR_ID}"},
            "statuses": {"href": f"{api}/pullrequests/{PR_ID}/statuses"},
        },
    }


BUILD = {
    "type": "build",
    "key": "build-1",
    "name": "Build",
    "state": "SUCCESSFUL",
    "url": "https://ci.example/1",
    "description": "all green",
    "created_on": "2026-11-02T09:30:00+00:00",
    "updated_on": "2026-11-02T09:40:00+00:00",
}


def page(values: list) -> dict:
    return {"pagelen": 50, "page": 1, "size": len(values), "values": values}


SEG = r"([^/]+)"
ROUTES = [
    (re.compile(rf"^/2\.0/repositories/{SEG}/{SEG}/commit/{SEG}/pullrequests/?$"), "commit_prs"),
    (re.compile(rf"^/2\.0/repositories/{SEG}/{SEG}/commit/{SEG}/statuses/?$"), "commit_statuses"),
    (re.compile(rf"^/2\.0/repositories/{SEG}/{SEG}/pullrequests/(\d+)/?$"), "pr"),
    (re.compile(rf"^/2\.0/repositories/{SEG}/{SEG}/pullrequests/(\d+)/statuses/?$"), "pr_statuses"),
    (re.compile(rf"^/2\.0/repositories/{SEG}/{SEG}/pullrequests/(\d+)/tasks/?$"), "pr_tasks"),
    (re.compile(rf"^/2\.0/repositories/{SEG}/{SEG}/?$"), "repo"),
]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-bitbucket-cloud/1"

    def log_message(self, fmt: str, *args) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        self._send(status, {"type": "error", "error": {"message": message}})

    def _record(self, path: str, query: str) -> None:
        cfg = self.server.cfg  # type: ignore[attr-defined]
        entry = {
            "method": self.command,
            "path": path,
            "query": query,
            "authorization": self.headers.get("Authorization"),
            "user_agent": self.headers.get("User-Agent"),
        }
        with cfg["lock"]:
            cfg["requests"].append(entry)
            if cfg["log"]:
                with open(cfg["log"], "a", encoding="utf-8") as f:
                    f.write(json.dumps(entry) + "\n")

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        cfg = self.server.cfg  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        path = parts.path
        self._record(path, parts.query)

        if cfg["token"] is not None:
            if self.headers.get("Authorization") != f"Bearer {cfg['token']}":
                return self._error(401, "Token is invalid, expired, or not supported for this endpoint.")

        for pattern, name in ROUTES:
            m = pattern.match(path)
            if not m:
                continue
            ws, slug = unquote(m.group(1)), unquote(m.group(2))
            if (cfg["workspace"] and ws != cfg["workspace"]) or (cfg["repo"] and slug != cfg["repo"]):
                return self._error(404, f"Repository {ws}/{slug} not found")
            base = f"{cfg['scheme']}://{self.headers.get('Host', '127.0.0.1')}/2.0"
            if name in ("commit_prs", "commit_statuses"):
                commit = unquote(m.group(3))
                if cfg["commit"] and not cfg["commit"].startswith(commit):
                    return self._error(404, f"Commit not found: {commit}")
                if name == "commit_prs":
                    return self._send(200, page([pull_request(base, ws, slug, cfg["commit"] or commit)]))
                return self._send(200, page([BUILD]))
            if name in ("pr", "pr_statuses", "pr_tasks"):
                if int(m.group(3)) != PR_ID:
                    return self._error(404, f"Pull request {m.group(3)} not found")
                if name == "pr":
                    commit = cfg["commit"] or "f" * 40
                    return self._send(200, pull_request(base, ws, slug, commit))
                if name == "pr_statuses":
                    return self._send(200, page([BUILD]))
                return self._send(200, page([]))
            return self._send(200, {"type": "repository", "full_name": f"{ws}/{slug}",
                                    "name": slug, "is_private": True})
        return self._error(404, f"Resource not found: {path}")

    do_HEAD = do_GET

    def _not_allowed(self) -> None:
        parts = urlsplit(self.path)
        self._record(parts.path, parts.query)
        self._error(405, f"{self.command} is not served by the fake")

    do_POST = do_PUT = do_DELETE = do_PATCH = _not_allowed


def make_server(port: int = 0, log: str | None = None, workspace: str | None = None,
                repo: str | None = None, commit: str | None = None,
                token: str | None = None, tls_cert: str | None = None,
                tls_key: str | None = None) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    if tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(tls_cert, tls_key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.cfg = {  # type: ignore[attr-defined]
        "log": log, "workspace": workspace, "repo": repo, "commit": commit, "token": token,
        "scheme": "https" if tls_cert else "http", "requests": [], "lock": threading.Lock(),
    }
    return server


def serve_in_thread(**kwargs) -> tuple[ThreadingHTTPServer, str]:
    server = make_server(**kwargs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    scheme = server.cfg["scheme"]  # type: ignore[attr-defined]
    return server, f"{scheme}://127.0.0.1:{server.server_address[1]}/2.0"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--port-file", help="write the chosen port here once listening")
    ap.add_argument("--log", help="append one JSON line per request here")
    ap.add_argument("--workspace")
    ap.add_argument("--repo")
    ap.add_argument("--commit")
    ap.add_argument("--token")
    ap.add_argument("--tls-cert", help="serve HTTPS with this certificate chain (PEM)")
    ap.add_argument("--tls-key", help="the certificate's private key (PEM)")
    args = ap.parse_args()
    server = make_server(args.port, args.log, args.workspace, args.repo, args.commit, args.token,
                         args.tls_cert, args.tls_key)
    port = server.server_address[1]
    scheme = server.cfg["scheme"]  # type: ignore[attr-defined]
    if args.port_file:
        tmp = Path(args.port_file + ".tmp")
        tmp.write_text(f"{port}\n")
        tmp.rename(args.port_file)
    print(f"fake Bitbucket Cloud listening on {scheme}://127.0.0.1:{port}/2.0", file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
