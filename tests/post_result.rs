//! `POST_RESULT` end to end (docs/post-result.md): the real binary against a local server that
//! answers each forge's lookup and records every request with its body.
//!
//! For every forge: the body of a passing, a failing and a pending verdict, field by field;
//! `POST_RESULT` unset sends no write request at all; a 403 (Data Center: 401) on the post
//! keeps the gate's exit code and warns once, naming the permission; the tool's own earlier
//! status `pr-status`, failed, is not counted as a build.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

// ---- A recording HTTP/1.1 server on 127.0.0.1 ----

/// One request as the server read it.
#[derive(Debug, Clone)]
struct Req {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Req {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("{} {}: body is not JSON ({e}): {}", self.method, self.path, self.body))
    }
}

/// The answer to a request, given the request and how many earlier ones had its method and path.
type Route = dyn Fn(&Req, usize) -> (u16, String) + Send + Sync;

struct Recorder {
    url: String,
    log: Arc<Mutex<Vec<Req>>>,
    stop: Arc<AtomicBool>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl Recorder {
    fn start(route: impl Fn(&Req, usize) -> (u16, String) + Send + Sync + 'static) -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::<Req>::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let route: Arc<Route> = Arc::new(route);
        let (log2, stop2) = (log.clone(), stop.clone());
        thread::spawn(move || {
            let started = Instant::now();
            while !stop2.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(120) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (log, route) = (log2.clone(), route.clone());
                        thread::spawn(move || {
                            let _ = answer(stream, &log, &*route);
                        });
                    }
                    Err(_) => thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Recorder { url, log, stop }
    }

    fn requests(&self) -> Vec<Req> {
        self.log.lock().unwrap().clone()
    }

    /// Every request that is not a GET.
    fn writes(&self) -> Vec<Req> {
        self.requests().into_iter().filter(|r| r.method != "GET").collect()
    }

    /// The one write request, checked to be the only one.
    fn the_write(&self) -> Req {
        let writes = self.writes();
        assert_eq!(writes.len(), 1, "exactly one write request: {writes:#?}");
        writes.into_iter().next().unwrap()
    }
}

/// Reads one request (head and `Content-Length` body), records it, answers and closes.
fn answer(stream: std::net::TcpStream, log: &Mutex<Vec<Req>>, route: &Route) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    let req = Req {
        method,
        path: target.split('?').next().unwrap_or("").to_string(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let seen = {
        let mut log = log.lock().unwrap();
        let n = log
            .iter()
            .filter(|r| r.method == req.method && r.path == req.path)
            .count();
        log.push(req.clone());
        n
    };
    let (status, text) = route(&req, seen);
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )?;
    out.flush()
}

// ---- The four forges' lookups ----

#[derive(Debug, Clone, Copy, PartialEq)]
enum Forge {
    Cloud,
    Datacenter,
    Github,
    Gitlab,
}

const FORGES: [Forge; 4] = [Forge::Cloud, Forge::Datacenter, Forge::Github, Forge::Gitlab];

/// The builds of the PR's head in a scenario.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Builds {
    /// `unit` successful: the gate passes.
    Pass,
    /// `unit` failed: the gate fails.
    Fail,
    /// `unit` running: the gate is pending.
    Pending,
    /// `unit` successful and the tool's own earlier status `pr-status` failed.
    OwnFailedPost,
}

impl Builds {
    /// The unit build's state (Bitbucket names).
    fn unit(self) -> &'static str {
        match self {
            Builds::Pass | Builds::OwnFailedPost => "SUCCESSFUL",
            Builds::Fail => "FAILED",
            Builds::Pending => "INPROGRESS",
        }
    }

    fn github(state: &str) -> &'static str {
        match state {
            "SUCCESSFUL" => "success",
            "FAILED" => "failure",
            _ => "pending",
        }
    }

    fn gitlab(state: &str) -> &'static str {
        match state {
            "SUCCESSFUL" => "success",
            "FAILED" => "failed",
            _ => "running",
        }
    }

    /// (key, Bitbucket state) of every build reported.
    fn list(self) -> Vec<(&'static str, &'static str)> {
        let mut v = vec![("unit", self.unit())];
        if self == Builds::OwnFailedPost {
            v.push(("pr-status", "FAILED"));
        }
        v
    }
}

