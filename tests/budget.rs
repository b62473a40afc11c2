//! The API's quota spent like money: what a wait for builds re-reads (counted, request by
//! request), conditional requests answered 304, the `api` block of the summary, the early stop
//! near the rate limit, and at most 8 requests in flight.
//!
//! Every fake here is a real HTTP server on a loopback socket, one thread per connection, that
//! logs each request and counts how many are in flight at once. The fakes answer like the
//! forges' documentation says: GitHub sends an `ETag` on every answer and a `304` (without a
//! body) to a matching `If-None-Match`, with `x-ratelimit-*` headers; Bitbucket Cloud sends no
//! `ETag` and, to access tokens, `X-RateLimit-Limit`, `X-RateLimit-Resource` and
//! `X-RateLimit-NearLimit`. Counts are exact; no assertion depends on time.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde_json::{json, Value};

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
const TOKEN: &str = "tok-budget-5f0e1d2c3b4a";
const CLOUD: &str = "/2.0/repositories/acme/widget";
const GITHUB: &str = "/repos/acme/widget";

/// One request as the fake saw it.
#[derive(Debug, Clone)]
struct Req {
    target: String,
    headers: Vec<(String, String)>,
}

impl Req {
    fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One answer.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn json(body: Value) -> Answer {
        Answer {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
        }
    }

    fn header(mut self, name: &str, value: impl Into<String>) -> Answer {
        self.headers.push((name.into(), value.into()));
        self
    }
}

type Handler = dyn Fn(&Req, &Log) -> Answer + Send + Sync;

/// What the fake saw: every request in order, and the most requests in flight at once.
#[derive(Default)]
struct Log {
    seen: Mutex<Vec<Req>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    not_modified: AtomicUsize,
}

impl Log {
    /// Requests whose path ends with `suffix`, so far (the current one included).
    fn count(&self, suffix: &str) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path().ends_with(suffix))
            .count()
    }

    fn total(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

struct Fake {
    url: String,
    log: Arc<Log>,
}

impl Fake {
    /// Serves `handler`, holding each answer back `delay` (so that concurrent requests overlap).
    fn start(delay: Duration, handler: impl Fn(&Req, &Log) -> Answer + Send + Sync + 'static) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Log::default());
        let handler: Arc<Handler> = Arc::new(handler);
        let shared = log.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { break };
                let (log, handler) = (shared.clone(), handler.clone());
                thread::spawn(move || serve(conn, &log, &*handler, delay));
            }
        });
        Fake { url, log }
    }
}

/// Answers the requests of one connection (keep-alive), until the client closes it.
fn serve(conn: TcpStream, log: &Log, handler: &Handler, delay: Duration) {
    conn.set_read_timeout(Some(Duration::from_secs(120))).ok();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
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
        let mut body = vec![0; length];
        if std::io::Read::read_exact(&mut reader, &mut body).is_err() {
            return;
        }
        let req = Req { target, headers };
        let now = log.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        log.max_in_flight.fetch_max(now, Ordering::SeqCst);
        log.seen.lock().unwrap().push(req.clone());
        thread::sleep(delay);
        let answer = handler(&req, log);
        if answer.status == 304 {
            log.not_modified.fetch_add(1, Ordering::SeqCst);
        }
        log.in_flight.fetch_sub(1, Ordering::SeqCst);
        let mut head = format!(
            "HTTP/1.1 {} X\r\ncontent-length: {}\r\n",
            answer.status,
            answer.body.len()
        );
        for (k, v) in &answer.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        if conn.write_all(head.as_bytes()).is_err() || conn.write_all(answer.body.as_bytes()).is_err() {
            return;
        }
    }
}

/// A run of the binary: exit code, stderr and the JSON summary.
struct Ran {
    code: i32,
    stderr: String,
    summary: Value,
}

