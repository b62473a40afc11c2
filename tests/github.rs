//! GitHub end to end: the real binary against local mockito servers shaped after GitHub's
//! REST API (version 2022-11-28) and its recorded answers in tests/fixtures/real/github.

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use mockito::{Matcher, Mock, Server};
use serde_json::{json, Value};

const REPO: &str = "/repos/acme/widget";
/// The head of the PR in event tests: not the commit `GITHUB_SHA` names.
const HEAD: &str = "fedcba9876543210fedcba9876543210fedcba98";

trait GithubStep {
    fn github(self, server_url: &str) -> Self;
}

impl GithubStep for Step {
    /// GitHub Actions' variables pointing at a local server, with a token.
    fn github(self, server_url: &str) -> Self {
        self.env("GITHUB_ACTIONS", "true")
            .env("GITHUB_API_URL", server_url)
            .env("GITHUB_REPOSITORY", "acme/widget")
            .env("GITHUB_SHA", COMMIT)
            .env("GITHUB_TOKEN", TOKEN)
    }
}

fn user(login: &str, id: u64) -> Value {
    json!({"login": login, "id": id, "type": "User"})
}

/// A pull request as `/commits/{sha}/pulls` lists it (no comment counts there).
fn pr(number: u64, head: &str) -> Value {
    json!({
        "number": number, "title": format!("PR {number}"), "state": "open", "draft": false,
        "merged_at": null, "html_url": format!("https://github.com/acme/widget/pull/{number}"),
        "user": user("ann", 1),
        "head": {"ref": "feature/x", "sha": head, "repo": {"full_name": "acme/widget"}},
        "base": {"ref": "main", "sha": "1111111111111111111111111111111111111111", "repo": {"full_name": "acme/widget"}},
        "created_at": "2026-11-01T10:00:00Z",
        "updated_at": format!("2026-11-02T10:00:{:02}Z", number % 60),
        "requested_reviewers": [], "requested_teams": []
    })
}

fn review(login: &str, id: u64, state: &str, minute: u32) -> Value {
    json!({"id": minute, "user": user(login, id), "state": state,
           "submitted_at": format!("2026-11-01T11:{minute:02}:00Z"), "commit_id": COMMIT})
}

fn check_run(name: &str, status: &str, conclusion: Option<&str>, url: &str) -> Value {
    json!({"id": 1, "name": name, "status": status, "conclusion": conclusion,
           "details_url": url, "html_url": "https://github.com/acme/widget/runs/1"})
}

fn commit_status(context: &str, state: &str) -> Value {
    json!({"context": context, "state": state, "target_url": format!("https://ci.example/{context}"),
           "description": "", "id": 5})
}

fn pulls_path(commit: &str) -> String {
    format!("{REPO}/commits/{commit}/pulls")
}

fn mock_json(server: &mut Server, path: &str, body: Value) -> Mock {
    server
        .mock("GET", path)
        .match_query(Matcher::Any)
        .with_header("content-type", "application/json")
        .with_body(body.to_string())
        .create()
}

fn mock_pulls(server: &mut Server, commit: &str, prs: Vec<Value>) -> Mock {
    mock_json(server, &pulls_path(commit), Value::Array(prs))
}

fn mock_reviews(server: &mut Server, number: u64, reviews: Vec<Value>) -> Mock {
    mock_json(server, &format!("{REPO}/pulls/{number}/reviews"), Value::Array(reviews))
}

/// Check runs and the combined status of `head`.
fn mock_builds(server: &mut Server, head: &str, runs: Vec<Value>, statuses: Vec<Value>) -> (Mock, Mock) {
    let runs = json!({"total_count": runs.len(), "check_runs": runs});
    let status = json!({"state": "success", "sha": head, "total_count": statuses.len(), "statuses": statuses});
    (
        mock_json(server, &format!("{REPO}/commits/{head}/check-runs"), runs),
        mock_json(server, &format!("{REPO}/commits/{head}/status"), status),
    )
}

/// Mocks that fail their `assert()` if any request reaches the server.
fn nothing_sent(server: &mut Server) -> Mock {
    server.mock("GET", Matcher::Any).expect(0).create()
}