const REQUIRE: &str = "open,approved,builds-passed";
const GITLAB_PROJECT: &str = "/api/v4/projects/9";

fn cloud_pr(head: &str) -> Value {
    json!({
        "type": "pullrequest", "id": 1, "title": "PR 1", "state": "OPEN", "draft": false,
        "links": {"html": {"href": "https://bitbucket.org/acme/widget/pull-requests/1"}},
        "author": {"type": "user", "display_name": "Ann Author", "uuid": "{a-1}"},
        "source": {"branch": {"name": "feature/x"}, "commit": {"hash": head}},
        "destination": {"branch": {"name": "main"}},
        "created_on": "2026-11-01T10:00:00.000000+00:00", "updated_on": "2026-11-02T10:00:00.000000+00:00",
        "participants": [
            {"type": "participant", "user": {"type": "user", "display_name": "Rita Reviewer", "uuid": "{r-1}"},
             "role": "REVIEWER", "approved": true, "state": "approved"}
        ],
        "task_count": 0, "comment_count": 0
    })
}

fn dc_page(values: Vec<Value>) -> String {
    json!({"size": values.len(), "limit": 100, "start": 0, "isLastPage": true, "values": values}).to_string()
}

fn dc_pr() -> Value {
    json!({
        "id": 1, "title": "PR 1", "state": "OPEN", "open": true, "closed": false, "draft": false,
        "createdDate": 1_700_000_000_000u64, "updatedDate": 1_700_000_000_001u64,
        "fromRef": {"id": "refs/heads/feature/x", "displayId": "feature/x", "latestCommit": COMMIT},
        "toRef": {"id": "refs/heads/main", "displayId": "main", "latestCommit": "fedcba9876543210fedcba9876543210fedcba98"},
        "author": {"user": {"id": 201, "name": "alice", "slug": "alice", "displayName": "Alice"}, "role": "AUTHOR", "approved": false, "status": "UNAPPROVED"},
        "reviewers": [{"user": {"id": 202, "name": "rita", "slug": "rita", "displayName": "Rita"}, "role": "REVIEWER", "approved": true, "status": "APPROVED"}],
        "participants": [],
        "properties": {"openTaskCount": 0, "commentCount": 0},
        "links": {"self": [{"href": "https://bitbucket.example.com/projects/PROJ/repos/widget/pull-requests/1"}]}
    })
}

fn github_pr(head: &str) -> Value {
    json!({
        "number": 1, "title": "PR 1", "state": "open", "draft": false, "merged_at": null,
        "html_url": "https://github.com/acme/widget/pull/1",
        "user": {"login": "ann", "id": 1},
        "head": {"ref": "feature/x", "sha": head}, "base": {"ref": "main", "sha": "1111111111111111111111111111111111111111"},
        "created_at": "2026-11-01T10:00:00Z", "updated_at": "2026-11-02T10:00:00Z",
        "requested_reviewers": [], "requested_teams": []
    })
}

fn gitlab_mr(pipeline_state: &str) -> Value {
    json!({
        "id": 1001, "iid": 1, "project_id": 9, "title": "MR 1", "state": "opened", "draft": false,
        "web_url": "https://gitlab.example/group/widget/-/merge_requests/1",
        "author": {"id": 1, "name": "Ann Author", "username": "ann"},
        "source_branch": "feature/x", "target_branch": "main", "sha": COMMIT,
        "created_at": "2026-11-01T10:00:00.000Z", "updated_at": "2026-11-02T10:00:00.000Z",
        "user_notes_count": 0, "reviewers": [],
        "head_pipeline": {"id": 501, "sha": COMMIT, "ref": "feature/x", "status": pipeline_state,
                          "web_url": "https://gitlab.example/group/widget/-/pipelines/501"}
    })
}