fn run(env: &[(&str, String)]) -> Ran {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("pr-status.json");
    let mut cmd = assert_cmd::Command::cargo_bin("pr-status").unwrap();
    cmd.env_clear()
        .current_dir(dir.path())
        .env("SUMMARY_FILE", &summary)
        .env("HTTP_RETRY_DELAY_MS", "20")
        .env("HTTP_TIMEOUT", "60")
        .env("DEBUG", "true")
        .timeout(Duration::from_secs(300));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text = std::fs::read_to_string(&summary).unwrap_or_default();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let summary = serde_json::from_str(&text).unwrap_or_else(|e| panic!("summary {e}: {text:?}; stderr: {stderr}"));
    validate(&summary);
    Ran {
        code: out.status.code().unwrap_or(-1),
        stderr,
        summary,
    }
}

/// The summary follows the project's schema.
fn validate(summary: &Value) {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/spec/pr-status.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(summary).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}\n{summary:#}");
}

/// The pauses between polls as DEBUG says them, in seconds.
fn pauses(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| l.split("waiting ").nth(1))
        .filter_map(|l| l.split(" s for running builds").next().map(str::to_string))
        .filter(|s| s.parse::<f32>().is_ok())
        .collect()
}

// ---- Bitbucket Cloud ----

fn cloud_env(fake: &Fake) -> Vec<(&'static str, String)> {
    vec![
        ("BITBUCKET_API_URL", format!("{}/2.0", fake.url)),
        ("BITBUCKET_WORKSPACE", "acme".into()),
        ("BITBUCKET_REPO_SLUG", "widget".into()),
        ("BITBUCKET_COMMIT", COMMIT.into()),
        ("BITBUCKET_ACCESS_TOKEN", TOKEN.into()),
        ("REQUIRE", "open,approved,builds-passed".into()),
    ]
}

fn cloud_pr() -> Value {
    json!({
        "type": "pullrequest", "id": 1, "title": "PR 1", "state": "OPEN", "draft": false,
        "links": {"html": {"href": "https://bitbucket.org/acme/widget/pull-requests/1"}},
        "author": {"type": "user", "display_name": "Ann", "uuid": "{a}"},
        "source": {"branch": {"name": "feature/x"}, "commit": {"hash": &COMMIT[..12]}},
        "destination": {"branch": {"name": "main"}},
        "created_on": "2026-11-01T10:00:00+00:00", "updated_on": "2026-11-02T10:00:00+00:00",
        "participants": [{"type": "participant", "user": {"type": "user", "display_name": "Rita", "uuid": "{r}"},
                          "role": "REVIEWER", "approved": true, "state": "approved"}],
        "task_count": 0, "comment_count": 0
    })
}

/// Bitbucket Cloud with one approved PR whose builds `states` gives for the n-th read of the
/// commit's statuses (1-based): `[(key, state)]`.
fn cloud(states: impl Fn(usize) -> Vec<(&'static str, &'static str)> + Send + Sync + 'static) -> Fake {
    Fake::start(Duration::ZERO, move |req, log| {
        let path = req.path();
        if path == format!("{CLOUD}/commit/{COMMIT}/pullrequests") {
            Answer::json(json!({"pagelen": 50, "page": 1, "size": 1, "values": [cloud_pr()]}))
        } else if path.starts_with(&format!("{CLOUD}/commit/")) && path.ends_with("/statuses") {
            let builds: Vec<Value> = states(log.count("/statuses"))
                .into_iter()
                .map(|(key, state)| json!({"type": "build", "key": key, "name": key, "state": state, "url": "https://ci/1"}))
                .collect();
            Answer::json(json!({"pagelen": 100, "page": 1, "size": builds.len(), "values": builds}))
        } else {
            Answer::json(json!({"type": "error", "error": {"message": "not here"}})).status(404)
        }
    })
}

impl Answer {
    fn status(mut self, status: u16) -> Answer {
        self.status = status;
        self
    }
}

