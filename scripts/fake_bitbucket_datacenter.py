#!/usr/bin/env python3
"""A small fake of the Bitbucket Data Center REST API on loopback, for the contract check.

It knows three repositories (any other: a Data Center-shaped 404):

  PROJ/widget and ~jane.doe/widget (a personal repository), with made-up answers:
    GET /rest/api/latest/projects/{key}/repos/{slug}/commits/{commit}/pull-requests
        start=0: PR 7 (tests/fixtures/datacenter/pull-request-7.json, its head set to the
        commit), isLastPage false, nextPageStart 1; start=1: PR 9 (head HEAD2), last page.
    GET /rest/api/latest/projects/{key}/repos/{slug}/pull-requests/7
    GET .../pull-requests/7/merge: not mergeable, vetoed by two merge checks (REQUIRE=mergeable)
    GET .../settings/pull-requests: minimum approvals 2, unapprove on new changes
    GET /rest/required-builds/latest/projects/{key}/repos/{slug}/conditions: one check, the
        fixture's Jenkins build into main
  AMUNIZ/test-repos and PROJ/repo, with the real recordings of tests/fixtures/real/:
    GET .../projects/AMUNIZ/repos/test-repos/commits/{commit}/pull-requests  (Jenkins plugin)
    GET .../projects/PROJ/repos/repo/pull-requests/1                         (danger-js)

  GET /rest/build-status/latest/commits/{commit}
        tests/fixtures/datacenter/build-statuses.json for --commit, one SUCCESSFUL status for
        any other commit, and for BAD_COMMIT a status with a state the API does not have (a
        response Prism must reject: the check's negative control).

Credentials: `Authorization: Bearer --token` or Basic --basic user:password; anything else is
a 401 with `{"errors": [{"message": ...}]}`. Every request is appended as a JSON line (method, path, query, authorization scheme) to --log.

  fake_bitbucket_datacenter.py [--port 0] [--port-file F] [--log F] [--commit C] [--token T]
                               [--basic U:P]
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import re
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "tests" / "fixtures"
HEAD2 = "89abcdef0123456789abcdef0123456789abcdef"
BAD_COMMIT = "badbadbadbadbadbadbadbadbadbadbadbadbad0"


def load(rel: str) -> dict:
    return json.loads((FIXTURES / rel).read_text(encoding="utf-8"))


def pr7(commit: str) -> dict:
    pr = load("datacenter/pull-request-7.json")
    pr["fromRef"]["latestCommit"] = commit
    return pr


def pr9() -> dict:
    pr = copy.deepcopy(load("datacenter/pull-request-7.json"))
    pr.update({"id": 9, "title": "Follow-up", "state": "MERGED", "open": False, "closed": True,
               "closedDate": 1793700000000, "reviewers": [], "participants": []})
    pr.pop("draft")
    pr.pop("properties")
    pr["fromRef"].update({"id": "refs/heads/follow-up", "displayId": "follow-up", "latestCommit": HEAD2})
    pr["links"]["self"][0]["href"] = pr["links"]["self"][0]["href"].replace("/7", "/9")
    return pr


def page(values: list, start: int, next_start: int | None, limit: int) -> dict:
    body = {"size": len(values), "limit": limit, "start": start, "isLastPage": next_start is None,
            "values": values}
    if next_start is not None:
        body["nextPageStart"] = next_start
    return body


SEG = r"([^/]+)"
ROUTES = [
    (re.compile(rf"^/rest/api/latest/projects/{SEG}/repos/{SEG}/commits/{SEG}/pull-requests$"), "commit_prs"),
    (re.compile(rf"^/rest/api/latest/projects/{SEG}/repos/{SEG}/pull-requests/(\d+)$"), "pr"),
    (re.compile(rf"^/rest/build-status/latest/commits/{SEG}$"), "builds"),
    (re.compile(rf"^/rest/api/latest/projects/{SEG}/repos/{SEG}/pull-requests/(\d+)/merge$"), "merge"),
    (re.compile(rf"^/rest/api/latest/projects/{SEG}/repos/{SEG}/settings/pull-requests$"), "settings"),
    (re.compile(rf"^/rest/required-builds/latest/projects/{SEG}/repos/{SEG}/conditions$"), "conditions"),
]

# The repository's rules (docs/rules-bitbucket-datacenter.md), shaped after the 9.2 description
# (plus `canMerge` and `unapproveOnUpdate`, which real servers send beside it).
MERGE_7 = {"canMerge": False, "conflicted": False, "outcome": "CLEAN", "vetoes": [
    {"summaryMessage": "Not all tasks are resolved", "detailedMessage": "2 open tasks must be resolved first."},
    {"summaryMessage": "Changes requested", "detailedMessage": "A reviewer has requested changes."}]}
SETTINGS = {"mergeConfig": {"defaultStrategy": {"id": "no-ff"}, "type": "repository"},
            "requiredAllApprovers": False, "requiredAllTasksComplete": True,
            "requiredApprovers": {"enabled": True, "count": "2"},
            "requiredSuccessfulBuilds": {"enabled": False, "count": "0"}, "unapproveOnUpdate": True}
CONDITION = {"id": 1, "buildParentKeys": ["JENKINS-widget-main"],
             "refMatcher": {"id": "refs/heads/main", "displayId": "main", "type": {"id": "BRANCH", "name": "Branch"}}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-bitbucket-datacenter/1"

    def log_message(self, fmt: str, *args) -> None:  # keep the check's output quiet
        pass

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        # Real servers add "context": null and "exceptionName": null; the 9.2 description types
        # both as plain strings, so Prism would refuse them. The Rust tests use the null form.
        self._send(status, {"errors": [{"message": message}]})

    def _authorized(self) -> bool:
        cfg = self.server.cfg  # type: ignore[attr-defined]
        given = self.headers.get("Authorization") or ""
        if given.startswith("Basic "):
            if cfg["basic"] and given == "Basic " + base64.b64encode(cfg["basic"].encode()).decode():
                return True
        elif cfg["token"] and given == f"Bearer {cfg['token']}":
            return True
        self._error(401, "Authentication failed. Please check your credentials and try again.")
        return False

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        cfg = self.server.cfg  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        auth = (self.headers.get("Authorization") or "").split(" ")[0] or None
        entry = {"method": "GET", "path": parts.path, "query": parts.query, "authorization": auth}
        with cfg["lock"]:
            if cfg["log"]:
                with open(cfg["log"], "a", encoding="utf-8") as f:
                    f.write(json.dumps(entry) + "\n")
        if not self._authorized():
            return
        query = parse_qs(parts.query)
        start = int(query.get("start", ["0"])[0])
        limit = int(query.get("limit", ["25"])[0])
        for pattern, name in ROUTES:
            m = pattern.match(parts.path)
            if not m:
                continue
            if name == "builds":
                commit = unquote(m.group(1))
                if commit == BAD_COMMIT:
                    return self._send(200, page([{"key": "x", "state": "PASSED"}], 0, None, limit))
                if commit == cfg["commit"]:
                    return self._send(200, load("datacenter/build-statuses.json"))
                ok = {"key": "ci", "name": "CI", "state": "SUCCESSFUL", "url": "https://ci.example.com/1"}
                return self._send(200, page([ok], 0, None, limit))
            repo = (unquote(m.group(1)), unquote(m.group(2)))
            if name == "commit_prs" and repo == ("AMUNIZ", "test-repos"):
                return self._send(200, load("real/bitbucket-datacenter/pull-requests-page-jenkins.json"))
            if name == "pr" and repo == ("PROJ", "repo") and m.group(3) == "1":
                return self._send(200, load("real/bitbucket-datacenter/pull-request-1-danger-js.json"))
            if repo not in (("PROJ", "widget"), ("~jane.doe", "widget")):
                return self._error(404, f"Repository {repo[0]}/{repo[1]} does not exist.")
            if name == "settings":
                return self._send(200, SETTINGS)
            if name == "conditions":
                return self._send(200, page([CONDITION], 0, None, limit))
            if name == "merge":
                if m.group(3) == "7":
                    return self._send(200, MERGE_7)
                return self._error(409, f"Pull request {m.group(3)} is not open.")
            if name == "commit_prs":
                commit = unquote(m.group(3))
                if start == 0:
                    return self._send(200, page([pr7(commit)], 0, 1, limit))
                return self._send(200, page([pr9()], start, None, limit))
            if m.group(3) == "7":
                return self._send(200, pr7(cfg["commit"]))
            return self._error(404, f"Pull request {m.group(3)} does not exist in {repo[0]}/{repo[1]}.")
        return self._error(404, f"No resource at {parts.path}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--port-file", help="write the chosen port here once listening")
    ap.add_argument("--log", help="append one JSON line per request here")
    ap.add_argument("--commit", default="0123456789abcdef0123456789abcdef01234567")
    ap.add_argument("--token")
    ap.add_argument("--basic", help="user:password accepted as Basic")
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.cfg = {  # type: ignore[attr-defined]
        "log": args.log, "commit": args.commit, "token": args.token, "basic": args.basic,
        "lock": threading.Lock(),
    }
    port = server.server_address[1]
    if args.port_file:
        tmp = Path(args.port_file + ".tmp")
        tmp.write_text(f"{port}\n")
        tmp.rename(args.port_file)
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