/// The forge's GET answers for one PR at `COMMIT` (reviewed and approved by someone other than
/// the author) with `builds`; every write request answers `write`.
fn route(forge: Forge, builds: Builds, write: (u16, &'static str)) -> impl Fn(&Req, usize) -> (u16, String) {
    move |req: &Req, _seen: usize| {
        if req.method != "GET" {
            return (write.0, write.1.to_string());
        }
        let p = req.path.as_str();
        let list = builds.list();
        let found = match forge {
            Forge::Cloud => {
                let repo = "/2.0/repositories/acme/widget";
                if p == format!("{repo}/commit/{COMMIT}/pullrequests") {
                    Some(cloud_page(vec![cloud_pr(COMMIT)], None))
                } else if p == format!("{repo}/pullrequests/1") {
                    Some(cloud_pr(COMMIT).to_string())
                } else if p == format!("{repo}/commit/{COMMIT}/statuses")
                    || p == format!("{repo}/pullrequests/1/statuses")
                {
                    let values = list
                        .iter()
                        .map(|(k, s)| json!({"type": "build", "key": k, "name": k, "state": s, "url": format!("https://ci.example/{k}")}))
                        .collect();
                    Some(cloud_page(values, None))
                } else {
                    None
                }
            }
            Forge::Datacenter => {
                if p == format!("/rest/api/latest/projects/PROJ/repos/widget/commits/{COMMIT}/pull-requests") {
                    Some(dc_page(vec![dc_pr()]))
                } else if p == format!("/rest/build-status/latest/commits/{COMMIT}") {
                    let values = list
                        .iter()
                        .map(
                            |(k, s)| json!({"key": k, "name": k, "state": s, "url": format!("https://ci.example/{k}")}),
                        )
                        .collect();
                    Some(dc_page(values))
                } else {
                    None
                }
            }
            Forge::Github => {
                let repo = "/repos/acme/widget";
                if p == format!("{repo}/commits/{COMMIT}/pulls") {
                    Some(json!([github_pr(COMMIT)]).to_string())
                } else if p == format!("{repo}/pulls/1") {
                    Some(github_pr(COMMIT).to_string())
                } else if p == format!("{repo}/pulls/1/reviews") {
                    Some(
                        json!([{"id": 1, "user": {"login": "bob", "id": 2}, "state": "APPROVED",
                                "submitted_at": "2026-11-01T11:00:00Z", "commit_id": COMMIT}])
                        .to_string(),
                    )
                } else if p == format!("{repo}/commits/{COMMIT}/check-runs") {
                    Some(json!({"total_count": 0, "check_runs": []}).to_string())
                } else if p == format!("{repo}/commits/{COMMIT}/status") {
                    let statuses: Vec<Value> = list
                        .iter()
                        .map(|(k, s)| json!({"context": k, "state": Builds::github(s), "target_url": format!("https://ci.example/{k}"), "description": ""}))
                        .collect();
                    Some(json!({"state": "pending", "total_count": statuses.len(), "statuses": statuses}).to_string())
                } else {
                    None
                }
            }
            Forge::Gitlab => {
                let pr = GITLAB_PROJECT;
                if p == format!("{pr}/repository/commits/{COMMIT}/merge_requests") {
                    Some(json!([{"iid": 1, "sha": COMMIT, "source_branch": "feature/x"}]).to_string())
                } else if p == format!("{pr}/merge_requests/1") {
                    Some(gitlab_mr(Builds::gitlab(builds.unit())).to_string())
                } else if p == format!("{pr}/merge_requests/1/approvals") {
                    Some(json!({"approved": true, "approved_by": [{"user": {"id": 2, "name": "Bob", "username": "bob"}}]}).to_string())
                } else if p == format!("{pr}/merge_requests/1/reviewers") {
                    Some("[]".to_string())
                } else if p == format!("{pr}/repository/commits/{COMMIT}/statuses") {
                    // The head pipeline's own job, and (for OwnFailedPost) pr-status's own
                    // status filed under another pipeline, which would count if it were anyone's.
                    let mut statuses = vec![json!({"id": 1, "name": "unit", "status": Builds::gitlab(builds.unit()),
                                                    "allow_failure": false, "pipeline_id": 501, "ref": "feature/x"})];
                    if builds == Builds::OwnFailedPost {
                        statuses.push(
                            json!({"id": 2, "name": "pr-status", "status": "failed", "allow_failure": false,
                                             "pipeline_id": 900, "ref": "feature/x",
                                             "target_url": "https://gitlab.example/group/widget/-/pipelines/900"}),
                        );
                    }
                    Some(Value::Array(statuses).to_string())
                } else {
                    None
                }
            }
        };
        match found {
            Some(body) => (200, body),
            None => (404, json!({"message": format!("no route for {p}")}).to_string()),
        }
    }
}

/// The forge's variables, pointing at `url`, with the variables its CI sets for the run's page.
fn forge_step(forge: Forge, url: &str) -> Step {
    let s = step().env("REQUIRE", REQUIRE);
    match forge {
        Forge::Cloud => s
            .env("BITBUCKET_API_URL", format!("{url}/2.0"))
            .env("BITBUCKET_WORKSPACE", "acme")
            .env("BITBUCKET_REPO_SLUG", "widget")
            .env("BITBUCKET_COMMIT", COMMIT)
            .env("BITBUCKET_ACCESS_TOKEN", TOKEN)
            .env("BITBUCKET_GIT_HTTP_ORIGIN", "http://bitbucket.org/acme/widget")
            .env("BITBUCKET_BUILD_NUMBER", "12"),
        Forge::Datacenter => s
            .env("BITBUCKET_SERVER_URL", url)
            .env("BITBUCKET_PROJECT_KEY", "PROJ")
            .env("BITBUCKET_REPO_SLUG", "widget")
            .env("BITBUCKET_COMMIT", COMMIT)
            .env("BITBUCKET_ACCESS_TOKEN", TOKEN)
            .env("BUILD_URL", "https://jenkins.example/job/widget/9/"),
        Forge::Github => s
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_API_URL", url)
            .env("GITHUB_REPOSITORY", "acme/widget")
            .env("GITHUB_SHA", COMMIT)
            .env("GITHUB_TOKEN", TOKEN)
            .env("GITHUB_SERVER_URL", "https://github.com")
            .env("GITHUB_RUN_ID", "777"),
        Forge::Gitlab => s
            .env("GITLAB_CI", "true")
            .env("CI_API_V4_URL", format!("{url}/api/v4"))
            .env("CI_PROJECT_ID", "9")
            .env("CI_COMMIT_SHA", COMMIT)
            .env("GITLAB_TOKEN", TOKEN)
            .env("CI_PIPELINE_ID", "55")
            .env("CI_PIPELINE_URL", "https://gitlab.example/group/widget/-/pipelines/55"),
    }
}

/// The write request each forge gets: method and path.
fn write_target(forge: Forge) -> (&'static str, String) {
    match forge {
        Forge::Cloud => (
            "PUT",
            format!("/2.0/repositories/acme/widget/commit/{COMMIT}/reports/pr-status"),
        ),
        Forge::Datacenter => (
            "PUT",
            format!("/rest/insights/latest/projects/PROJ/repos/widget/commits/{COMMIT}/reports/pr-status"),
        ),
        Forge::Github => ("POST", format!("/repos/acme/widget/statuses/{COMMIT}")),
        Forge::Gitlab => ("POST", format!("{GITLAB_PROJECT}/statuses/{COMMIT}")),
    }
}

/// The link to the run each forge's variables above describe.
fn run_link(forge: Forge) -> &'static str {
    match forge {
        Forge::Cloud => "http://bitbucket.org/acme/widget/pipelines/results/12",
        Forge::Datacenter => "https://jenkins.example/job/widget/9/",
        Forge::Github => "https://github.com/acme/widget/actions/runs/777",
        Forge::Gitlab => "https://gitlab.example/group/widget/-/pipelines/55",
    }
}

