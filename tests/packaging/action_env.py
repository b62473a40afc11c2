#!/usr/bin/env python3
"""Feeds action.yml's input-to-environment mapping into the real binary.

Parses action.yml, builds the environment GitHub's runner builds for a Docker action (an
`INPUT_<NAME>` per input, the `runs.env` entries with `${{ inputs.x }}` and `${{ github.token }}`
substituted, and the runner's own GITHUB_* variables), and runs pr-status with it against the
fake Bitbucket Cloud API of scripts/fake_bitbucket_cloud.py. A renamed variable on either side
(action.yml or the binary) makes a case fail. Also checks that the local-build action
(.github/actions/local-build/action.yml, the copy that builds action.Dockerfile for the
action's own CI test) feeds the binary the same environment.

  action_env.py [BINARY]                  run BINARY (default target/release/pr-status)
  action_env.py --podman IMAGE            run IMAGE the way the runner does (`--workdir
                                          /github/workspace`, workspace and file-command folders
                                          mounted and owned by another user), on the host network

Prints `action env: N passed, M failed`; exits 1 when anything failed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import fake_bitbucket_cloud  # noqa: E402

WORKSPACE, SLUG = "acme", "widgets"
COMMIT = "3f786850e387550fdab836ed7e6dc881de23001b"
TOKEN = "fake-access-token-0123456789"
GITHUB_TOKEN = "ghs_fakeGithubToken0123456789"
EXPR = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")
PODMAN = ["podman", "--runtime", "runc"]
ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
RUNNER_UID = 1001  # the GitHub-hosted runner's user, who owns the workspace

results: list[tuple[bool, str]] = []


def check(ok: bool, what: str, detail: str = "") -> bool:
    results.append((bool(ok), what))
    print(f"{'ok  ' if ok else 'FAIL'} {what}" + (f": {detail}" if detail and not ok else ""))
    return bool(ok)


def substitute(value: str, inputs: dict[str, str], where: str) -> str:
    def repl(m: re.Match) -> str:
        expr = m.group(1)
        if expr == "github.token":
            return GITHUB_TOKEN
        if expr.startswith("inputs."):
            name = expr[len("inputs."):]
            if name not in inputs:
                raise ValueError(f"{where}: `{m.group(0)}` names no declared input")
            return inputs[name]
        raise ValueError(f"{where}: unsupported expression `{m.group(0)}`")

    return EXPR.sub(repl, str(value))


def action_environment(action: dict, with_: dict[str, str]) -> dict[str, str]:
    """The variables the runner adds for a Docker action, given the step's `with:`."""
    declared = action.get("inputs") or {}
    unknown = set(with_) - set(declared)
    if unknown:
        raise ValueError(f"with: names undeclared inputs {sorted(unknown)}")
    inputs: dict[str, str] = {}
    for name, spec in declared.items():
        default = "" if spec is None or spec.get("default") is None else str(spec["default"])
        raw = with_.get(name, default)
        inputs[name] = substitute(raw, {}, f"inputs.{name}.default") if name not in with_ else raw
    env: dict[str, str] = {}
    for name, value in inputs.items():
        env["INPUT_" + name.replace(" ", "_").upper()] = value
    for key, value in ((action.get("runs") or {}).get("env") or {}).items():
        env[key] = substitute(value, inputs, f"runs.env.{key}")
    return env


