#!/usr/bin/env python3
"""Writes the part of GitHub's OpenAPI description that pr-status uses: the operations below
and every component they reference, transitively. Prism loads the subset in a few seconds
instead of the whole 13 MB file (scripts/node-tools pins @octokit/openapi, which ships it).

usage: github-openapi-subset.py [IN] OUT
  IN defaults to scripts/node-tools/node_modules/@octokit/openapi/generated/api.github.com.json
Prints the sizes, the operations kept and the components pulled in.
"""

import json
import os
import sys

# (method, path): every request the GitHub provider sends.
OPERATIONS = [
    ("get", "/repos/{owner}/{repo}/commits/{commit_sha}/pulls"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}/check-runs"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}/status"),
    ("get", "/repos/{owner}/{repo}/rules/branches/{branch}"),
    ("get", "/repos/{owner}/{repo}/branches/{branch}"),
    ("get", "/repos/{owner}/{repo}/branches/{branch}/protection"),
    ("post", "/repos/{owner}/{repo}/statuses/{sha}"),
]

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_IN = os.path.join(HERE, "node-tools/node_modules/@octokit/openapi/generated/api.github.com.json")


def refs(node, out):
    """Every "$ref" under node, as (section, name) of #/components/<section>/<name>."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/"):
            section, name = ref[len("#/components/"):].split("/", 1)
            out.add((section, name))
        for v in node.values():
            refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)


def without_examples(node, in_properties=False):
    """The node without its `example`s: Prism's proxy validates against the schemas only. A
    schema member that happens to be named "example" (under `properties`) stays."""
    if isinstance(node, dict):
        return {
            k: without_examples(v, k == "properties" and not in_properties)
            for k, v in node.items()
            if in_properties or k not in ("examples", "example")
        }
    if isinstance(node, list):
        return [without_examples(v) for v in node]
    return node


def subset(spec):
    paths = {}
    for method, path in OPERATIONS:
        item = spec["paths"].get(path, {})
        if method not in item:
            sys.exit(f"github-openapi-subset: {method.upper()} {path} is not in the description")
        kept = paths.setdefault(path, {k: v for k, v in item.items() if k == "parameters"})
        kept[method] = without_examples(item[method])
    wanted, done = set(), set()
    refs(paths, wanted)
    components = {}
    while wanted - done:
        for section, name in sorted(wanted - done):
            done.add((section, name))
            node = without_examples(spec["components"][section][name])
            components.setdefault(section, {})[name] = node
            refs(node, wanted)
    out = {k: spec[k] for k in ("openapi", "info", "servers") if k in spec}
    out["paths"] = paths
    out["components"] = components
    return out, done


def main():
    args = sys.argv[1:]
    if len(args) not in (1, 2):
        sys.exit(__doc__)
    src, dst = (DEFAULT_IN, args[0]) if len(args) == 1 else args
    with open(src, encoding="utf-8") as f:
        spec = json.load(f)
    out, components = subset(spec)
    # Prism serves the paths as they are: the tests' mock is the server, not api.github.com.
    out["servers"] = [{"url": "/"}]
    tmp = f"{dst}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(out, f, separators=(",", ":"))
    os.replace(tmp, dst)
    print(
        f"github-openapi-subset: {len(OPERATIONS)} operations, {len(components)} components, "
        f"{os.path.getsize(src)} -> {os.path.getsize(dst)} bytes ({dst})"
    )


if __name__ == "__main__":
    main()
