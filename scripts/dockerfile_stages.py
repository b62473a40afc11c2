#!/usr/bin/env python3
"""Derives the other container files from the root Dockerfile, so they cannot drift from it.

The Dockerfile builds two images: the default target (its last stage) and the `shell` target.
Each is FROM scratch, directly or through named stages (`FROM runtime AS shell`); the chain of
stages from scratch to the target is what "the target's stages" means below.

  dockerfile_stages.py smoke DOCKERFILE [TARGET]
      Prints a Containerfile for the smoke test: `FROM scratch` and the lines of TARGET's stages
      (default: the last stage), with each `COPY --from=STAGE /abs/src ... dest` rewritten to
      `COPY STAGE/abs/src ... dest`, i.e. to files the smoke script lays out in its build
      context under a folder named after the stage.

  dockerfile_stages.py action DOCKERFILE
      Prints action.Dockerfile: the Dockerfile with the USER line of the default target's
      stages removed, because GitHub runs Docker actions as root (a non-root user cannot write
      to the runner-owned workspace or to the GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files), and
      without the stages the default target does not use (the `shell` target and its busybox),
      which GitHub would otherwise build on every run with Docker's legacy builder.

  dockerfile_stages.py check DOCKERFILE ACTION_DOCKERFILE
      Exits 1, with a diff, when ACTION_DOCKERFILE is not what `action` prints.

  dockerfile_stages.py stages DOCKERFILE [TARGET]
      Prints the names of the stages TARGET's stages copy from (default: the last stage).

  dockerfile_stages.py context DOCKERFILE STAGE OUTDIR
      Copies into OUTDIR what STAGE's own `COPY` lines (those without --from) take from the
      build context, laid out as under the stage's WORKDIR, so that the smoke test builds the
      binary from exactly the files the Dockerfile's build stage gets.
"""

from __future__ import annotations

import difflib
import posixpath
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

# Instructions a target's stages may hold: anything that runs code would need a shell, which a
# scratch image does not have, and would not be reproduced by the smoke image either.
FINAL_STAGE_ALLOWED = {"COPY", "USER", "WORKDIR", "ENV", "ENTRYPOINT", "CMD", "LABEL", "EXPOSE"}

ACTION_HEADER = """\
# GENERATED from Dockerfile by `scripts/dockerfile_stages.py action Dockerfile`; do not edit.
# The GitHub Action (action.yml) builds this file. It is the Dockerfile's default target without
# its USER line: GitHub runs Docker actions as root, and a non-root user could not write to the
# runner's workspace, GITHUB_OUTPUT or GITHUB_STEP_SUMMARY. The stages only the `shell` target
# uses are left out, so that no Docker builder spends time on them.
# scripts/check-packaging.sh fails when the two disagree.

"""