def parse_github_output(text: str) -> dict[str, str]:
    """Reads `name=value` and `name<<DELIM ... DELIM` entries, as the runner does."""
    out: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            body = []
            while i < len(lines) and lines[i] != delim:
                body.append(lines[i])
                i += 1
            if i >= len(lines):
                raise ValueError(f"GITHUB_OUTPUT: no closing delimiter for {name}")
            i += 1
            out[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            out[name] = value
        else:
            raise ValueError(f"GITHUB_OUTPUT: unreadable line {line!r}")
    return out


class Runner:
    """Runs the binary directly, or the image under podman as GitHub's runner would."""

    def __init__(self, binary: str | None, image: str | None):
        self.binary, self.image = binary, image

    def run(self, env: dict[str, str], root: Path) -> tuple[int, str, dict[str, Path]]:
        ws, fc = root / "workspace", root / "file_commands"
        ws.mkdir()
        fc.mkdir()
        (fc / "set_output").touch()
        (fc / "step_summary").touch()
        host = {"workspace": ws, "output": fc / "set_output", "summary": fc / "step_summary"}
        if self.image is None:
            full = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": str(root),
                "GITHUB_WORKSPACE": str(ws),
                "GITHUB_OUTPUT": str(host["output"]),
                "GITHUB_STEP_SUMMARY": str(host["summary"]),
                **runner_vars(),
                **env,
            }
            p = subprocess.run([self.binary], cwd=ws, env=full, capture_output=True,
                               text=True, timeout=120)
            return p.returncode, p.stdout + p.stderr, host
        # The runner's `docker run`: workspace and file commands mounted, owned by the runner
        # user (not the container's), working directory the workspace.
        if os.geteuid() == 0:
            for path in (ws, fc, host["output"], host["summary"]):
                os.chown(path, RUNNER_UID, RUNNER_UID)
        inner = {
            "HOME": "/github/home",
            "GITHUB_WORKSPACE": "/github/workspace",
            "GITHUB_OUTPUT": "/github/file_commands/set_output",
            "GITHUB_STEP_SUMMARY": "/github/file_commands/step_summary",
            **runner_vars(),
            **env,
        }
        cmd = [*PODMAN, "run", "--rm", "--network=host", *ULIMITS,
               "--workdir", "/github/workspace",
               "-v", f"{ws}:/github/workspace", "-v", f"{fc}:/github/file_commands"]
        for k, v in inner.items():
            cmd += ["-e", f"{k}={v}"]
        cmd.append(self.image)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
        return p.returncode, p.stdout + p.stderr, host


def runner_vars() -> dict[str, str]:
    return {
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "acme/widgets-mirror",
        "GITHUB_SHA": COMMIT,
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_API_URL": "https://api.github.com",
        "GITHUB_SERVER_URL": "https://github.com",
    }


GH_PR, GH_HEAD = 12, "9fceb02d0ae598e95dc970b74767f19372d61af8"


def fake_github() -> tuple[ThreadingHTTPServer, str, list[dict]]:
    """A fake GitHub REST API on loopback answering the four requests of a pull_request run:
    the PR, its reviews, its head's check runs and combined status. Records each request."""
    seen: list[dict] = []
    repo = "/repos/acme/widgets-mirror"
    answers = {
        f"{repo}/pulls/{GH_PR}": {
            "number": GH_PR, "state": "open", "draft": False, "title": "Ship the action",
            "html_url": f"https://github.com/acme/widgets-mirror/pull/{GH_PR}",
            "user": {"login": "ada"}, "head": {"ref": "feature/action", "sha": GH_HEAD},
            "base": {"ref": "main"}, "merged_at": None, "requested_reviewers": [],
            "created_at": "2026-11-02T08:00:00Z", "updated_at": "2026-11-02T10:00:00Z",
            "comments": 1, "review_comments": 0,
        },
        f"{repo}/pulls/{GH_PR}/reviews": [
            {"user": {"login": "rita"}, "state": "APPROVED", "submitted_at": "2026-11-02T09:00:00Z"}],
        f"{repo}/commits/{GH_HEAD}/check-runs": {"total_count": 1, "check_runs": [
            {"name": "build", "status": "completed", "conclusion": "success",
             "details_url": "https://ci.example/1"}]},
        f"{repo}/commits/{GH_HEAD}/status": {"state": "success", "statuses": []},
    }

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            seen.append({"path": path, "authorization": self.headers.get("authorization")})
            body = answers.get(path)
            data = json.dumps(body if body is not None else {"message": "Not Found"}).encode()
            self.send_response(200 if body is not None else 404)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}", seen


