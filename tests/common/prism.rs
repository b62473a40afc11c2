//! The contract run: a Stoplight Prism proxy between the binary and the fake server, checking
//! every request and answer against the vendor's OpenAPI description.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::step::Step;
use super::{COMMIT, TOKEN};

/// The API base a test points the binary at: the mock server itself or, when
/// `PR_STATUS_CONTRACT=1`, a Stoplight Prism proxy in front of it that checks every request
/// and every answer against Atlassian's published OpenAPI description (`prism proxy --errors`
/// answers a violation with an error, so the test fails).
pub struct Api {
    url: String,
    prism: Option<std::process::Child>,
    log: Option<PathBuf>,
}

impl Api {
    /// Bitbucket Cloud: the description's server is `https://api.bitbucket.org/2.0`, so the
    /// proxy serves the paths without `/2.0` and forwards to `<mock>/2.0`.
    pub fn cloud(server: &mockito::Server) -> Api {
        let upstream = format!("{}/2.0", server.url());
        if std::env::var("PR_STATUS_CONTRACT").as_deref() != Ok("1") {
            return Api {
                url: upstream,
                prism: None,
                log: None,
            };
        }
        let spec = vendor("bitbucket-cloud.openapi.json");
        Api::prism(&spec, &upstream)
    }

    /// Bitbucket Data Center: the description's server is `http://{baseurl}/rest` and its paths
    /// start after `/rest`, while the binary sends `<BITBUCKET_SERVER_URL>/rest/...`. Prism
    /// matches request paths against the paths alone, so it loads a copy whose paths carry the
    /// `/rest` prefix, and forwards to the mock server unchanged.
    pub fn datacenter(server: &mockito::Server) -> Api {
        if std::env::var("PR_STATUS_CONTRACT").as_deref() != Ok("1") {
            return Api::datacenter_direct(server);
        }
        Api::prism(&datacenter_spec(), &server.url())
    }

    /// The mock server itself, also in a contract run: for answers real Data Center servers
    /// send that the 9.2 description does not allow (`"context": null` in `errors[]`, status
    /// codes it does not list), and for a server under a context path.
    pub fn datacenter_direct(server: &mockito::Server) -> Api {
        Api {
            url: server.url(),
            prism: None,
            log: None,
        }
    }

    /// The mock server itself, also in a contract run: for tests that serve answers recorded
    /// from the real Bitbucket, which Atlassian's published schemas reject (they are stricter
    /// than the live API: `links` and `commit` objects with extra members, `null` objects).
    pub fn cloud_direct(server: &mockito::Server) -> Api {
        Api {
            url: format!("{}/2.0", server.url()),
            prism: None,
            log: None,
        }
    }

    /// GitHub: the description's paths are the API's own (`/repos/...`), so the proxy
    /// forwards to the mock server unchanged. It loads the subset of GitHub's description that
    /// scripts/github-openapi-subset.py writes (see `github_spec`).
    pub fn github(server: &mockito::Server) -> Api {
        if std::env::var("PR_STATUS_CONTRACT").as_deref() != Ok("1") {
            return Api::github_direct(server, "");
        }
        Api::prism(&github_spec(), &server.url())
    }

    /// The mock server itself, also in a contract run, for answers real GitHub sends that its
    /// description does not list (`why`, for the reader: a 403 of an endpoint that documents
    /// only 200 and 404).
    pub fn github_direct(server: &mockito::Server, why: &str) -> Api {
        let _ = why;
        Api {
            url: server.url(),
            prism: None,
            log: None,
        }
    }

    /// Starts Prism on a free port. The port is found by binding port 0 and releasing it, so
    /// another process may take it before Prism binds: a Prism that exits, or that does not
    /// say it listens, is started again on another port.
    fn prism(spec: &Path, upstream: &str) -> Api {
        for _ in 0..5 {
            if let Some(api) = Api::prism_once(spec, upstream) {
                return api;
            }
        }
        panic!("prism did not start (5 attempts); see the prism-*.log files in the temporary directory");
    }

    fn prism_once(spec: &Path, upstream: &str) -> Option<Api> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log_path = std::env::temp_dir().join(format!("prism-{port}.log"));
        let log = std::fs::File::create(&log_path).unwrap();
        let mut child = std::process::Command::new("prism")
            .args(["proxy", "--errors", "-h", "127.0.0.1", "-p", &port.to_string()])
            .arg(spec)
            .arg(upstream)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("PR_STATUS_CONTRACT=1 needs `prism` (npm install -g @stoplight/prism-cli)");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        let listening = || {
            std::fs::read_to_string(&log_path).is_ok_and(|l| l.contains("Prism is listening"))
                && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        };
        while !listening() {
            let exited = child.try_wait().ok().flatten().is_some();
            if exited || std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Some(Api {
            url: format!("http://127.0.0.1:{port}"),
            prism: Some(child),
            log: Some(log_path),
        })
    }