#[test]
fn a_wait_re_reads_only_the_build_statuses_and_the_list_every_fifth_poll_and_before_a_pass() {
    // Two builds: `lint` finishes at the 3rd read (a change), `unit` at the 7th.
    let fake = cloud(|n| {
        let lint = if n >= 3 { "SUCCESSFUL" } else { "INPROGRESS" };
        let unit = if n >= 7 { "SUCCESSFUL" } else { "INPROGRESS" };
        vec![("lint", lint), ("unit", unit)]
    });
    let mut env = cloud_env(&fake);
    env.push(("WAIT_FOR_BUILDS", "300".into()));
    env.push(("POLL_INTERVAL", "1".into()));
    let r = run(&env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.summary["outcome"], "pass");
    let (list, statuses) = (fake.log.count("/pullrequests"), fake.log.count("/statuses"));
    // The list: the first lookup, the 5th poll, and the full read before the pass.
    assert_eq!(list, 3, "{}", r.stderr);
    // The statuses: the first lookup, 6 polls (the 6th sees both green), the read before the pass.
    assert_eq!(statuses, 8, "{}", r.stderr);
    assert_eq!(fake.log.total(), 11);
    assert_eq!(r.summary["api"]["requests"], 11, "{:#}", r.summary["api"]);
    // The interval doubles while nothing changes, up to 3 × POLL_INTERVAL, and starts over
    // when something changed (the 3rd read).
    assert_eq!(pauses(&r.stderr), ["1", "2", "1", "2", "3", "3"], "{}", r.stderr);
}

#[test]
fn a_build_that_fails_while_waiting_ends_the_wait_at_once() {
    let fake = cloud(|n| {
        let unit = if n >= 2 { "FAILED" } else { "INPROGRESS" };
        vec![("lint", "INPROGRESS"), ("unit", unit)]
    });
    let mut env = cloud_env(&fake);
    env.push(("WAIT_FOR_BUILDS", "300".into()));
    env.push(("POLL_INTERVAL", "1".into()));
    let r = run(&env);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.summary["outcome"], "fail");
    // The first lookup, then one poll of the statuses that sees the failure: no re-read of
    // the list, no further poll although `lint` still runs.
    assert_eq!(fake.log.count("/pullrequests"), 1, "{}", r.stderr);
    assert_eq!(fake.log.count("/statuses"), 2, "{}", r.stderr);
    assert_eq!(r.summary["api"]["requests"], 3);
}

#[test]
fn bitbucket_near_its_limit_stops_the_wait_with_pending() {
    // Access tokens get X-RateLimit-NearLimit: true once less than 20 % of the hour is left.
    let fake = Fake::start(Duration::ZERO, |req, _| {
        let answer = if req.path().ends_with("/pullrequests") {
            Answer::json(json!({"pagelen": 50, "page": 1, "size": 1, "values": [cloud_pr()]}))
        } else {
            Answer::json(json!({"pagelen": 100, "page": 1, "size": 1,
                "values": [{"type": "build", "key": "unit", "name": "Unit", "state": "INPROGRESS", "url": "https://ci/1"}]}))
        };
        answer
            .header("X-RateLimit-Limit", "1000")
            .header("X-RateLimit-Resource", "api")
            .header("X-RateLimit-NearLimit", "true")
    });
    let mut env = cloud_env(&fake);
    env.push(("WAIT_FOR_BUILDS", "300".into()));
    env.push(("POLL_INTERVAL", "1".into()));
    let r = run(&env);
    assert_eq!(r.code, 8, "{}", r.stderr);
    assert_eq!(r.summary["outcome"], "pending");
    let message = r.summary["message"].as_str().unwrap();
    assert!(message.contains("rate limit"), "{message}");
    assert_eq!(fake.log.total(), 2, "no poll after the first lookup");
    assert_eq!(
        r.summary["api"],
        json!({"requests": 2, "remaining": null, "reset_at": null})
    );
    assert!(
        r.stderr.contains("api: 2 requests"),
        "DEBUG prints the api block: {}",
        r.stderr
    );
}

// ---- GitHub ----

fn github_env(fake: &Fake) -> Vec<(&'static str, String)> {
    vec![
        ("GITHUB_ACTIONS", "true".into()),
        ("GITHUB_API_URL", fake.url.clone()),
        ("GITHUB_REPOSITORY", "acme/widget".into()),
        ("GITHUB_SHA", COMMIT.into()),
        ("GITHUB_TOKEN", TOKEN.into()),
        ("REQUIRE", "open,approved,builds-passed".into()),
    ]
}