fn pr_url(forge: Forge) -> &'static str {
    match forge {
        Forge::Cloud => "https://bitbucket.org/acme/widget/pull-requests/1",
        Forge::Datacenter => "https://bitbucket.example.com/projects/PROJ/repos/widget/pull-requests/1",
        Forge::Github => "https://github.com/acme/widget/pull/1",
        Forge::Gitlab => "https://gitlab.example/group/widget/-/merge_requests/1",
    }
}

/// One run of `forge` with `builds`, `POST_RESULT` as given (unset when `None`).
fn run(forge: Forge, builds: Builds, post: Option<&str>, write: (u16, &'static str)) -> (Ran, Recorder) {
    let server = Recorder::start(route(forge, builds, write));
    let mut s = forge_step(forge, &server.url);
    if let Some(v) = post {
        s = s.env("POST_RESULT", v);
    }
    (s.run(), server)
}

const CREATED: (u16, &str) = (201, r#"{"id": 1}"#);

/// Runs `each` for every case at the same time (each case is a process and a server).
fn parallel<T: Send>(cases: Vec<T>, each: impl Fn(T) + Sync) {
    thread::scope(|s| {
        let handles: Vec<_> = cases.into_iter().map(|c| s.spawn(|| each(c))).collect();
        for h in handles {
            if let Err(e) = h.join() {
                std::panic::resume_unwind(e);
            }
        }
    });
}

fn outcome_of(builds: Builds) -> (&'static str, i32) {
    match builds {
        Builds::Pass | Builds::OwnFailedPost => ("pass", 0),
        Builds::Fail => ("fail", 1),
        Builds::Pending => ("pending", 8),
    }
}

/// The body fields every forge must carry for `builds`' verdict.
fn check_body(forge: Forge, builds: Builds, ran: &Ran, req: &Req) {
    let (outcome, _) = outcome_of(builds);
    let (method, path) = write_target(forge);
    assert_eq!((req.method.as_str(), req.path.as_str()), (method, path.as_str()));
    assert!(
        req.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{req:?}"
    );
    let auth = req
        .header("authorization")
        .or(req.header("private-token"))
        .unwrap_or("");
    assert!(
        auth.contains(TOKEN),
        "the post carries the lookup's credentials: {req:?}"
    );
    let body = req.json();
    let message = ran.summary()["message"].as_str().unwrap().to_string();
    let unmet = if outcome == "pass" { "none" } else { "builds-passed" };
    let builds_row = match outcome {
        "pass" => "1 successful, 0 failed, 0 in progress, 0 stopped",
        "fail" => "0 successful, 1 failed, 0 in progress, 0 stopped",
        _ => "0 successful, 0 failed, 1 in progress, 0 stopped",
    };
    match forge {
        Forge::Cloud | Forge::Datacenter => {
            let cloud = forge == Forge::Cloud;
            assert_eq!(body["title"], "pr-status", "{body:#}");
            assert_eq!(body["reporter"], "pr-status", "{body:#}");
            assert_eq!(body["link"], run_link(forge), "{body:#}");
            if cloud {
                assert_eq!(body["report_type"], "TEST", "{body:#}");
                let want = match outcome {
                    "pass" => "PASSED",
                    "fail" => "FAILED",
                    _ => "PENDING",
                };
                assert_eq!(body["result"], want, "{body:#}");
                assert_eq!(body["details"], message.as_str(), "{body:#}");
            } else {
                assert!(
                    body.get("report_type").is_none(),
                    "not in Data Center's report: {body:#}"
                );
                match outcome {
                    "pass" => assert_eq!(body["result"], "PASS", "{body:#}"),
                    "fail" => assert_eq!(body["result"], "FAIL", "{body:#}"),
                    _ => {
                        assert!(body.get("result").is_none(), "PASS and FAIL only: {body:#}");
                        let d = body["details"].as_str().unwrap();
                        assert!(d.starts_with("Pending, so no result") && d.ends_with(&message), "{d}");
                    }
                }
                if outcome != "pending" {
                    assert_eq!(body["details"], message.as_str(), "{body:#}");
                }
            }
            let rows = body["data"].as_array().unwrap();
            assert!(rows.len() <= if cloud { 10 } else { 6 }, "{body:#}");
            let row = |title: &str| {
                rows.iter()
                    .find(|r| r["title"] == title)
                    .unwrap_or_else(|| panic!("no {title} row: {body:#}"))
                    .clone()
            };
            assert_eq!(row("Gate"), json!({"title": "Gate", "type": "TEXT", "value": outcome}));
            assert_eq!(
                row("Approvals"),
                json!({"title": "Approvals", "type": "NUMBER", "value": 1})
            );
            assert_eq!(
                row("Builds"),
                json!({"title": "Builds", "type": "TEXT", "value": builds_row})
            );
            assert_eq!(
                row("Unmet conditions"),
                json!({"title": "Unmet conditions", "type": "TEXT", "value": unmet})
            );
            let text = if cloud { "text" } else { "linktext" };
            assert_eq!(
                row("Pull request"),
                json!({"title": "Pull request", "type": "LINK", "value": {text: "#1", "href": pr_url(forge)}})
            );
        }
        Forge::Github => {
            let state = match outcome {
                "pass" => "success",
                "fail" => "failure",
                _ => "pending",
            };
            assert_eq!(body["state"], state, "{body:#}");
            assert_eq!(body["context"], "pr-status", "{body:#}");
            assert_eq!(body["target_url"], run_link(forge), "{body:#}");
            assert_eq!(
                body["description"],
                format!("pr-status {outcome}: {message}"),
                "{body:#}"
            );
        }
        Forge::Gitlab => {
            let state = match outcome {
                "pass" => "success",
                "fail" => "failed",
                _ => "pending",
            };
            assert_eq!(body["state"], state, "{body:#}");
            assert_eq!(body["name"], "pr-status", "{body:#}");
            assert_eq!(body["target_url"], run_link(forge), "{body:#}");
            assert_eq!(
                body["description"],
                format!("pr-status {outcome}: {message}"),
                "{body:#}"
            );
            // The running pipeline is for this commit: the status goes there (never counted).
            assert_eq!(body["pipeline_id"], 55, "{body:#}");
            assert!(body.get("ref").is_none(), "{body:#}");
        }
    }
    assert!(!req.body.contains(TOKEN), "no secret in the body");
}

#[test]
fn each_forge_posts_pass_fail_and_pending_once_with_every_field() {
    let mut cases = Vec::new();
    for forge in FORGES {
        for builds in [Builds::Pass, Builds::Fail, Builds::Pending] {
            cases.push((forge, builds));
        }
    }
    parallel(cases, |(forge, builds)| {
        let (ran, server) = run(forge, builds, Some("true"), CREATED);
        let (outcome, code) = outcome_of(builds);
        assert_eq!(ran.code, code, "{forge:?} {builds:?}: {}", ran.stderr);
        assert_eq!(ran.summary()["outcome"], outcome);
        assert!(!ran.stderr.contains("warning"), "{forge:?}: {}", ran.stderr);
        check_body(forge, builds, &ran, &server.the_write());
        // The post comes after the lookup: it is the last request.
        assert_ne!(server.requests().last().unwrap().method, "GET", "{forge:?}");
    });
}

#[test]
fn without_post_result_nothing_is_written_on_any_forge() {
    let mut cases = Vec::new();
    for forge in FORGES {
        for (builds, post) in [
            (Builds::Pass, None),
            (Builds::Fail, None),
            (Builds::Pending, None),
            (Builds::Fail, Some("false")),
        ] {
            cases.push((forge, builds, post));
        }
    }
    parallel(cases, |(forge, builds, post)| {
        let (ran, server) = run(forge, builds, post, CREATED);
        assert_eq!(ran.code, outcome_of(builds).1, "{forge:?}: {}", ran.stderr);
        assert!(!server.requests().is_empty(), "the lookup ran");
        let writes = server.writes();
        assert!(writes.is_empty(), "{forge:?} {builds:?}: no write request: {writes:#?}");
    });
}

#[test]
fn a_refused_post_warns_once_naming_the_permission_and_keeps_the_exit_code() {
    let cases = vec![
        (
            Forge::Cloud,
            (
                403,
                r#"{"type": "error", "error": {"message": "Your credentials lack one or more required privilege scopes."}}"#,
            ),
            vec!["repository:write", "Code Insights"],
        ),
        (
            Forge::Datacenter,
            (
                401,
                r#"{"errors": [{"message": "You are not permitted to access this resource"}]}"#,
            ),
            vec!["Repository write", "Code Insights"],
        ),
        (
            Forge::Github,
            (403, r#"{"message": "Resource not accessible by integration"}"#),
            vec!["`statuses: write`", "Resource not accessible by integration"],
        ),
        (
            Forge::Gitlab,
            (403, r#"{"message": "403 Forbidden"}"#),
            vec!["`api` scope", "Developer role"],
        ),
    ];
    let mut all = Vec::new();
    for (forge, reply, names) in cases {
        for builds in [Builds::Pass, Builds::Fail] {
            all.push((forge, reply, names.clone(), builds));
        }
    }
    parallel(all, |(forge, reply, names, builds)| {
        let (ran, server) = run(forge, builds, Some("true"), reply);
        let (outcome, code) = outcome_of(builds);
        assert_eq!(ran.code, code, "{forge:?}: the gate's exit code: {}", ran.stderr);
        assert_eq!(ran.summary()["outcome"], outcome);
        assert!(ran.summary()["error"].is_null(), "a failed post is not an error");
        let warnings: Vec<&str> = ran
            .stderr
            .lines()
            .filter(|l| l.starts_with("pr-status: warning:"))
            .collect();
        assert_eq!(warnings.len(), 1, "{forge:?}: one warning line: {}", ran.stderr);
        for name in &names {
            assert!(warnings[0].contains(name), "{forge:?}: names {name}: {}", warnings[0]);
        }
        assert!(!ran.stderr.contains("error:"), "{}", ran.stderr);
        // A refusal is final: one attempt, not retried.
        assert_eq!(server.writes().len(), 1, "{forge:?}");
        assert!(!ran.everything().contains(TOKEN), "{forge:?}: no secret in any output");
    });
}

#[test]
fn its_own_earlier_failed_status_is_not_counted_as_a_build() {
    let mut cases = Vec::new();
    for forge in FORGES {
        for post in [None, Some("true")] {
            cases.push((forge, post));
        }
    }
    parallel(cases, |(forge, post)| {
        let (ran, server) = run(forge, Builds::OwnFailedPost, post, CREATED);
        assert_eq!(ran.code, 0, "{forge:?}: the gate still passes: {}", ran.stderr);
        let s = ran.summary();
        assert_eq!(s["outcome"], "pass");
        let builds = s["pull_requests"][0]["builds"].as_array().unwrap();
        let own: Vec<&Value> = builds
            .iter()
            .filter(|b| b["key"] == "pr-status" || b["name"] == "pr-status")
            .collect();
        assert_eq!(own.len(), 1, "{forge:?}: the status is listed: {s:#}");
        assert_eq!(own[0]["ignored"], true, "{forge:?}: {s:#}");
        assert_eq!(s["pull_requests"][0]["build_summary"]["failed"], 0, "{forge:?}: {s:#}");
        match post {
            None => assert!(server.writes().is_empty()),
            Some(_) => check_body(forge, Builds::Pass, &ran, &server.the_write()),
        }
    });
}

#[test]
fn a_lookup_that_failed_posts_nothing() {
    let server = Recorder::start(|req: &Req, _| {
        if req.method == "GET" {
            (404, r#"{"message": "Not Found"}"#.to_string())
        } else {
            (201, "{}".to_string())
        }
    });
    let ran = forge_step(Forge::Github, &server.url).env("POST_RESULT", "true").run();
    assert_eq!(ran.code, 4, "{}", ran.stderr);
    assert!(server.writes().is_empty(), "{:#?}", server.writes());
    assert!(!ran.stderr.contains("warning"), "{}", ran.stderr);
}

#[test]
fn posted_once_after_wait_for_builds_decided() {
    // The build runs on the first two lookups and passes on the third: one post, PASS.
    let server = Recorder::start(|req: &Req, seen: usize| {
        let builds = if seen < 2 { Builds::Pending } else { Builds::Pass };
        route(Forge::Github, builds, CREATED)(req, seen)
    });
    let ran = forge_step(Forge::Github, &server.url)
        .env("POST_RESULT", "true")
        .env("WAIT_FOR_BUILDS", "30")
        .env("POLL_INTERVAL", "1")
        .run();
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let status_reads = server.requests().iter().filter(|r| r.path.ends_with("/status")).count();
    // Polled until decided, then everything read once more before the pass.
    assert_eq!(status_reads, 4, "polled until decided");
    check_body(Forge::Github, Builds::Pass, &ran, &server.the_write());
}

#[test]
fn a_failing_server_is_retried_by_the_usual_rules_then_warned_about() {
    let (ran, server) = run(
        Forge::Github,
        Builds::Fail,
        Some("true"),
        (502, r#"{"message": "Bad Gateway"}"#),
    );
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert_eq!(server.writes().len(), 4, "the client's attempts, no more");
    let warning = ran
        .stderr
        .lines()
        .find(|l| l.starts_with("pr-status: warning:"))
        .unwrap_or_else(|| panic!("{}", ran.stderr));
    assert!(
        warning.contains("502") && warning.contains("gave up after 4 attempts"),
        "{warning}"
    );
}

#[test]
fn a_pr_id_lookup_without_commit_posts_to_the_prs_head() {
    // Bitbucket Cloud with BITBUCKET_PR_ID and no BITBUCKET_COMMIT: the PR's head is the target.
    let server = Recorder::start(route(Forge::Cloud, Builds::Pass, CREATED));
    let ran = step()
        .env("REQUIRE", REQUIRE)
        .env("BITBUCKET_API_URL", format!("{}/2.0", server.url))
        .env("BITBUCKET_WORKSPACE", "acme")
        .env("BITBUCKET_REPO_SLUG", "widget")
        .env("BITBUCKET_PR_ID", "1")
        .env("BITBUCKET_ACCESS_TOKEN", TOKEN)
        .env("POST_RESULT", "yes")
        .run();
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let req = server.the_write();
    assert_eq!(req.path, write_target(Forge::Cloud).1);
    assert_eq!(req.json()["result"], "PASSED");
    assert!(req.json().get("link").is_none(), "no CI run is known");
}

#[test]
fn gitlab_merged_results_pipeline_posts_to_the_source_head_on_its_branch() {
    // CI_COMMIT_SHA is the merge commit: the status goes to the MR's head on its source branch,
    // not into the running pipeline (which is for another commit).
    let server = Recorder::start(route(Forge::Gitlab, Builds::Pass, CREATED));
    let ran = forge_step(Forge::Gitlab, &server.url)
        .env("CI_COMMIT_SHA", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
        .env("CI_MERGE_REQUEST_IID", "1")
        .env("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", COMMIT)
        .env("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "feature/x")
        .env("POST_RESULT", "true")
        .run();
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let req = server.the_write();
    assert_eq!(req.path, write_target(Forge::Gitlab).1);
    let body = req.json();
    assert_eq!(body["ref"], "feature/x", "{body:#}");
    assert!(body.get("pipeline_id").is_none(), "{body:#}");
}

#[test]
fn a_link_with_credentials_is_never_posted_and_descriptions_fit_github() {
    let server = Recorder::start(route(Forge::Github, Builds::Fail, CREATED));
    let long = "x".repeat(300);
    let ran = forge_step(Forge::Github, &server.url)
        .env("GITHUB_SERVER_URL", "https://user:hunter2@github.example")
        .env("DESTINATION_BRANCH", &long)
        .env("POST_RESULT", "true")
        .run();
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let body = server.the_write().json();
    assert!(body.get("target_url").is_none(), "{body:#}");
    assert!(!body.to_string().contains("hunter2"));
    let d = body["description"].as_str().unwrap();
    assert_eq!(d.chars().count(), 140, "GitHub caps descriptions at 140: {d}");
    assert!(
        d.starts_with("pr-status fail: no pull request into xxx") && d.ends_with('…'),
        "{d}"
    );
}

#[test]
fn post_result_must_be_a_boolean() {
    let server = Recorder::start(route(Forge::Github, Builds::Pass, CREATED));
    let ran = forge_step(Forge::Github, &server.url)
        .env("POST_RESULT", "sometimes")
        .run();
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("POST_RESULT"), "{}", ran.stderr);
    assert!(server.requests().is_empty(), "nothing sent on a configuration error");
}
