#!/usr/bin/env python3
"""Generates .github/actions/local-build/action.yml from action.yml, or checks that it agrees.

action.yml runs the pre-built image of the release (`docker://ghcr.io/...:<version>-action`),
which exists only once a version is released. The action's own tests (the `action` job of
.github/workflows/ci.yml) need the action as the commit under test builds it: the local-build
action is action.yml, line for line, with `runs.image` pointing at the repository's
action.Dockerfile instead (the runner resolves the path against the action's folder and builds
with the Dockerfile's folder, the repository root, as the context).

  local_action.py write    rewrite the local-build action from action.yml
  local_action.py check    exit 1 when the local-build action is not what `write` would write
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "action.yml"
TARGET = REPO / ".github/actions/local-build/action.yml"
LOCAL_IMAGE = "../../../action.Dockerfile"
HEADER = """\
# GENERATED from action.yml by `scripts/local_action.py write`; do not edit.
# The same action, built from this commit's action.Dockerfile instead of pulling the release's
# image: `uses: ./.github/actions/local-build` in the action's own tests.
"""
IMAGE_LINE = re.compile(r"^(  image: )docker://\S+$", re.M)


def generate(source: str) -> str:
    found = IMAGE_LINE.findall(source)
    if len(found) != 1:
        raise SystemExit(f"local_action: action.yml must have one `  image: docker://...` line, found {len(found)}")
    # The comment above runs.image speaks of the pulled image; drop it in the copy.
    body = re.sub(r"(?m)^(runs:\n  using: docker\n)(?:  #.*\n)*", r"\1", source)
    return HEADER + IMAGE_LINE.sub(lambda m: m.group(1) + LOCAL_IMAGE, body)


def main(argv: list[str]) -> int:
    if argv[1:] not in (["write"], ["check"]):
        print(__doc__, file=sys.stderr)
        return 2
    want = generate(SOURCE.read_text())
    if argv[1] == "write":
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        TARGET.write_text(want)
        return 0
    have = TARGET.read_text() if TARGET.is_file() else ""
    if have != want:
        print(f"local_action: {TARGET.relative_to(REPO)} is stale: run scripts/local_action.py write",
              file=sys.stderr)
        return 1
    if not (TARGET.parent / LOCAL_IMAGE).resolve().is_file():
        print(f"local_action: {LOCAL_IMAGE} does not resolve to a file from {TARGET.parent}", file=sys.stderr)
        return 1
    print("local action: agrees with action.yml")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
