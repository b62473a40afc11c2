#!/usr/bin/env python3
"""Checks pipe.yml, action.yml and bitbucket-pipelines.yml against SPEC.md and each other.

  check_pipe.py [REPO_DIR] [SPEC_MD]

REPO_DIR defaults to the repository holding this script; SPEC_MD to ../shared/SPEC.md beside
the repository. Checks that:
  - pipe.yml has name, image, description, repository, maintainer, tags and a variables list
    whose entries have name, default and required;
  - every variable in pipe.yml and every `runs.env` name in action.yml is a variable SPEC.md
    names (so renaming one in either place fails), and that pipe.yml covers every variable of
    SPEC's configuration table and Bitbucket credentials;
  - action.yml passes each input only through `runs.env` as exactly `${{ inputs.<id> }}`, uses
    every input it declares, and declares every step output SPEC lists;
  - pipe.yml's image tag is Cargo.toml's version, and bitbucket-pipelines.yml uses that image;
  - action.yml runs the release's pre-built `-action` image of that version, and the
    local-build action (.github/actions/local-build) builds action.Dockerfile instead.
Prints `check pipe: N passed, 0 failed` and exits 1 on any failure.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

results: list[tuple[bool, str]] = []


def check(ok: bool, what: str) -> bool:
    results.append((bool(ok), what))
    if not ok:
        print(f"FAIL: {what}", file=sys.stderr)
    return bool(ok)


def spec_names(spec: str) -> set[str]:
    return set(re.findall(r"`([A-Z][A-Z0-9_]{2,})`", spec))


def section(spec: str, title: str) -> str:
    m = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", spec, re.M | re.S)
    return m.group(1) if m else ""


def config_table_names(spec: str) -> set[str]:
    names: set[str] = set()
    for line in section(spec, "Configuration (environment variables)").splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
    return names


def credential_names(spec: str) -> set[str]:
    return set(re.findall(r"`([A-Z][A-Z0-9_]+)`", section(spec, "Credentials")))


def spec_step_outputs(spec: str) -> list[str]:
    m = re.search(r"step outputs (.*?)\(the whole summary\)", spec, re.S)
    return re.findall(r"`([a-z_]+)`", m.group(1)) if m else []


def cargo_version(cargo_toml: str) -> str | None:
    in_pkg = False
    for line in cargo_toml.splitlines():
        s = line.strip()
        if s.startswith("["):
            in_pkg = s == "[package]"
        elif in_pkg:
            m = re.match(r'version\s*=\s*"([^"]+)"', s)
            if m:
                return m.group(1)
    return None


def main(argv: list[str]) -> int:
    repo = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent
    spec_path = Path(argv[2]) if len(argv) > 2 else repo.resolve().parent / "shared" / "SPEC.md"
    spec = spec_path.read_text()
    names = spec_names(spec)
    check(len(names) > 20, f"SPEC.md at {spec_path} names variables ({len(names)} found)")

    # ---- pipe.yml ----
    pipe = yaml.safe_load((repo / "pipe.yml").read_text())
    for field in ("name", "image", "description", "repository", "maintainer", "tags", "variables"):
        check(bool(pipe.get(field)), f"pipe.yml has a non-empty `{field}`")
    check(isinstance(pipe.get("tags"), list), "pipe.yml `tags` is a list")
    variables = pipe.get("variables") or []
    check(isinstance(variables, list), "pipe.yml `variables` is a list")
    seen: set[str] = set()
    for v in variables:
        name = v.get("name") if isinstance(v, dict) else None
        ok = (
            isinstance(v, dict)
            and isinstance(name, str)
            and "default" in v
            and isinstance(v.get("required"), bool)
        )
        check(ok, f"pipe.yml variable {name or v!r} has name, default and required (bool)")
        if not name:
            continue
        check(name not in seen, f"pipe.yml variable {name} is listed once")
        seen.add(name)
        check(name in names, f"pipe.yml variable {name} is a variable SPEC.md names")
    # A pipe runs in Bitbucket Pipelines: the GitHub and GitLab tokens are the action's and
    # the plain container's business.
    wanted = {
        n for n in config_table_names(spec) | credential_names(spec)
        if not n.startswith(("GITHUB_", "GITLAB_"))
    }
    check(len(config_table_names(spec)) >= 10, "SPEC.md's configuration table was found")
    for name in sorted(wanted):
        check(name in seen, f"pipe.yml lists SPEC variable {name}")

    version = cargo_version((repo / "Cargo.toml").read_text())
    image = str(pipe.get("image", ""))
    check(version is not None and image.endswith(f":{version}"),
          f"pipe.yml image {image} is tagged with Cargo.toml's version {version}")

    # ---- action.yml ----
    action = yaml.safe_load((repo / "action.yml").read_text())
    runs = action.get("runs") or {}
    check(runs.get("using") == "docker", "action.yml is a Docker action (runs.using: docker)")
    img = str(runs.get("image", ""))
    check(img == f"docker://ghcr.io/prstatus/pr-status:{version}-action",
          f"action.yml runs.image {img} is the release's pre-built image, tagged {version}-action")
    local = repo / ".github/actions/local-build"
    local_img = str(((yaml.safe_load((local / "action.yml").read_text()) or {}).get("runs") or {})
                    .get("image", "")) if (local / "action.yml").is_file() else ""
    check(local_img.endswith("Dockerfile") and (local / local_img).resolve() == (repo / "action.Dockerfile").resolve(),
          f"the local-build action builds action.Dockerfile ({local_img or 'missing'})")
    check("args" not in runs and "entrypoint" not in runs,
          "action.yml passes no args/entrypoint (inputs go through env only)")
    inputs = action.get("inputs") or {}
    env = runs.get("env") or {}
    used: set[str] = set()
    for key, value in env.items():
        check(key in names, f"action.yml env {key} is a variable SPEC.md names")
        m = re.fullmatch(r"\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}", str(value))
        if check(m is not None, f"action.yml env {key} is exactly ${{{{ inputs.<id> }}}}"):
            check(m.group(1) in inputs, f"action.yml env {key} uses declared input {m.group(1)}")
            used.add(m.group(1))
    for name in inputs:
        check(name in used, f"action.yml input {name} reaches the binary through runs.env")
    outputs = action.get("outputs") or {}
    want_outputs = spec_step_outputs(spec)
    check(len(want_outputs) >= 10, f"SPEC.md lists the step outputs ({want_outputs})")
    for out in want_outputs:
        check(out in outputs, f"action.yml declares output {out}")

    # ---- bitbucket-pipelines.yml uses the pipe's image ----
    bp_text = (repo / "bitbucket-pipelines.yml").read_text()
    pipes = re.findall(r"pipe:\s*docker://(\S+)", bp_text)
    check(bool(pipes), "bitbucket-pipelines.yml runs pr-status as a pipe")
    for p in pipes:
        check(p == image, f"bitbucket-pipelines.yml pipe docker://{p} is pipe.yml's image {image}")
    for block in re.findall(r"pipe:\s*docker://\S+\s*\n\s*variables:\s*\n((?:\s+\w+:.*\n)+)", bp_text):
        for var in re.findall(r"^\s+([A-Z][A-Z0-9_]+):", block, re.M):
            check(var in seen, f"bitbucket-pipelines.yml pipe variable {var} is in pipe.yml")

    passed = sum(ok for ok, _ in results)
    failed = len(results) - passed
    print(f"check pipe: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