class DockerfileError(Exception):
    pass


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Joins backslash continuations; drops blank and comment lines. Returns (lineno, line)."""
    out: list[tuple[int, str]] = []
    buf: list[str] = []
    start = 0
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):
            continue  # comment lines inside a continuation are ignored by Docker too
        if not buf:
            start = no
        if line.endswith("\\"):
            buf.append(line[:-1].strip())
            continue
        buf.append(line)
        out.append((start, " ".join(p for p in buf if p)))
        buf = []
    if buf:
        raise DockerfileError("the Dockerfile ends inside a line continuation")
    return out


@dataclass
class Stage:
    name: str | None
    base: str
    lineno: int  # 1-based line of the FROM
    lines: list[tuple[int, str]] = field(default_factory=list)  # logical lines after the FROM


def parse_stages(text: str) -> list[Stage]:
    stages: list[Stage] = []
    for no, line in logical_lines(text):
        words = line.split()
        if words[0].upper() == "FROM":
            args = [w for w in words[1:] if not w.startswith("--")]  # --platform=...
            if not args:
                raise DockerfileError(f"line {no}: FROM without an image")
            name = args[2] if len(args) >= 3 and args[1].upper() == "AS" else None
            stages.append(Stage(name, args[0], no))
        elif stages:
            stages[-1].lines.append((no, line))
    if not stages:
        raise DockerfileError("no FROM line")
    return stages


def find_stage(stages: list[Stage], name: str, before: int | None = None) -> Stage | None:
    """The stage called NAME (or numbered NAME), among the first BEFORE stages."""
    pool = stages[:before] if before is not None else stages
    if name.isdigit():
        return pool[int(name)] if int(name) < len(pool) else None
    return next((s for s in pool if s.name == name), None)


def target_chain(stages: list[Stage], target: str | None) -> list[Stage]:
    """The stages from scratch to TARGET (default: the last stage), base first."""
    stage = stages[-1] if target is None else find_stage(stages, target)
    if stage is None:
        raise DockerfileError(f"no stage named {target!r}")
    label = "the last stage" if target is None else f"target {target!r}"
    chain = [stage]
    while chain[0].base != "scratch":
        base = find_stage(stages, chain[0].base, stages.index(chain[0]))
        if base is None:
            raise DockerfileError(
                f"{label} must be built FROM scratch (directly or through named stages); "
                f"line {chain[0].lineno} starts FROM {chain[0].base}"
            )
        chain.insert(0, base)
    return chain


def copy_sources(stages: list[Stage], stage: Stage) -> list[Stage]:
    """The stages STAGE itself uses: its base and those it copies from."""
    used = []
    idx = stages.index(stage)
    base = find_stage(stages, stage.base, idx)
    if base is not None:
        used.append(base)
    for _, line in stage.lines:
        for w in line.split():
            if w.startswith("--from="):
                s = find_stage(stages, w.split("=", 1)[1], idx)
                if s is not None and s not in used:
                    used.append(s)
    return used


def needed_stages(stages: list[Stage], target: str | None = None) -> list[Stage]:
    """Every stage building TARGET (default: the last stage) needs, in file order."""
    todo = [target_chain(stages, target)[-1]]
    seen: list[Stage] = []
    while todo:
        s = todo.pop()
        if s in seen:
            continue
        seen.append(s)
        todo.extend(copy_sources(stages, s))
    return [s for s in stages if s in seen]


def target_lines(text: str, target: str | None = None) -> list[tuple[int, str]]:
    return [line for stage in target_chain(parse_stages(text), target) for line in stage.lines]


def smoke_containerfile(text: str, target: str | None = None) -> str:
    what = "default target (the last stage)" if target is None else f"`{target}` target"
    out = [
        f"# GENERATED by scripts/dockerfile_stages.py from the Dockerfile's {what}.",
        "FROM scratch",
    ]
    for no, line in target_lines(text, target):
        instr = line.split()[0].upper()
        if instr not in FINAL_STAGE_ALLOWED:
            raise DockerfileError(
                f"line {no}: `{instr}` in a FROM scratch target; only {sorted(FINAL_STAGE_ALLOWED)}"
            )
        if instr == "COPY":
            rest = line.split(None, 1)[1]
            if rest.lstrip().startswith("["):
                raise DockerfileError(f"line {no}: use the plain form of COPY, not JSON")
            words = shlex.split(rest)
            flags = [w for w in words if w.startswith("--")]
            paths = [w for w in words if not w.startswith("--")]
            stage = None
            kept = []
            for f in flags:
                if f.startswith("--from="):
                    stage = f.split("=", 1)[1]
                else:
                    kept.append(f)
            if stage is None:
                raise DockerfileError(f"line {no}: COPY without --from= in a FROM scratch target")
            if len(paths) < 2:
                raise DockerfileError(f"line {no}: COPY needs a source and a destination")
            srcs, dest = paths[:-1], paths[-1]
            for s in srcs:
                if not s.startswith("/"):
                    raise DockerfileError(f"line {no}: COPY --from source {s!r} is not absolute")
            mapped = [f"{stage}{s}" for s in srcs]
            line = " ".join(["COPY", *kept, *mapped, dest])
        out.append(line)
    return "\n".join(out) + "\n"


def stages_copied_from(text: str, target: str | None = None) -> list[str]:
    names = []
    for _, line in target_lines(text, target):
        for w in line.split():
            if w.startswith("--from="):
                name = w.split("=", 1)[1]
                if name not in names:
                    names.append(name)
    return names


def stage_lines(text: str, name: str) -> list[tuple[int, str]]:
    stage = next((s for s in parse_stages(text) if s.name == name), None)
    if stage is None or not stage.lines:
        raise DockerfileError(f"no stage named {name!r}")
    return stage.lines


IGNORED_DIRS = {"target", ".git"}


def copy_stage_context(text: str, name: str, context: Path, outdir: Path) -> list[str]:
    workdir = "/"
    copied = []
    for no, line in stage_lines(text, name):
        instr = line.split()[0].upper()
        if instr == "WORKDIR":
            workdir = posixpath.join(workdir, line.split(None, 1)[1].strip())
            continue
        if instr not in ("COPY", "ADD"):
            continue
        words = shlex.split(line.split(None, 1)[1])
        if any(w.startswith("--from=") for w in words):
            continue
        paths = [w for w in words if not w.startswith("--")]
        srcs, dest = paths[:-1], paths[-1]
        dest_abs = posixpath.normpath(posixpath.join(workdir, dest))
        if not dest_abs.startswith(posixpath.normpath(workdir)):
            continue  # outside the workdir (e.g. a helper script): not part of the crate
        rel = posixpath.relpath(dest_abs, posixpath.normpath(workdir))
        target = outdir / rel
        for src in srcs:
            source = context / src
            if not source.exists():
                raise DockerfileError(f"line {no}: {src} does not exist in the build context")
            if source.is_dir():
                shutil.copytree(source, target, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns(*IGNORED_DIRS))
            elif dest.endswith("/") or len(srcs) > 1:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / source.name)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
            copied.append(src)
    return copied


def action_dockerfile(text: str) -> str:
    src = text.splitlines()
    stages = parse_stages(text)
    needed = needed_stages(stages)
    chain = target_chain(stages, None)

    # A stage's text starts at the comment block right above its FROM (its `# ---- name` header).
    def section_start(stage: Stage) -> int:
        i = stage.lineno - 1
        while i > 0 and src[i - 1].strip().startswith("#"):
            i -= 1
        return i

    starts = [section_start(s) for s in stages]
    dropped_lines: set[int] = set()
    for i, s in enumerate(stages):
        if s not in needed:
            end = starts[i + 1] if i + 1 < len(stages) else len(src)
            dropped_lines.update(range(starts[i], end))
    user_lines = {
        no - 1 for s in chain for no, line in s.lines if line.split()[0].upper() == "USER"
    }
    if len(user_lines) != 1:
        raise DockerfileError(
            f"expected one USER line in the default target's stages, found {len(user_lines)}"
        )
    body = []
    for i, line in enumerate(src):
        if i in dropped_lines:
            continue
        if i in user_lines:
            body.append("# (USER left out: GitHub runs Docker actions as root.)")
            continue
        body.append(line)
    return ACTION_HEADER + "\n".join(body) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] not in {"smoke", "action", "check", "stages", "context"}:
        print(__doc__, file=sys.stderr)
        return 2
    mode, dockerfile = argv[1], Path(argv[2])
    text = dockerfile.read_text()
    try:
        if mode in ("smoke", "stages") and len(argv) > 4:
            print(__doc__, file=sys.stderr)
            return 2
        target = argv[3] if mode in ("smoke", "stages") and len(argv) == 4 else None
        if mode == "smoke":
            sys.stdout.write(smoke_containerfile(text, target))
        elif mode == "context":
            if len(argv) != 5:
                print(__doc__, file=sys.stderr)
                return 2
            copied = copy_stage_context(text, argv[3], dockerfile.resolve().parent, Path(argv[4]))
            print(" ".join(copied))
        elif mode == "stages":
            print("\n".join(stages_copied_from(text, target)))
        elif mode == "action":
            sys.stdout.write(action_dockerfile(text))
        else:
            if len(argv) != 4:
                print(__doc__, file=sys.stderr)
                return 2
            want = action_dockerfile(text)
            have_path = Path(argv[3])
            have = have_path.read_text() if have_path.exists() else ""
            if have != want:
                sys.stderr.writelines(
                    difflib.unified_diff(
                        have.splitlines(True), want.splitlines(True), str(have_path), "expected"
                    )
                )
                print(
                    f"{have_path} is out of date: run "
                    f"`python3 scripts/dockerfile_stages.py action {dockerfile} > {have_path}`",
                    file=sys.stderr,
                )
                return 1
            print(f"{have_path} matches {dockerfile}")
    except DockerfileError as e:
        print(f"{dockerfile}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
