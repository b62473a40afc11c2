#!/usr/bin/env python3
"""Writes tests/fixtures/github/*.json: the smallest answers GitHub's OpenAPI description
allows for each schema tests/rules_github.rs serves (every required member, filled with a
plain value of its type), which the tests then edit. Run it after a new @octokit/openapi:
  scripts/github-openapi-subset.py /tmp/gh.json && scripts/github-fixtures.py /tmp/gh.json
"""

import json
import os
import sys

SCHEMAS = {
    "pull-request": "pull-request",
    "pull-request-simple": "pull-request-simple",
    "pull-request-review": "pull-request-review",
    "check-run": "check-run",
    "combined-commit-status": "combined-commit-status",
    "branch-with-protection": "branch-with-protection",
    "branch-protection": "branch-protection",
    "basic-error": "basic-error",
}
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../tests/fixtures/github")


def fill(spec, schema, depth=0):
    if "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        return fill(spec, spec["components"]["schemas"][name], depth)
    if "allOf" in schema:
        out = {}
        for s in schema["allOf"]:
            v = fill(spec, s, depth)
            if isinstance(v, dict):
                out.update(v)
        return out
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return fill(spec, schema[key][0], depth)
    if schema.get("nullable") and depth > 0:
        return None
    if "enum" in schema:
        return schema["enum"][0]
    t = schema.get("type")
    if isinstance(t, list):
        if "null" in t and depth > 0:
            return None
        t = [x for x in t if x != "null"][0]
    if t == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {k: fill(spec, props.get(k, {"type": "string"}), depth + 1) for k in schema.get("required", [])}
    if t == "array":
        return []
    if t == "integer" or t == "number":
        return 1
    if t == "boolean":
        return False
    fmt = schema.get("format")
    if fmt == "date-time":
        return "2026-11-01T10:00:00Z"
    if fmt == "uri":
        return "https://github.com/acme/widget"
    if fmt == "email":
        return "a@example.com"
    return "x"


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    os.makedirs(OUT, exist_ok=True)
    for file, name in SCHEMAS.items():
        value = fill(spec, spec["components"]["schemas"][name])
        with open(os.path.join(OUT, f"{file}.json"), "w", encoding="utf-8") as f:
            json.dump(value, f, indent=1, sort_keys=True)
            f.write("\n")
    print(f"github-fixtures: {len(SCHEMAS)} answers in {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