    /// The base URL the binary is given (`BITBUCKET_API_URL`).
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// A vendor's published API description: in `PR_STATUS_VENDOR_DIR`, by default the
/// repository's own copy in `spec/vendor/`.
pub fn vendor(name: &str) -> PathBuf {
    std::env::var_os("PR_STATUS_VENDOR_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("spec/vendor"))
        .join(name)
}

/// The Data Center description (`PR_STATUS_DC_OPENAPI`, default `spec/vendor/`) with
/// `/rest` in front of every path (see `Api::datacenter`), written once per test process.
fn datacenter_spec() -> PathBuf {
    static SPEC: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    SPEC.get_or_init(|| {
        let src = std::env::var_os("PR_STATUS_DC_OPENAPI")
            .map(PathBuf::from)
            .unwrap_or_else(|| vendor("bitbucket-datacenter-9.2.openapi.json"));
        let text = std::fs::read_to_string(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
        let mut spec: Value = serde_json::from_str(&text).unwrap();
        let paths = spec["paths"].as_object().unwrap().clone();
        spec["paths"] = paths.into_iter().map(|(p, v)| (format!("/rest{p}"), v)).collect();
        spec["servers"] = serde_json::json!([{"url": "/"}]);
        let out = std::env::temp_dir().join("pr-status-datacenter-openapi-rest.json");
        let tmp = out.with_extension(format!("{}.tmp", std::process::id()));
        std::fs::write(&tmp, spec.to_string()).unwrap();
        std::fs::rename(&tmp, &out).unwrap();
        out
    })
    .clone()
}

/// The subset of GitHub's description (`PR_STATUS_GH_OPENAPI`, default the file the npm
/// package @octokit/openapi ships in scripts/node-tools) that the provider uses, written once
/// per test process by scripts/github-openapi-subset.py.
fn github_spec() -> PathBuf {
    static SPEC: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    SPEC.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let src = std::env::var_os("PR_STATUS_GH_OPENAPI")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                root.join("scripts/node-tools/node_modules/@octokit/openapi/generated/api.github.com.json")
            });
        let out = std::env::temp_dir().join(format!("pr-status-github-openapi-{}.json", std::process::id()));
        let status = std::process::Command::new("python3")
            .arg(root.join("scripts/github-openapi-subset.py"))
            .arg(&src)
            .arg(&out)
            .status()
            .expect("python3 runs scripts/github-openapi-subset.py");
        assert!(
            status.success(),
            "scripts/github-openapi-subset.py failed (run scripts/install-tools.sh)"
        );
        out
    })
    .clone()
}

impl Drop for Api {
    fn drop(&mut self) {
        if let Some(child) = &mut self.prism {
            let _ = child.kill();
            let _ = child.wait();
        }
        // Kept when the test failed (its violations are in the proxy's log), else removed.
        if let Some(log) = &self.log {
            if !std::thread::panicking() {
                let _ = std::fs::remove_file(log);
            }
        }
    }
}

impl Step {
    /// Bitbucket Cloud variables pointing at `api`, with an access token.
    pub fn cloud_via(self, api: &Api) -> Self {
        self.env("BITBUCKET_API_URL", api.url())
            .env("BITBUCKET_WORKSPACE", "acme")
            .env("BITBUCKET_REPO_SLUG", "widget")
            .env("BITBUCKET_COMMIT", COMMIT)
            .env("BITBUCKET_ACCESS_TOKEN", TOKEN)
    }
}

/// `Mock::expect` for request counts, as the contract run can check them: Prism 5.14's proxy
/// sometimes forwards one request upstream twice (its log shows two "upstream call returned"
/// lines for one "request received"), so under `PR_STATUS_CONTRACT=1` a count of n means at
/// least n. The direct run (plain `cargo test`) checks the exact count. Counts of 0 stay exact
/// everywhere: use `expect(0)`.
pub trait ExpectSent {
    fn expect_sent(self, n: usize) -> Self;
}

impl ExpectSent for mockito::Mock {
    fn expect_sent(self, n: usize) -> Self {
        if std::env::var("PR_STATUS_CONTRACT").as_deref() == Ok("1") {
            self.expect_at_least(n)
        } else {
            self.expect(n)
        }
    }
}