def github_without_inputs(runner: "Runner", action: dict, declared_outputs: list[str]) -> None:
    """`uses: <this repo>@v1` with no inputs on a pull_request event reports that PR with
    ${{ github.token }}: the runner's variables alone must select and drive the GitHub provider."""
    server, api, seen = fake_github()
    try:
        env = action_environment(action, {})
        with tempfile.TemporaryDirectory(prefix="pr-status-action-gh-") as tmp:
            event = Path(tmp) / "event.json"
            event.write_text(json.dumps({"pull_request": {"number": GH_PR, "head": {"sha": GH_HEAD}}}))
            env.update({"GITHUB_API_URL": api, "GITHUB_EVENT_NAME": "pull_request",
                        "GITHUB_EVENT_PATH": str(event)})
            (Path(tmp) / "run").mkdir()
            code, output, host = runner.run(env, Path(tmp) / "run")
            label = "github, no inputs"
            check(code == 0, f"{label}: exit code 0", f"got {code}; output:\n{output.strip()[-2000:]}")
            check(any(line.startswith("::notice title=pr-status::") for line in output.splitlines()),
                  f"{label}: the verdict is a ::notice annotation", output[-2000:])
            check(seen and all(r["authorization"] == f"Bearer {GITHUB_TOKEN}" for r in seen),
                  f"{label}: every request carries github.token as Bearer", str(seen))
            check(any(r["path"].endswith(f"/pulls/{GH_PR}") for r in seen),
                  f"{label}: the event's PR is fetched", str([r["path"] for r in seen]))
            summary_path = host["workspace"] / "pr-status.json"
            if check(summary_path.is_file(), f"{label}: pr-status.json written in the workspace"):
                summary = json.loads(summary_path.read_text())
                check(summary.get("provider") == "github" and summary.get("lookup") == "pr_id"
                      and summary.get("selected_pr") == GH_PR,
                      f"{label}: provider github, lookup pr_id, PR #{GH_PR}",
                      str({k: summary.get(k) for k in ("provider", "lookup", "selected_pr")}))
            outputs = parse_github_output(host["output"].read_text())
            missing = [o for o in declared_outputs if o not in outputs]
            check(not missing and outputs.get("number") == str(GH_PR) and outputs.get("approvals") == "1",
                  f"{label}: outputs set for the PR", f"missing {missing}, got {outputs.get('number')!r}")
            check(host["summary"].stat().st_size > 0, f"{label}: step summary written")
    finally:
        server.shutdown()
        server.server_close()