fn github_pr(number: u64) -> Value {
    json!({
        "number": number, "title": format!("PR {number}"), "state": "open", "draft": false,
        "merged_at": null, "html_url": format!("https://github.com/acme/widget/pull/{number}"),
        "user": {"login": "ann", "id": 1, "type": "User"},
        "head": {"ref": format!("feature/{number}"), "sha": COMMIT, "repo": {"full_name": "acme/widget"}},
        "base": {"ref": "main", "sha": "1111111111111111111111111111111111111111", "repo": {"full_name": "acme/widget"}},
        "created_at": "2026-11-01T10:00:00Z", "updated_at": "2026-11-02T10:00:00Z",
        "requested_reviewers": [], "requested_teams": []
    })
}

/// GitHub's answer to one GET, for `prs` pull requests (100 a page) whose check run `unit`
/// is `run_state` (`in_progress` or `completed`).
fn github_body(req: &Req, prs: u64, completed: bool) -> Option<(Value, Option<String>)> {
    let path = req.path();
    let page: u64 = req
        .target
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("page="))
        .and_then(|p| p.parse().ok())
        .unwrap_or(1);
    if path == format!("{GITHUB}/commits/{COMMIT}/pulls") {
        let last = prs.div_ceil(100);
        let items: Vec<Value> = ((page - 1) * 100 + 1..=(page * 100).min(prs)).map(github_pr).collect();
        let link = (page < last).then(|| format!("<{path}?per_page=100&page={}>; rel=\"next\"", page + 1));
        Some((Value::Array(items), link))
    } else if path.starts_with(&format!("{GITHUB}/pulls/")) && path.ends_with("/reviews") {
        Some((
            json!([{"id": 1, "user": {"login": "rita", "id": 2, "type": "User"}, "state": "APPROVED",
                    "submitted_at": "2026-11-01T11:00:00Z", "commit_id": COMMIT}]),
            None,
        ))
    } else if path == format!("{GITHUB}/commits/{COMMIT}/check-runs") {
        let (status, conclusion) = if completed {
            ("completed", json!("success"))
        } else {
            ("in_progress", Value::Null)
        };
        Some((
            json!({"total_count": 1, "check_runs": [{"id": 1, "name": "unit", "status": status, "conclusion": conclusion,
                   "details_url": "https://ci.example/1", "html_url": "https://github.com/acme/widget/runs/1"}]}),
            None,
        ))
    } else if path == format!("{GITHUB}/commits/{COMMIT}/status") {
        Some((
            json!({"state": "success", "sha": COMMIT, "total_count": 0, "statuses": []}),
            None,
        ))
    } else {
        None
    }
}

/// A GitHub fake: ETags on every answer, `304` without a body to a matching `If-None-Match`
/// (which does not lower `x-ratelimit-remaining`), `remaining` lowered by every other answer.
fn github(prs: u64, delay: Duration, quota: usize, completed_from: usize) -> Fake {
    let spent = Arc::new(AtomicUsize::new(0));
    Fake::start(delay, move |req, log| {
        let completed = log.count("/check-runs") >= completed_from;
        let Some((body, link)) = github_body(req, prs, completed) else {
            return Answer::json(json!({"message": "Not Found"})).status(404);
        };
        let text = body.to_string();
        let etag = format!("\"{:016x}\"", fnv(text.as_bytes()));
        let reset = (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            / 3600
            + 1)
            * 3600;
        let not_modified = req.header("if-none-match") == Some(etag.as_str());
        let used = if not_modified {
            spent.load(Ordering::SeqCst)
        } else {
            spent.fetch_add(1, Ordering::SeqCst) + 1
        };
        let mut answer = if not_modified {
            Answer {
                status: 304,
                headers: Vec::new(),
                body: String::new(),
            }
        } else {
            Answer::json(body)
        };
        if let Some(link) = link.filter(|_| !not_modified) {
            answer = answer.header("link", link);
        }
        answer
            .header("etag", etag)
            .header("x-ratelimit-limit", quota.to_string())
            .header("x-ratelimit-remaining", quota.saturating_sub(used).to_string())
            .header("x-ratelimit-reset", reset.to_string())
            .header("x-ratelimit-resource", "core")
    })
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf29ce484222325, |h, b| (h ^ *b as u64).wrapping_mul(0x100000001b3))
}

