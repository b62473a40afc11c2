//! One run of the real binary with a clean environment, its summary read back and validated
//! against the published schema, and the assertions every failure case shares.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use super::{COMMIT, TOKEN};

/// One run of the binary under test.
pub struct Step {
    cmd: assert_cmd::Command,
    pub dir: tempfile::TempDir,
    args: Vec<String>,
}

/// The result of a run, with the JSON summary parsed when it was written.
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub summary: Option<Value>,
    pub dir: PathBuf,
}

impl Ran {
    pub fn summary(&self) -> &Value {
        self.summary
            .as_ref()
            .unwrap_or_else(|| panic!("no summary written; stderr: {}", self.stderr))
    }

    /// Every output of the run as one text, for secret scans.
    pub fn everything(&self) -> String {
        let mut all = format!("{}\n{}\n", self.stdout, self.stderr);
        for entry in walk(&self.dir) {
            all.push_str(&std::fs::read_to_string(entry).unwrap_or_default());
        }
        all
    }

    pub fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// A run with an empty environment, the summary in a fresh temporary folder, and retry and
/// index waits shortened so that fault tests finish quickly.
pub fn step() -> Step {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = assert_cmd::Command::cargo_bin("pr-status").unwrap();
    cmd.env_clear()
        .current_dir(dir.path())
        .env("SUMMARY_FILE", dir.path().join("pr-status.json"))
        .env("HTTP_RETRY_DELAY_MS", "20")
        .env("INDEX_WAIT", "2")
        .env("HTTP_TIMEOUT", "5")
        .timeout(std::time::Duration::from_secs(120));
    Step {
        cmd,
        dir,
        args: Vec::new(),
    }
}

impl Step {
    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    pub fn envs<'a>(mut self, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        for (k, v) in pairs {
            self.cmd.env(k, v);
        }
        self
    }

    pub fn arg(mut self, a: &str) -> Self {
        self.args.push(a.into());
        self
    }

    /// Bitbucket Cloud variables pointing at a local server, with an access token.
    pub fn cloud(self, server_url: &str) -> Self {
        self.env("BITBUCKET_API_URL", format!("{server_url}/2.0"))
            .env("BITBUCKET_WORKSPACE", "acme")
            .env("BITBUCKET_REPO_SLUG", "widget")
            .env("BITBUCKET_COMMIT", COMMIT)
            .env("BITBUCKET_ACCESS_TOKEN", TOKEN)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn run(mut self) -> Ran {
        let out: Output = self.cmd.args(&self.args).output().unwrap();
        if std::env::var_os("PR_STATUS_TEST_ECHO").is_some() {
            eprintln!(
                "--- exit {:?}\n{}{}",
                out.status.code(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let summary_path = self.dir.path().join("pr-status.json");
        let summary = std::fs::read_to_string(&summary_path)
            .ok()
            .map(|t| serde_json::from_str(&t).unwrap_or_else(|e| panic!("summary is not JSON: {e}\n{t}")));
        if let Some(s) = &summary {
            assert_valid(s);
        }
        Ran {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            summary,
            dir: self.dir.keep(),
        }
    }
}

/// The published schema (a copy of ../shared/spec, kept equal by a test).
pub fn schema() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("spec/pr-status.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Panics with every violation when `summary` does not follow the schema.
pub fn assert_valid(summary: &Value) {
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema())
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(summary)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "summary violates the schema: {errors:#?}\n{summary:#}"
    );
}

/// A recorded answer from `tests/fixtures/`.
pub fn fixture(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A paginated Bitbucket Cloud page.
pub fn cloud_page(values: Vec<Value>, next: Option<String>) -> String {
    let mut page = serde_json::json!({"pagelen": 50, "page": 1, "size": values.len(), "values": values});
    if let Some(n) = next {
        page["next"] = Value::String(n);
    }
    page.to_string()
}

// ---- Assertions every failure case shares. ----

/// The run ended with `code` through the documented path: no panic, no abort, one line on
/// stderr (without DEBUG) that is not empty.
pub fn assert_clean_failure(r: &Ran, code: i32) {
    assert!(!r.stderr.contains("panicked"), "panic: {}", r.stderr);
    assert!(
        r.code != 101 && r.code != 134 && r.code != -1,
        "crash {}: {}",
        r.code,
        r.stderr
    );
    assert_eq!(r.code, code, "stderr: {}\nstdout: {}", r.stderr, r.stdout);
    let lines: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| !l.starts_with("pr-status: debug:"))
        .collect();
    assert_eq!(lines.len(), 1, "expected one stderr line, got: {:?}", r.stderr);
    assert!(
        lines[0].starts_with("pr-status: error: ") && lines[0].len() > 30,
        "{}",
        lines[0]
    );
}

/// The JSON summary of a failed run: outcome, kind, and the message on stderr is the same.
pub fn assert_error_summary(r: &Ran, outcome: &str, kind: &str) {
    let s = r.summary();
    assert_eq!(s["outcome"], outcome, "{s:#}");
    assert_eq!(s["exit_code"], r.code, "{s:#}");
    assert_eq!(s["error"]["kind"], kind, "{s:#}");
    let message = s["error"]["message"].as_str().unwrap();
    assert!(r.stderr.contains(message), "stderr {:?} lacks {message:?}", r.stderr);
}