def main(argv: list[str]) -> int:
    image = None
    binary = None
    args = argv[1:]
    if args[:1] == ["--podman"]:
        if len(args) != 2:
            print(__doc__, file=sys.stderr)
            return 2
        image = args[1]
    else:
        binary = str(Path(args[0]).resolve()) if args else str(REPO / "target/release/pr-status")
        if not os.access(binary, os.X_OK):
            print(f"action env: no executable at {binary} (build it, or pass its path)",
                  file=sys.stderr)
            return 2
    runner = Runner(binary, image)
    action = yaml.safe_load((REPO / "action.yml").read_text())
    # The local-build action (the action's own CI test) must feed the binary the same way.
    local = yaml.safe_load((REPO / ".github/actions/local-build/action.yml").read_text())
    check({k: v for k, v in local.items() if k != "runs"} == {k: v for k, v in action.items() if k != "runs"}
          and local["runs"]["env"] == action["runs"]["env"],
          "the local-build action declares the inputs, outputs and env of action.yml")
    declared_outputs = list((action.get("outputs") or {}).keys())

    server, api = fake_bitbucket_cloud.serve_in_thread(
        workspace=WORKSPACE, repo=SLUG, commit=COMMIT, token=TOKEN)
    requests = server.cfg["requests"]  # type: ignore[attr-defined]
    base_with = {
        "workspace": WORKSPACE,
        "repository": SLUG,
        "commit": COMMIT,
        "access-token": TOKEN,
        "api-url": api,
        "summary-dotenv-file": "out/pr-status.env",
    }
    cases = [
        ("gate passes", {"require": "open,approved,builds-passed"}, 0, "pass"),
        ("gate closed", {"require": "merged"}, 1, "fail"),
        ("no credentials", {"require": "open", "access-token": ""}, 2, "error"),
    ]
    try:
        for label, extra, want_code, want_outcome in cases:
            with_ = {**base_with, **extra}
            try:
                env = action_environment(action, with_)
            except ValueError as e:
                check(False, f"{label}: action.yml environment builds", str(e))
                continue
            if label == "gate passes":
                check(env.get("GITHUB_TOKEN") == GITHUB_TOKEN,
                      "github-token defaults to ${{ github.token }}")
                check(env.get("INPUT_ACCESS-TOKEN") == TOKEN,
                      "inputs are also passed as INPUT_<NAME> (dash kept)")
            before = len(requests)
            with tempfile.TemporaryDirectory(prefix="pr-status-action-") as tmp:
                root = Path(tmp)
                code, output, host = runner.run(env, root)
                ws = host["workspace"]
                check(code == want_code, f"{label}: exit code {want_code}",
                      f"got {code}; output:\n{output.strip()[-2000:]}")
                summary_path = ws / (with_.get("summary-file") or "pr-status.json")
                summary = None
                if check(summary_path.is_file(), f"{label}: {summary_path.name} written in the workspace"):
                    try:
                        summary = json.loads(summary_path.read_text())
                    except ValueError as e:
                        check(False, f"{label}: summary JSON parses", str(e))
                if summary is not None:
                    check(summary.get("outcome") == want_outcome,
                          f"{label}: summary outcome {want_outcome}", f"got {summary.get('outcome')}")
                    check(summary.get("exit_code") == want_code,
                          f"{label}: summary exit_code {want_code}", f"got {summary.get('exit_code')}")
                if want_code == 2:
                    check(len(requests) == before, f"{label}: nothing was sent",
                          f"{len(requests) - before} requests")
                    continue
                new = requests[before:]
                check(any(r["authorization"] == f"Bearer {TOKEN}" for r in new),
                      f"{label}: access-token sent as Bearer to the api-url",
                      f"requests: {[r['path'] for r in new]}")
                check(any(r["path"].endswith(f"/repositories/{WORKSPACE}/{SLUG}/commit/{COMMIT}/pullrequests")
                          for r in new),
                      f"{label}: workspace, repository and commit reach the commit lookup",
                      f"requests: {[r['path'] for r in new]}")
                md = ws / (with_.get("summary-markdown-file") or "pr-status.md")
                check(md.is_file() and md.stat().st_size > 0, f"{label}: Markdown summary written")
                check((ws / "out/pr-status.env").is_file(), f"{label}: dotenv summary written")
                check(host["summary"].stat().st_size > 0, f"{label}: step summary written")
                try:
                    outputs = parse_github_output(host["output"].read_text())
                except ValueError as e:
                    check(False, f"{label}: GITHUB_OUTPUT parses", str(e))
                    continue
                missing = [o for o in declared_outputs if o not in outputs]
                check(not missing, f"{label}: GITHUB_OUTPUT has every output action.yml declares",
                      f"missing {missing}")
                check(outputs.get("outcome") == want_outcome, f"{label}: output outcome={want_outcome}",
                      f"got {outputs.get('outcome')!r}")
                check(outputs.get("exit_code") == str(want_code), f"{label}: output exit_code={want_code}",
                      f"got {outputs.get('exit_code')!r}")
                check(outputs.get("found") == "true" and outputs.get("count") == "1",
                      f"{label}: outputs found=true count=1",
                      f"got found={outputs.get('found')!r} count={outputs.get('count')!r}")
                check(outputs.get("number") == str(fake_bitbucket_cloud.PR_ID)
                      and outputs.get("state") == "OPEN" and outputs.get("draft") == "false"
                      and outputs.get("approvals") == "1",
                      f"{label}: outputs number, state, draft, approvals of the PR",
                      "got " + str({k: outputs.get(k) for k in ("number", "state", "draft", "approvals")}))
                try:
                    as_json = json.loads(outputs.get("json", ""))
                    check(as_json.get("outcome") == want_outcome,
                          f"{label}: output json is the summary")
                except ValueError as e:
                    check(False, f"{label}: output json parses", str(e))
    finally:
        server.shutdown()
        server.server_close()
    if image is None:
        # The event file lives on the host; the podman mode covers the image itself above.
        github_without_inputs(runner, action, declared_outputs)

    passed = sum(ok for ok, _ in results)
    failed = len(results) - passed
    print(f"action env: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    if shutil.which("podman") is None and "--podman" in sys.argv:
        print("action env: podman is not installed (scripts/install-tools.sh)", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv))