fn write_event(s: &Step, event: Value) -> std::path::PathBuf {
    let path = s.path("event.json");
    std::fs::write(&path, event.to_string()).unwrap();
    path
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

#[test]
fn token_version_and_media_type_headers_are_sent_and_the_gate_passes() {
    let mut server = Server::new();
    let exact = |m: mockito::Mock| {
        m.match_header("authorization", format!("Bearer {TOKEN}").as_str())
            .match_header("accept", "application/vnd.github+json")
            .match_header("x-github-api-version", "2022-11-28")
            .match_header("user-agent", Matcher::Regex("^pr-status/".into()))
    };
    let mut p = pr(7, COMMIT);
    p["requested_reviewers"] = json!([user("pat", 3)]);
    let pulls = exact(server.mock("GET", pulls_path(COMMIT).as_str()))
        .match_query(Matcher::UrlEncoded("per_page".into(), "100".into()))
        .with_body(json!([p]).to_string())
        .expect(1)
        .create();
    let reviews = exact(server.mock("GET", format!("{REPO}/pulls/7/reviews").as_str()))
        .match_query(Matcher::UrlEncoded("per_page".into(), "100".into()))
        .with_body(json!([review("rita", 2, "APPROVED", 1), review("ann", 1, "APPROVED", 2)]).to_string())
        .expect(1)
        .create();
    let runs = exact(server.mock("GET", format!("{REPO}/commits/{COMMIT}/check-runs").as_str()))
        .match_query(Matcher::UrlEncoded("per_page".into(), "100".into()))
        .with_body(
            json!({"total_count": 1, "check_runs": [check_run("test", "completed", Some("success"), "https://ci.example/t")]})
                .to_string(),
        )
        .expect(1)
        .create();
    let status = exact(server.mock("GET", format!("{REPO}/commits/{COMMIT}/status").as_str()))
        .match_query(Matcher::Any)
        .with_body(json!({"state": "success", "statuses": [commit_status("lint", "success")]}).to_string())
        .expect(1)
        .create();
    let r = step()
        .github(&server.url())
        .env(
            "REQUIRE",
            "pr,open,not-draft,approved,no-changes-requested,builds-passed",
        )
        .env("DEBUG", "true")
        .run();
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("-> GET") && r.stderr.contains("/check-runs"),
        "{}",
        r.stderr
    );
    pulls.assert();
    reviews.assert();
    runs.assert();
    status.assert();
    let s = r.summary();
    assert_eq!(s["provider"], "github", "chosen by GITHUB_ACTIONS=true");
    assert_eq!(
        (s["outcome"].as_str(), s["lookup"].as_str(), s["selected_pr"].as_u64()),
        (Some("pass"), Some("commit"), Some(7))
    );
    assert_eq!(s["repository"]["full_name"], "acme/widget");
    assert_eq!(s["commit"], COMMIT);
    let p = &s["pull_requests"][0];
    assert_eq!(p["url"], "https://github.com/acme/widget/pull/7");
    assert_eq!(p["author"], "ann");
    assert_eq!(
        (p["source_branch"].as_str(), p["destination_branch"].as_str()),
        (Some("feature/x"), Some("main"))
    );
    assert_eq!(p["source_commit"], COMMIT);
    assert_eq!(p["draft"], false);
    assert_eq!(p["approvals"], 1, "the author's own approval does not count");
    assert_eq!(
        p["reviewers"],
        json!([{"name": "rita", "state": "approved", "approved_at": "2026-11-01T11:01:00Z", "commit": COMMIT, "stale": false}, {"name": "pat", "state": "pending", "approved_at": null, "commit": null, "stale": false}])
    );
    assert_eq!(p["open_tasks"], Value::Null, "GitHub has no tasks");
    assert_eq!(p["comment_count"], Value::Null, "the list answer has no comment counts");
    let keys: Vec<&str> = p["builds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["test", "lint"]);
    assert_eq!(p["builds"][0]["url"], "https://ci.example/t");
    assert_eq!(p["build_summary"]["successful"], 2);
    assert!(!r.everything().contains(TOKEN), "token leaked");
}

#[test]
fn every_page_is_followed_through_the_link_header() {
    let mut server = Server::new();
    let base = server.url();
    let link = |path: &str, page: u32| format!("<{base}{path}?per_page=100&page={page}>; rel=\"next\"");
    let pulls = pulls_path(COMMIT);
    let mut pages = Vec::new();
    for (page, ids, next) in [
        (None, vec![1, 2], Some(2)),
        (Some(2), vec![3], Some(3)),
        (Some(3), vec![4], None),
    ] {
        let query = match page {
            None => Matcher::Exact("per_page=100".into()),
            Some(n) => Matcher::UrlEncoded("page".into(), format!("{n}")),
        };
        let mut m = server
            .mock("GET", pulls.as_str())
            .match_query(query)
            .with_body(Value::Array(ids.iter().map(|i| pr(*i, COMMIT)).collect()).to_string());
        if let Some(n) = next {
            m = m.with_header(
                "link",
                &format!("{}, <{}{pulls}?page=9>; rel=\"last\"", link(&pulls, n), base),
            );
        }
        pages.push(m.expect(1).create());
    }
    let reviews_path = format!("{REPO}/pulls/1/reviews");
    let r1 = server
        .mock("GET", reviews_path.as_str())
        .match_query(Matcher::Exact("per_page=100".into()))
        .with_header("link", &link(&reviews_path, 2))
        .with_body(json!([review("rita", 2, "APPROVED", 1)]).to_string())
        .expect(1)
        .create();
    let r2 = server
        .mock("GET", reviews_path.as_str())
        .match_query(Matcher::UrlEncoded("page".into(), "2".into()))
        .with_body(json!([review("rob", 3, "APPROVED", 2)]).to_string())
        .expect(1)
        .create();
    for n in 2..=4 {
        mock_reviews(&mut server, n, vec![]);
    }
    let runs_path = format!("{REPO}/commits/{COMMIT}/check-runs");
    let c1 = server
        .mock("GET", runs_path.as_str())
        .match_query(Matcher::Exact("per_page=100".into()))
        .with_header("link", &link(&runs_path, 2))
        .with_body(
            json!({"total_count": 2, "check_runs": [check_run("a", "completed", Some("success"), "")]}).to_string(),
        )
        .expect(1)
        .create();
    let c2 = server
        .mock("GET", runs_path.as_str())
        .match_query(Matcher::UrlEncoded("page".into(), "2".into()))
        .with_body(
            json!({"total_count": 2, "check_runs": [check_run("b", "completed", Some("failure"), "")]}).to_string(),
        )
        .expect(1)
        .create();
    mock_json(
        &mut server,
        &format!("{REPO}/commits/{COMMIT}/status"),
        json!({"statuses": []}),
    );
    let r = step()
        .github(&server.url())
        .env("MIN_APPROVALS", "2")
        .env("REQUIRE", "approved")
        .run();
    pages.iter().for_each(Mock::assert);
    r1.assert();
    r2.assert();
    c1.assert();
    c2.assert();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let prs = r.summary()["pull_requests"].as_array().unwrap().clone();
    let ids: Vec<u64> = prs.iter().map(|p| p["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, [1, 2, 3, 4]);
    assert_eq!(prs[0]["approvals"], 2, "reviews from both pages");
    assert_eq!(prs[0]["build_summary"]["failed"], 1, "check runs from both pages");
    assert_eq!(
        prs[3]["builds"].as_array().unwrap().len(),
        2,
        "one head: fetched once, shared"
    );
}

#[test]
fn a_pagination_link_to_another_origin_is_refused() {
    let mut server = Server::new();
    let mut elsewhere = Server::new();
    let stolen = elsewhere.mock("GET", Matcher::Any).expect(0).create();
    server
        .mock("GET", pulls_path(COMMIT).as_str())
        .match_query(Matcher::Any)
        .with_header(
            "link",
            &format!("<{}/repos/acme/widget/x?page=2>; rel=\"next\"", elsewhere.url()),
        )
        .with_body(json!([pr(1, COMMIT)]).to_string())
        .create();
    let r = step().github(&server.url()).run();
    stolen.assert();
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("another origin"), "{}", r.stderr);
}

#[test]
fn pull_request_events_use_the_payload_pr_and_head() {
    for event_name in ["pull_request", "pull_request_target"] {
        let mut server = Server::new();
        let merge_commit_lookup = server
            .mock("GET", pulls_path(COMMIT).as_str())
            .match_query(Matcher::Any)
            .expect(0)
            .create();
        let mut full = pr(42, HEAD);
        full["comments"] = 3.into();
        full["review_comments"] = 2.into();
        let one = server
            .mock("GET", format!("{REPO}/pulls/42").as_str())
            .match_header("accept", "application/vnd.github+json")
            .with_body(full.to_string())
            .expect(1)
            .create();
        mock_reviews(&mut server, 42, vec![]);
        let (runs, _) = mock_builds(
            &mut server,
            HEAD,
            vec![check_run("test", "completed", Some("success"), "")],
            vec![],
        );
        let runs = runs.expect(1);
        let s = step().github(&server.url());
        let event = write_event(
            &s,
            json!({"action": "synchronize", "number": 42, "pull_request": {"number": 42, "head": {"sha": HEAD, "ref": "feature/x"}}}),
        );
        let r = s
            .env("GITHUB_EVENT_NAME", event_name)
            .env("GITHUB_EVENT_PATH", &event)
            .env("REQUIRE", "open,builds-passed")
            .run();
        merge_commit_lookup.assert();
        one.assert();
        runs.assert();
        assert_eq!(r.code, 0, "{event_name}: {}", r.stderr);
        let s = r.summary();
        assert_eq!(s["lookup"], "pr_id");
        assert_eq!(s["commit"], HEAD, "the PR head, not the merge commit in GITHUB_SHA");
        assert_eq!(s["pull_requests"][0]["id"], 42);
        assert_eq!(s["pull_requests"][0]["comment_count"], 5, "comments + review comments");
    }
}

#[test]
fn merge_group_events_report_the_queued_pr() {
    let mut server = Server::new();
    let one = mock_json(&mut server, &format!("{REPO}/pulls/123"), pr(123, HEAD)).expect(1);
    mock_reviews(&mut server, 123, vec![review("rita", 2, "APPROVED", 1)]);
    mock_builds(&mut server, HEAD, vec![], vec![]);
    let s = step().github(&server.url());
    let event = write_event(
        &s,
        json!({"action": "checks_requested", "merge_group": {
            "head_sha": COMMIT,
            "head_ref": format!("refs/heads/gh-readonly-queue/main/pr-123-{HEAD}"),
            "base_sha": "1111111111111111111111111111111111111111", "base_ref": "refs/heads/main"}}),
    );
    let r = s
        .env("GITHUB_EVENT_NAME", "merge_group")
        .env("GITHUB_EVENT_PATH", &event)
        .env("REQUIRE", "approved")
        .run();
    one.assert();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.summary();
    assert_eq!(
        (s["lookup"].as_str(), s["commit"].as_str()),
        (Some("pr_id"), Some(COMMIT))
    );
    assert_eq!(s["selected_pr"], 123);
}

#[test]
fn merge_group_with_an_unknown_branch_format_looks_up_its_commit() {
    let mut server = Server::new();
    let lookup = mock_pulls(&mut server, COMMIT, vec![pr(5, HEAD)]).expect(1);
    mock_reviews(&mut server, 5, vec![]);
    mock_builds(&mut server, HEAD, vec![], vec![]);
    let s = step().github(&server.url());
    let event = write_event(
        &s,
        json!({"merge_group": {"head_sha": COMMIT, "head_ref": "refs/heads/queue/other"}}),
    );
    let r = s
        .env("GITHUB_EVENT_NAME", "merge_group")
        .env("GITHUB_EVENT_PATH", &event)
        .run();
    lookup.assert();
    assert_eq!((r.code, r.summary()["lookup"].as_str()), (0, Some("commit")));
}

#[test]
fn an_unreadable_or_malformed_event_is_a_config_error_naming_github_event_path() {
    let cases: &[(&str, Option<&str>)] = &[
        ("pull_request", None),
        ("pull_request", Some("{not json")),
        ("pull_request", Some(r#"{"action": "opened"}"#)),
        ("pull_request", Some(r#"{"pull_request": {"number": "x"}}"#)),
        (
            "pull_request",
            Some(r#"{"pull_request": {"number": 4, "head": {"sha": "../etc"}}}"#),
        ),
        ("merge_group", Some(r#"{"merge_group": {"head_sha": "zz"}}"#)),
        ("merge_group", Some("[]")),
    ];
    for (name, content) in cases {
        let mut server = Server::new();
        let none = nothing_sent(&mut server);
        let s = step().github(&server.url()).env("GITHUB_EVENT_NAME", *name);
        let path = s.path("event.json");
        if let Some(c) = content {
            std::fs::write(&path, c).unwrap();
        }
        let r = s.env("GITHUB_EVENT_PATH", &path).run();
        none.assert();
        assert_eq!(r.code, 2, "{content:?}: {}", r.stderr);
        assert!(r.stderr.contains("GITHUB_EVENT_PATH"), "{content:?}: {}", r.stderr);
        assert_eq!(r.summary()["error"]["kind"], "config");
    }
    let mut server = Server::new();
    let none = nothing_sent(&mut server);
    let r = step()
        .github(&server.url())
        .env("GITHUB_EVENT_NAME", "pull_request")
        .run();
    none.assert();
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("GITHUB_EVENT_PATH is not set"), "{}", r.stderr);
}

#[test]
fn an_event_path_larger_than_any_payload_is_not_read_in_full() {
    // A 33 MiB (sparse) file stands for /dev/zero, /dev/urandom or a huge log named by
    // mistake: reading it whole would take memory without bound.
    let mut server = Server::new();
    let none = nothing_sent(&mut server);
    let s = step().github(&server.url()).env("GITHUB_EVENT_NAME", "pull_request");
    let path = s.path("huge.json");
    std::fs::File::create(&path).unwrap().set_len(33 << 20).unwrap();
    let r = s.env("GITHUB_EVENT_PATH", &path).run();
    none.assert();
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.summary()["error"]["kind"], "config");
    assert!(r.stderr.contains("holds more than 32 MiB"), "{}", r.stderr);
    assert!(r.stderr.contains("GITHUB_EVENT_PATH="), "{}", r.stderr);
}

#[test]
fn check_runs_and_statuses_map_to_the_four_states() {
    let table: &[(&str, Option<&str>, &str)] = &[
        ("queued", None, "INPROGRESS"),
        ("in_progress", None, "INPROGRESS"),
        ("waiting", None, "INPROGRESS"),
        ("requested", None, "INPROGRESS"),
        ("pending", None, "INPROGRESS"),
        ("completed", Some("success"), "SUCCESSFUL"),
        ("completed", Some("neutral"), "SUCCESSFUL"),
        ("completed", Some("skipped"), "SUCCESSFUL"),
        ("completed", Some("failure"), "FAILED"),
        ("completed", Some("timed_out"), "FAILED"),
        ("completed", Some("action_required"), "FAILED"),
        ("completed", Some("cancelled"), "STOPPED"),
        ("completed", Some("stale"), "STOPPED"),
    ];
    let statuses: &[(&str, &str)] = &[
        ("pending", "INPROGRESS"),
        ("success", "SUCCESSFUL"),
        ("failure", "FAILED"),
        ("error", "FAILED"),
    ];
    let mut server = Server::new();
    mock_pulls(&mut server, COMMIT, vec![pr(1, COMMIT)]);
    mock_reviews(&mut server, 1, vec![]);
    let runs = table
        .iter()
        .enumerate()
        .map(|(i, (st, concl, _))| check_run(&format!("run{i}"), st, *concl, &format!("https://ci.example/{i}")))
        .collect();
    let sts = statuses
        .iter()
        .map(|(st, _)| commit_status(&format!("ctx-{st}"), st))
        .collect();
    mock_builds(&mut server, COMMIT, runs, sts);
    let r = step().github(&server.url()).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let builds = r.summary()["pull_requests"][0]["builds"].as_array().unwrap().clone();
    let want: Vec<&str> = table.iter().map(|t| t.2).chain(statuses.iter().map(|s| s.1)).collect();
    let got: Vec<&str> = builds.iter().map(|b| b["state"].as_str().unwrap()).collect();
    assert_eq!(got, want);
    assert_eq!(builds[0]["url"], "https://ci.example/0", "details_url first");
    assert_eq!(builds[13]["key"], "ctx-pending");
    assert_eq!(builds[13]["url"], "https://ci.example/ctx-pending");
}

#[test]
fn the_running_jobs_own_check_run_never_holds_the_gate() {
    let mut server = Server::new();
    mock_pulls(&mut server, COMMIT, vec![pr(1, COMMIT)]);
    mock_reviews(&mut server, 1, vec![]);
    // The job running the step. Not named `pr-status`: a build of that name is the tool's own
    // verdict and never counts in any run (docs/post-result.md).
    let own = check_run(
        "gate",
        "in_progress",
        None,
        "https://github.com/acme/widget/actions/runs/777/job/31",
    );
    let done = check_run(
        "test",
        "completed",
        Some("success"),
        "https://github.com/acme/widget/actions/runs/700/job/1",
    );
    mock_builds(&mut server, COMMIT, vec![own, done], vec![]);
    let r = step()
        .github(&server.url())
        .env("GITHUB_RUN_ID", "777")
        .env("REQUIRE", "builds-passed")
        .run();
    assert_eq!(r.code, 0, "{}", r.stdout);
    let builds = r.summary()["pull_requests"][0]["builds"].clone();
    assert_eq!(
        (builds[0]["ignored"].as_bool(), builds[1]["ignored"].as_bool()),
        (Some(true), Some(false))
    );

    let r = step()
        .github(&server.url())
        .env("GITHUB_RUN_ID", "778")
        .env("REQUIRE", "builds-passed")
        .run();
    assert_eq!(
        (r.code, r.summary()["outcome"].as_str()),
        (8, Some("pending")),
        "another run's job does"
    );
}

#[test]
fn a_primary_rate_limit_a_few_seconds_away_is_waited_out() {
    let mut server = Server::new();
    let limited = server
        .mock("GET", pulls_path(COMMIT).as_str())
        .match_query(Matcher::Any)
        .with_status(403)
        .with_header("x-ratelimit-remaining", "0")
        .with_header("x-ratelimit-reset", &(now() + 1).to_string())
        .with_body(r#"{"message": "API rate limit exceeded for installation ID 1."}"#)
        .expect(1)
        .create();
    let ok = mock_pulls(&mut server, COMMIT, vec![pr(1, COMMIT)]).expect(1);
    mock_reviews(&mut server, 1, vec![]);
    mock_builds(&mut server, COMMIT, vec![], vec![]);
    let started = Instant::now();
    let r = step().github(&server.url()).run();
    limited.assert();
    ok.assert();
    assert_eq!(r.code, 0, "a rate limit is not an auth failure: {}", r.stderr);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "did not wait for the reset"
    );
}

#[test]
fn a_secondary_rate_limit_waits_for_retry_after() {
    let mut server = Server::new();
    let limited = server
        .mock("GET", pulls_path(COMMIT).as_str())
        .match_query(Matcher::Any)
        .with_status(403)
        .with_header("retry-after", "1")
        .with_body(r#"{"message": "You have exceeded a secondary rate limit."}"#)
        .expect(1)
        .create();
    let ok = mock_pulls(&mut server, COMMIT, vec![]).expect(1);
    let started = Instant::now();
    let r = step().github(&server.url()).run();
    limited.assert();
    ok.assert();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[test]
fn an_exhausted_rate_limit_exits_4_with_the_reset_time() {
    // The reset is an hour away: no use waiting, one request, the time in the message.
    let mut server = Server::new();
    let reset = now() + 3600;
    let limited = server
        .mock("GET", pulls_path(COMMIT).as_str())
        .match_query(Matcher::Any)
        .with_status(403)
        .with_header("x-ratelimit-remaining", "0")
        .with_header("x-ratelimit-reset", &reset.to_string())
        .with_body(r#"{"message": "API rate limit exceeded"}"#)
        .expect(1)
        .create();
    let started = Instant::now();
    let r = step().github(&server.url()).run();
    limited.assert();
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(r.code, 4, "{}", r.stderr);
    let when = time::OffsetDateTime::from_unix_timestamp(reset as i64)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    assert!(r.stderr.contains(&when), "reset time {when} missing: {}", r.stderr);
    assert!(r.stderr.contains("API rate limit exceeded"), "{}", r.stderr);
    assert_eq!(r.summary()["error"]["kind"], "api");

    // A limit that keeps coming back within the budget: every attempt, then exit 4.
    let mut server = Server::new();
    let limited = server
        .mock("GET", pulls_path(COMMIT).as_str())
        .match_query(Matcher::Any)
        .with_status(429)
        .with_header("x-ratelimit-remaining", "0")
        .with_header("x-ratelimit-reset", &now().to_string())
        .with_header("retry-after", "0")
        .expect(4)
        .create();
    let r = step().github(&server.url()).run();
    limited.assert();
    assert_eq!(r.code, 4);
    assert!(
        r.stderr.contains("resets at") && r.stderr.contains("gave up after 4 attempts"),
        "{}",
        r.stderr
    );
}

#[test]
fn no_open_tasks_is_refused_before_any_request() {
    let mut server = Server::new();
    let none = nothing_sent(&mut server);
    let r = step().github(&server.url()).env("REQUIRE", "open,no-open-tasks").run();
    none.assert();
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("no-open-tasks") && r.stderr.contains("github"),
        "{}",
        r.stderr
    );
    assert_eq!(r.summary()["error"]["kind"], "config");
}

#[test]
fn missing_or_invalid_variables_send_nothing() {
    let cases: &[(&str, &str, &str)] = &[
        ("GITHUB_TOKEN", "", "GITHUB_TOKEN"),
        ("GITHUB_REPOSITORY", "", "GITHUB_REPOSITORY"),
        ("GITHUB_REPOSITORY", "acme", "GITHUB_REPOSITORY"),
        ("GITHUB_REPOSITORY", "acme/", "GITHUB_REPOSITORY"),
        ("GITHUB_REPOSITORY", "/widget", "GITHUB_REPOSITORY"),
        ("GITHUB_REPOSITORY", "acme/../x", "GITHUB_REPOSITORY"),
        ("GITHUB_REPOSITORY", "../widget", "GITHUB_REPOSITORY"),
        ("GITHUB_REPOSITORY", "acme/wid get", "GITHUB_REPOSITORY"),
        ("GITHUB_SHA", "", "GITHUB_SHA"),
        ("GITHUB_SHA", "main", "GITHUB_SHA"),
        ("GITHUB_API_URL", "http://api.example.com", "GITHUB_API_URL"),
    ];
    for (var, value, named) in cases {
        let mut server = Server::new();
        let none = nothing_sent(&mut server);
        let r = step().github(&server.url()).env(var, value).run();
        none.assert();
        assert_eq!(r.code, 2, "{var}={value}: {}", r.stderr);
        assert!(r.stderr.contains(named), "{var}={value}: {}", r.stderr);
        assert_eq!(r.summary()["error"]["kind"], "config");
    }
}

#[test]
fn refused_tokens_name_the_permissions_and_are_not_retried() {
    for (code, reason) in [
        (401, "Bad credentials"),
        (403, "Resource not accessible by integration"),
    ] {
        let mut server = Server::new();
        let refused = server
            .mock("GET", pulls_path(COMMIT).as_str())
            .match_query(Matcher::Any)
            .with_status(code)
            .with_body(json!({"message": reason, "documentation_url": "https://docs.github.com/rest"}).to_string())
            .expect(1)
            .create();
        let r = step().github(&server.url()).run();
        refused.assert();
        assert_eq!(r.code, 3, "{}", r.stderr);
        for needle in [
            reason,
            "pull-requests: read",
            "checks: read",
            "statuses: read",
            "contents: read",
        ] {
            assert!(r.stderr.contains(needle), "{code}: {needle} missing: {}", r.stderr);
        }
        assert_eq!(r.summary()["error"]["http_status"], code);
    }
}

#[test]
fn an_unknown_commit_says_so() {
    let mut server = Server::new();
    server
        .mock("GET", pulls_path(COMMIT).as_str())
        .match_query(Matcher::Any)
        .with_status(422)
        .with_body(r#"{"message": "No commit found for SHA: 0123"}"#)
        .create();
    let r = step().github(&server.url()).run();
    assert_eq!(r.code, 4);
    assert!(r.stderr.contains("GITHUB_SHA"), "{}", r.stderr);
}

#[test]
fn fork_prs_are_reported_with_their_own_heads_builds() {
    let mut server = Server::new();
    let mut fork = pr(9, HEAD);
    fork["head"]["repo"] = json!({"full_name": "mallory/widget", "fork": true});
    fork["head"]["ref"] = "main".into();
    fork["user"] = user("mallory", 66);
    mock_pulls(&mut server, COMMIT, vec![pr(1, COMMIT), fork]);
    mock_reviews(&mut server, 1, vec![]);
    mock_reviews(&mut server, 9, vec![]);
    let (own, _) = mock_builds(
        &mut server,
        COMMIT,
        vec![check_run("t", "completed", Some("success"), "")],
        vec![],
    );
    let (theirs, _) = mock_builds(
        &mut server,
        HEAD,
        vec![check_run("t", "completed", Some("failure"), "")],
        vec![],
    );
    let (own, theirs) = (own.expect(1), theirs.expect(1));
    let r = step().github(&server.url()).env("REQUIRE", "builds-passed").run();
    own.assert();
    theirs.assert();
    let prs = r.summary()["pull_requests"].as_array().unwrap().clone();
    assert_eq!(prs.len(), 2, "the fork PR is included");
    assert_eq!(
        (prs[1]["id"].as_u64(), prs[1]["author"].as_str()),
        (Some(9), Some("mallory"))
    );
    assert_eq!(prs[1]["source_commit"], HEAD);
    assert_eq!(prs[1]["unmet"], json!(["builds-passed"]));
    assert_eq!((r.code, r.summary()["selected_pr"].as_u64()), (0, Some(1)));
}

#[test]
fn enterprise_server_api_base_and_states() {
    let mut server = Server::new();
    let mut merged = pr(2, COMMIT);
    merged["state"] = "closed".into();
    merged["merged_at"] = "2026-11-03T10:00:00Z".into();
    let mut declined = pr(3, COMMIT);
    declined["state"] = "closed".into();
    let mut draft = pr(4, COMMIT);
    draft["draft"] = true.into();
    let lookup = server
        .mock("GET", format!("/api/v3{}", pulls_path(COMMIT)).as_str())
        .match_query(Matcher::Any)
        .with_body(json!([merged, declined, draft]).to_string())
        .expect(1)
        .create();
    for n in 2..=4 {
        mock_json(&mut server, &format!("/api/v3{REPO}/pulls/{n}/reviews"), json!([]));
    }
    mock_json(
        &mut server,
        &format!("/api/v3{REPO}/commits/{COMMIT}/check-runs"),
        json!({"check_runs": []}),
    );
    mock_json(
        &mut server,
        &format!("/api/v3{REPO}/commits/{COMMIT}/status"),
        json!({"statuses": []}),
    );
    let r = step()
        .github(&server.url())
        .env("GITHUB_API_URL", format!("{}/api/v3", server.url()))
        .env("REQUIRE", "open,not-draft")
        .run();
    lookup.assert();
    assert_eq!(r.code, 1, "{}", r.stderr);
    let s = r.summary();
    assert_eq!(s["repository"]["url"], format!("{}/acme/widget", server.url()));
    let states: Vec<(&str, bool)> = s["pull_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["state"].as_str().unwrap(), p["draft"].as_bool().unwrap()))
        .collect();
    assert_eq!(states, [("MERGED", false), ("DECLINED", false), ("OPEN", true)]);
}
