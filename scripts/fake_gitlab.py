#!/usr/bin/env python3
"""A tiny fake of the GitLab REST API (v4) on loopback, for the packaging smoke tests.

It answers exactly the requests src/provider/gitlab/ makes, for any query string:

  GET /api/v4/projects/{id}/repository/commits/{sha}/merge_requests   one opened MR, as an array
  GET /api/v4/projects/{id}/merge_requests/{iid}                      that MR, head pipeline success,
                                                                      detailed_merge_status mergeable
  GET /api/v4/projects/{id}/merge_requests/{iid}/approvals            approved by one user (1 required)
  GET /api/v4/projects/{id}/merge_requests/{iid}/reviewers            no reviewers ([])
  GET /api/v4/projects/{id}/repository/commits/{sha}/statuses         no other pipelines' statuses ([])

and a GitLab-shaped 404 (`{"message": "404 Not found"}`) for anything else. The MR (!7) is
opened, not a draft, its `sha` is the commit asked for, one user other than its author approved
it, and its head pipeline (#1234) succeeded. {id} is the numeric project id or the
percent-encoded full path (`acme%2Fwidgets`); both name the same project.

With --project / --commit the fake answers 404 for any other value, and with --token it answers
401 unless `PRIVATE-TOKEN: <token>` is sent, so that a wrongly mapped variable fails the test
instead of passing by accident. Every request is appended as a JSON line (method, path, query,
private_token) to --log.

  fake_gitlab.py [--port 0] [--port-file F] [--log F] [--project ID] [--project-path PATH]
                 [--commit C] [--token T]
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

MR_IID = 7
PIPELINE_ID = 1234
AUTHOR = {"id": 101, "username": "ada", "name": "Ada Author", "state": "active"}
APPROVER = {"id": 102, "username": "rita", "name": "Rita Reviewer", "state": "active"}


def merge_request(web: str, project_id: int, commit: str) -> dict:
    return {
        "id": 90007,
        "iid": MR_IID,
        "project_id": project_id,
        "title": "Add the pr-status job",
        "description": "Runs pr-status in the pipeline.",
        "state": "opened",
        "draft": False,
        "work_in_progress": False,
        "author": AUTHOR,
        "source_branch": "feature/pr-status",
        "target_branch": "main",
        "sha": commit,
        "user_notes_count": 2,
        "created_at": "2026-11-02T08:00:00.000Z",
        "updated_at": "2026-11-02T10:00:00.000Z",
        "web_url": f"{web}/-/merge_requests/{MR_IID}",
        "reviewers": [],
        # GitLab's own verdict (REQUIRE=mergeable): nothing blocks the merge.
        "merge_status": "can_be_merged",
        "detailed_merge_status": "mergeable",
        "head_pipeline": {
            "id": PIPELINE_ID,
            "iid": 56,
            "project_id": project_id,
            "sha": commit,
            "ref": "feature/pr-status",
            "status": "success",
            "source": "push",
            "web_url": f"{web}/-/pipelines/{PIPELINE_ID}",
        },
    }


SEG = r"([^/]+)"
ROUTES = [
    (re.compile(rf"^/api/v4/projects/{SEG}/repository/commits/{SEG}/merge_requests/?$"), "commit_mrs"),
    (re.compile(rf"^/api/v4/projects/{SEG}/merge_requests/(\d+)/?$"), "mr"),
    (re.compile(rf"^/api/v4/projects/{SEG}/merge_requests/(\d+)/approvals/?$"), "approvals"),
    (re.compile(rf"^/api/v4/projects/{SEG}/merge_requests/(\d+)/reviewers/?$"), "reviewers"),
    (re.compile(rf"^/api/v4/projects/{SEG}/repository/commits/{SEG}/statuses/?$"), "statuses"),
]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-gitlab/1"

    def log_message(self, fmt: str, *args) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _record(self, path: str, query: str) -> None:
        cfg = self.server.cfg  # type: ignore[attr-defined]
        entry = {
            "method": self.command,
            "path": path,
            "query": query,
            "private_token": self.headers.get("PRIVATE-TOKEN"),
            "user_agent": self.headers.get("User-Agent"),
        }
        with cfg["lock"]:
            if cfg["log"]:
                with open(cfg["log"], "a", encoding="utf-8") as f:
                    f.write(json.dumps(entry) + "\n")

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        cfg = self.server.cfg  # type: ignore[attr-defined]
        # The raw path: a project path arrives percent-encoded as one segment (acme%2Fwidgets).
        parts = urlsplit(self.path)
        path = parts.path
        self._record(path, parts.query)

        if cfg["token"] is not None and self.headers.get("PRIVATE-TOKEN") != cfg["token"]:
            return self._send(401, {"message": "401 Unauthorized"})

        for pattern, name in ROUTES:
            m = pattern.match(path)
            if not m:
                continue
            project = unquote(m.group(1))
            if cfg["project"] and project not in (cfg["project"], cfg["project_path"]):
                return self._send(404, {"message": "404 Project Not Found"})
            web = f"https://gitlab.example.com/{cfg['project_path']}"
            project_id = int(cfg["project"]) if (cfg["project"] or "").isdigit() else 4242
            if name in ("commit_mrs", "statuses"):
                commit = unquote(m.group(2))
                if cfg["commit"] and commit != cfg["commit"]:
                    return self._send(404, {"message": "404 Commit Not Found"})
                if name == "statuses":
                    return self._send(200, [])
                return self._send(200, [merge_request(web, project_id, commit)])
            if int(m.group(2)) != MR_IID:
                return self._send(404, {"message": "404 Not found"})
            commit = cfg["commit"] or "f" * 40
            if name == "mr":
                return self._send(200, merge_request(web, project_id, commit))
            if name == "approvals":
                return self._send(200, {
                    "id": 90007, "iid": MR_IID, "project_id": project_id, "state": "opened",
                    "approved": True, "approvals_required": 1, "approvals_left": 0,
                    "approved_by": [{"user": APPROVER, "approved_at": "2026-11-02T09:30:00.000Z"}],
                })
            return self._send(200, [])
        return self._send(404, {"message": "404 Not found"})

    do_HEAD = do_GET

    def _not_allowed(self) -> None:
        parts = urlsplit(self.path)
        self._record(parts.path, parts.query)
        self._send(405, {"message": "405 Method Not Allowed"})

    do_POST = do_PUT = do_DELETE = do_PATCH = _not_allowed


def make_server(port: int = 0, log: str | None = None, project: str | None = None,
                project_path: str = "acme/widgets", commit: str | None = None,
                token: str | None = None) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.cfg = {  # type: ignore[attr-defined]
        "log": log, "project": project, "project_path": project_path, "commit": commit,
        "token": token, "lock": threading.Lock(),
    }
    return server


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--port-file", help="write the chosen port here once listening")
    ap.add_argument("--log", help="append one JSON line per request here")
    ap.add_argument("--project", help="the project id (numeric) the fake knows")
    ap.add_argument("--project-path", default="acme/widgets", help="the same project's full path")
    ap.add_argument("--commit")
    ap.add_argument("--token")
    args = ap.parse_args()
    server = make_server(args.port, args.log, args.project, args.project_path, args.commit, args.token)
    port = server.server_address[1]
    if args.port_file:
        tmp = Path(args.port_file + ".tmp")
        tmp.write_text(f"{port}\n")
        tmp.rename(args.port_file)
    print(f"fake GitLab listening on http://127.0.0.1:{port}/api/v4", file=sys.stderr, flush=True)
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