#[test]
fn a_304_answer_reuses_the_kept_body_and_the_api_block_says_the_quota() {
    // The check run completes at its 2nd read; everything else never changes.
    let fake = github(1, Duration::ZERO, 1000, 2);
    let mut env = github_env(&fake);
    env.push(("WAIT_FOR_BUILDS", "300".into()));
    env.push(("POLL_INTERVAL", "1".into()));
    let r = run(&env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = &r.summary;
    assert_eq!(s["outcome"], "pass");
    // The PR, its approval and its build came from kept bodies: the 304s carried none.
    assert_eq!(s["pull_requests"][0]["id"], 1, "{s:#}");
    assert_eq!(s["pull_requests"][0]["approvals"], 1, "{s:#}");
    // First lookup: list, reviews, check runs, status (4). One poll: check runs (changed, 200)
    // and status (304). The full read before the pass: list, reviews, check runs, status, all 304.
    assert_eq!(fake.log.total(), 10, "{}", r.stderr);
    let conditional = fake
        .log
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.header("if-none-match").is_some())
        .count();
    assert_eq!(conditional, 6, "every GET after the first of its URL is conditional");
    assert_eq!(fake.log.not_modified.load(Ordering::SeqCst), 5);
    // Only the 5 answers with a body count against GitHub's quota.
    assert_eq!(s["api"]["requests"], 10);
    assert_eq!(s["api"]["remaining"], 995);
    let reset = s["api"]["reset_at"].as_str().unwrap();
    assert!(reset.ends_with('Z') && reset.contains('T'), "RFC 3339: {reset}");
}

#[test]
fn github_near_its_limit_stops_the_wait_with_pending_never_a_pass() {
    // 9 requests left after the first lookup, fewer than the 10 the step keeps in reserve.
    let fake = github(1, Duration::ZERO, 13, usize::MAX);
    let mut env = github_env(&fake);
    env.push(("WAIT_FOR_BUILDS", "300".into()));
    env.push(("POLL_INTERVAL", "1".into()));
    let r = run(&env);
    assert_eq!(r.code, 8, "{}", r.stderr);
    assert_eq!(r.summary["outcome"], "pending");
    let message = r.summary["message"].as_str().unwrap();
    assert!(
        message.contains("9 requests left") && message.contains("rate limit"),
        "{message}"
    );
    assert_eq!(fake.log.total(), 4, "{}", r.stderr);
    assert_eq!(r.summary["api"]["remaining"], 9);
}

#[test]
fn a_pass_seen_by_a_poll_is_not_reported_when_the_quota_cannot_pay_for_the_full_read() {
    // 14 at first: the first lookup (4) leaves 10, the poll's check runs leave 9 and see the
    // build pass (its status answer is a 304, which costs nothing), but the full read a pass
    // needs would dip into the reserve of 10.
    let fake = github(1, Duration::ZERO, 14, 2);
    let mut env = github_env(&fake);
    env.push(("WAIT_FOR_BUILDS", "300".into()));
    env.push(("POLL_INTERVAL", "1".into()));
    let r = run(&env);
    assert_eq!(r.code, 8, "{}", r.stderr);
    assert_eq!(
        r.summary["outcome"], "pending",
        "never a pass from a poll that did not re-read the list"
    );
    assert_eq!(fake.log.total(), 6, "{}", r.stderr);
    assert_eq!(r.summary["api"]["remaining"], 9);
}

#[test]
fn three_hundred_pull_requests_keep_at_most_eight_requests_in_flight() {
    // Every answer is held back 20 ms, so requests sent together overlap at the fake.
    let fake = github(300, Duration::from_millis(20), 5000, 0);
    let r = run(&github_env(&fake));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.summary["pull_requests"].as_array().unwrap().len(), 300);
    // 3 list pages, 300 reviews, check runs and status of the one head.
    assert_eq!(fake.log.total(), 305);
    let max = fake.log.max_in_flight.load(Ordering::SeqCst);
    assert!(max <= 8, "{max} requests in flight at once");
    assert!(max >= 4, "the reviews are read side by side ({max} at most in flight)");
    eprintln!("most requests in flight: {max}");
}
