//! GitLab end to end: the real binary against local mockito servers shaped after GitLab's
//! REST API v4 and its recorded answer in tests/fixtures/real/gitlab.

mod common;

use common::*;
use mockito::{Matcher, Mock, Server};
use serde_json::{json, Value};

/// `CI_PROJECT_ID=group/sub/widget`, percent-encoded as one path segment.
const PROJECT: &str = "/api/v4/projects/group%2Fsub%2Fwidget";
const HEAD: &str = "fedcba9876543210fedcba9876543210fedcba98";
/// The MRs' source branch; statuses are asked for on it (`ref`), percent-encoded.
const BRANCH_QUERY: &str = "ref=feature%2Fx&per_page=100";

trait GitlabStep {
    fn gitlab(self, server_url: &str) -> Self;
}

impl GitlabStep for Step {
    /// GitLab CI's variables pointing at a local server, with a token.
    fn gitlab(self, server_url: &str) -> Self {
        self.env("GITLAB_CI", "true")
            .env("CI_API_V4_URL", format!("{server_url}/api/v4"))
            .env("CI_PROJECT_ID", "group/sub/widget")
            .env("CI_COMMIT_SHA", COMMIT)
            .env("GITLAB_TOKEN", TOKEN)
    }
}

fn user(name: &str, id: u64) -> Value {
    json!({"id": id, "name": name, "username": name.to_lowercase().replace(' ', "."), "state": "active"})
}

fn pipeline(id: u64, status: &str) -> Value {
    json!({"id": id, "iid": 3, "project_id": 9, "sha": COMMIT, "ref": "feature/x", "status": status,
           "source": "merge_request_event",
           "web_url": format!("https://gitlab.example/group/sub/widget/-/pipelines/{id}")})
}

/// A merge request as `GET /projects/:id/merge_requests/:iid` returns it.
fn mr(iid: u64, head: &str) -> Value {
    json!({
        "id": 1000 + iid, "iid": iid, "project_id": 9, "title": format!("MR {iid}"), "state": "opened",
        "draft": false, "work_in_progress": false,
        "web_url": format!("https://gitlab.example/group/sub/widget/-/merge_requests/{iid}"),
        "author": user("Ann Author", 1),
        "source_branch": "feature/x", "target_branch": "main", "sha": head,
        "created_at": "2026-11-01T10:00:00.000Z",
        "updated_at": format!("2026-11-02T10:00:{:02}.000Z", iid % 60),
        "user_notes_count": 4,
        "reviewers": [],
        "head_pipeline": pipeline(500 + iid, "success")
    })
}

fn approvals(users: Vec<Value>) -> Value {
    json!({"approved": !users.is_empty(), "approvals_required": 0,
           "approved_by": users.into_iter().map(|u| json!({"user": u})).collect::<Vec<_>>()})
}

fn reviewer(u: Value, state: &str) -> Value {
    json!({"user": u, "state": state, "created_at": "2026-11-01T10:00:00.000Z"})
}

fn commit_mrs_path(commit: &str) -> String {
    format!("{PROJECT}/repository/commits/{commit}/merge_requests")
}

fn statuses_path(commit: &str) -> String {
    format!("{PROJECT}/repository/commits/{commit}/statuses")
}

/// A commit status as `GET /projects/:id/repository/commits/:sha/statuses` returns it: a job of
/// pipeline `pipeline`, or without `pipeline_id` as servers before GitLab 16.3 send it.
fn status(id: u64, name: &str, pipeline: Option<u64>, state: &str) -> Value {
    let mut s = json!({
        "id": id, "sha": COMMIT, "ref": "feature/x", "status": state, "name": name, "stage": "test",
        "allow_failure": false, "description": null, "coverage": null,
        "target_url": format!("https://gitlab.example/group/sub/widget/-/jobs/{id}"),
        "created_at": "2026-11-02T10:00:00.000Z", "started_at": null, "finished_at": null,
        "author": user("Ann Author", 1), "pipeline_id": pipeline
    });
    if pipeline.is_none() {
        s.as_object_mut().unwrap().remove("pipeline_id");
    }
    s
}

/// The statuses of `commit` on the MRs' branch, answering only the exact query pr-status sends.
fn mock_statuses(server: &mut Server, commit: &str, body: Value) -> Mock {
    server
        .mock("GET", statuses_path(commit).as_str())
        .match_query(Matcher::Exact(BRANCH_QUERY.into()))
        .with_header("content-type", "application/json")
        .with_body(body.to_string())
        .create()
}

fn mock_json(server: &mut Server, path: &str, body: Value) -> Mock {
    server
        .mock("GET", path)
        .match_query(Matcher::Any)
        .with_header("content-type", "application/json")
        .with_body(body.to_string())
        .create()
}

/// The commit lookup answering `mrs`, each MR's own, approvals and reviewers answers, and no
/// commit statuses.
fn serve(server: &mut Server, mrs: Vec<Value>, approvers: Vec<Value>, reviewers: Vec<Value>) -> Mock {
    let mut heads: Vec<&str> = mrs.iter().map(|m| m["sha"].as_str().unwrap()).collect();
    heads.sort_unstable();
    heads.dedup();
    for head in heads {
        mock_statuses(server, head, json!([]));
    }
    for m in &mrs {
        let iid = m["iid"].as_u64().unwrap();
        mock_json(server, &format!("{PROJECT}/merge_requests/{iid}"), m.clone());
        mock_json(
            server,
            &format!("{PROJECT}/merge_requests/{iid}/approvals"),
            approvals(approvers.clone()),
        );
        mock_json(
            server,
            &format!("{PROJECT}/merge_requests/{iid}/reviewers"),
            Value::Array(reviewers.clone()),
        );
    }
    mock_json(server, &commit_mrs_path(COMMIT), Value::Array(mrs))
}

fn nothing_sent(server: &mut Server) -> Mock {
    server.mock("GET", Matcher::Any).expect(0).create()
}

#[test]
fn private_token_is_sent_and_the_gate_passes() {
    let mut server = Server::new();
    let token = |m: Mock| {
        m.match_header("private-token", TOKEN)
            .match_header("authorization", Matcher::Missing)
            .match_header("accept", "application/json")
            .match_header("user-agent", Matcher::Regex("^pr-status/".into()))
    };
    let lookup = token(server.mock("GET", commit_mrs_path(COMMIT).as_str()))
        .match_query(Matcher::UrlEncoded("per_page".into(), "100".into()))
        .with_body(json!([mr(7, COMMIT)]).to_string())
        .expect(1)
        .create();
    let one = token(server.mock("GET", format!("{PROJECT}/merge_requests/7").as_str()))
        .with_body(mr(7, COMMIT).to_string())
        .expect(1)
        .create();
    let appr = token(server.mock("GET", format!("{PROJECT}/merge_requests/7/approvals").as_str()))
        .with_body(approvals(vec![user("Rita Reviewer", 2), user("Ann Author", 1)]).to_string())
        .expect(1)
        .create();
    let revs = token(server.mock("GET", format!("{PROJECT}/merge_requests/7/reviewers").as_str()))
        .match_query(Matcher::Any)
        .with_body(
            json!([
                reviewer(user("Rita Reviewer", 2), "approved"),
                reviewer(user("Pat Pending", 3), "unreviewed")
            ])
            .to_string(),
        )
        .expect(1)
        .create();
    let statuses = token(server.mock("GET", statuses_path(COMMIT).as_str()))
        .match_query(Matcher::Exact(BRANCH_QUERY.into()))
        .with_body("[]")
        .expect(1)
        .create();
    let r = step()
        .gitlab(&server.url())
        .env(
            "REQUIRE",
            "pr,open,not-draft,approved,no-changes-requested,builds-passed",
        )
        .env("DEBUG", "true")
        .run();
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("-> GET") && r.stderr.contains("/approvals"),
        "{}",
        r.stderr
    );
    lookup.assert();
    one.assert();
    appr.assert();
    revs.assert();
    statuses.assert();
    let s = r.summary();
    assert_eq!(s["provider"], "gitlab", "chosen by GITLAB_CI=true");
    assert_eq!(
        (s["lookup"].as_str(), s["selected_pr"].as_u64()),
        (Some("commit"), Some(7))
    );
    assert_eq!(s["repository"]["full_name"], "group/sub/widget");
    assert_eq!(s["repository"]["url"], format!("{}/group/sub/widget", server.url()));
    let p = &s["pull_requests"][0];
    assert_eq!(p["url"], "https://gitlab.example/group/sub/widget/-/merge_requests/7");
    assert_eq!(p["author"], "Ann Author");
    assert_eq!(
        (p["source_branch"].as_str(), p["destination_branch"].as_str()),
        (Some("feature/x"), Some("main"))
    );
    assert_eq!(p["source_commit"], COMMIT);
    assert_eq!(p["comment_count"], 4);
    assert_eq!(p["open_tasks"], Value::Null);
    assert_eq!(p["approvals"], 1, "the author's own approval does not count");
    assert_eq!(
        p["reviewers"],
        json!([{"name": "Rita Reviewer", "state": "approved", "approved_at": null, "commit": null, "stale": false}, {"name": "Pat Pending", "state": "pending", "approved_at": null, "commit": null, "stale": false}])
    );
    assert_eq!(
        p["builds"],
        json!([{"key": "pipeline", "name": "Pipeline #507 for feature/x", "state": "SUCCESSFUL",
                "url": "https://gitlab.example/group/sub/widget/-/pipelines/507", "ignored": false, "required": false}])
    );
    assert!(!r.everything().contains(TOKEN), "token leaked");
}

#[test]
fn every_page_is_followed_by_link_or_x_next_page() {
    let mut server = Server::new();
    let path = commit_mrs_path(COMMIT);
    let p1 = server
        .mock("GET", path.as_str())
        .match_query(Matcher::Exact("per_page=100".into()))
        .with_header(
            "link",
            &format!(
                "<{}{path}?per_page=100&page=2>; rel=\"next\", <{}{path}?page=3>; rel=\"last\"",
                server.url(),
                server.url()
            ),
        )
        .with_body(json!([mr(1, COMMIT)]).to_string())
        .expect(1)
        .create();
    // A proxy that drops Link: only x-next-page says there is more.
    let p2 = server
        .mock("GET", path.as_str())
        .match_query(Matcher::Exact("per_page=100&page=2".into()))
        .with_header("x-next-page", "3")
        .with_header("x-page", "2")
        .with_body(json!([mr(2, COMMIT)]).to_string())
        .expect(1)
        .create();
    let p3 = server
        .mock("GET", path.as_str())
        .match_query(Matcher::Exact("per_page=100&page=3".into()))
        .with_header("x-next-page", "")
        .with_body(json!([mr(3, COMMIT), mr(1, COMMIT)]).to_string())
        .expect(1)
        .create();
    for iid in 1..=3 {
        mock_json(&mut server, &format!("{PROJECT}/merge_requests/{iid}"), mr(iid, COMMIT)).expect(1);
        mock_json(
            &mut server,
            &format!("{PROJECT}/merge_requests/{iid}/approvals"),
            approvals(vec![]),
        );
        mock_json(
            &mut server,
            &format!("{PROJECT}/merge_requests/{iid}/reviewers"),
            json!([]),
        );
    }
    // Three MRs with one head and branch: their statuses are read once.
    let statuses = mock_statuses(&mut server, COMMIT, json!([])).expect(1);
    let r = step().gitlab(&server.url()).run();
    p1.assert();
    p2.assert();
    p3.assert();
    statuses.assert();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ids: Vec<u64> = r.summary()["pull_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2, 3], "an MR listed twice is reported once");
}

#[test]
fn merge_request_iid_fetches_that_mr_directly() {
    let mut server = Server::new();
    let lookup = server
        .mock("GET", commit_mrs_path(COMMIT).as_str())
        .match_query(Matcher::Any)
        .expect(0)
        .create();
    let one = mock_json(&mut server, &format!("{PROJECT}/merge_requests/12"), mr(12, HEAD)).expect(1);
    mock_json(
        &mut server,
        &format!("{PROJECT}/merge_requests/12/approvals"),
        approvals(vec![user("Rita", 2)]),
    );
    mock_json(
        &mut server,
        &format!("{PROJECT}/merge_requests/12/reviewers"),
        json!([]),
    );
    let statuses = mock_statuses(&mut server, HEAD, json!([])).expect(1);
    let merge_commit = mock_statuses(&mut server, COMMIT, json!([])).expect(0);
    let r = step()
        .gitlab(&server.url())
        .env("CI_MERGE_REQUEST_IID", "12")
        .env("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", HEAD)
        .env("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "feature/x")
        .env("REQUIRE", "approved")
        .run();
    lookup.assert();
    one.assert();
    statuses.assert();
    merge_commit.assert();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.summary();
    assert_eq!(s["lookup"], "pr_id");
    assert_eq!(
        s["commit"], HEAD,
        "merged results pipelines report the MR head, not the merge commit"
    );
    assert_eq!(
        s["pull_requests"][0]["reviewers"],
        json!([{"name": "Rita", "state": "approved", "approved_at": null, "commit": null, "stale": false}])
    );

    let mut server = Server::new();
    server
        .mock("GET", format!("{PROJECT}/merge_requests/12").as_str())
        .with_status(404)
        .with_body(r#"{"message":"404 Not found"}"#)
        .create();
    mock_json(
        &mut server,
        &format!("{PROJECT}/merge_requests/12/approvals"),
        approvals(vec![]),
    );
    mock_json(
        &mut server,
        &format!("{PROJECT}/merge_requests/12/reviewers"),
        json!([]),
    );
    let r = step().gitlab(&server.url()).env("CI_MERGE_REQUEST_IID", "12").run();
    assert_eq!(r.code, 4);
    assert!(
        r.stderr.contains("404 Not found") && r.stderr.contains("CI_MERGE_REQUEST_IID"),
        "{}",
        r.stderr
    );
}

#[test]
fn head_pipeline_states_map_to_the_four() {
    let table = [
        ("success", "SUCCESSFUL"),
        ("skipped", "SUCCESSFUL"),
        ("failed", "FAILED"),
        ("created", "INPROGRESS"),
        ("waiting_for_resource", "INPROGRESS"),
        ("preparing", "INPROGRESS"),
        ("pending", "INPROGRESS"),
        ("running", "INPROGRESS"),
        ("scheduled", "INPROGRESS"),
        ("manual", "STOPPED"),
        ("canceled", "STOPPED"),
        ("canceling", "STOPPED"),
    ];
    let mut server = Server::new();
    let mrs: Vec<Value> = table
        .iter()
        .enumerate()
        .map(|(i, (status, _))| {
            let mut m = mr(i as u64 + 1, COMMIT);
            m["head_pipeline"] = pipeline(100 + i as u64, status);
            m
        })
        .collect();
    let mut none = mr(99, COMMIT);
    none["head_pipeline"] = Value::Null;
    let mut mrs_all = mrs.clone();
    mrs_all.push(none);
    serve(&mut server, mrs_all, vec![], vec![]);
    let r = step().gitlab(&server.url()).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let prs = r.summary()["pull_requests"].as_array().unwrap().clone();
    for ((status, want), p) in table.iter().zip(&prs) {
        assert_eq!(p["builds"][0]["state"], *want, "{status}");
    }
    assert_eq!(prs[12]["builds"], json!([]), "no pipeline: no builds");
}

#[test]
fn the_running_pipeline_never_holds_the_gate() {
    let mut server = Server::new();
    let mut m = mr(3, COMMIT);
    m["head_pipeline"] = pipeline(55, "running");
    serve(&mut server, vec![m], vec![], vec![]);
    let r = step()
        .gitlab(&server.url())
        .env("CI_PIPELINE_ID", "55")
        .env("REQUIRE", "builds-passed")
        .run();
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.summary()["pull_requests"][0]["builds"][0]["ignored"], true);
    let r = step()
        .gitlab(&server.url())
        .env("CI_PIPELINE_ID", "56")
        .env("REQUIRE", "builds-passed")
        .run();
    assert_eq!((r.code, r.summary()["outcome"].as_str()), (8, Some("pending")));
}

#[test]
fn ci_job_token_alone_is_explained() {
    let mut server = Server::new();
    let none = nothing_sent(&mut server);
    let r = step()
        .gitlab(&server.url())
        .env("GITLAB_TOKEN", "")
        .env("CI_JOB_TOKEN", "job-token-value-123")
        .run();
    none.assert();
    assert_eq!(r.code, 2);
    for needle in ["GITLAB_TOKEN", "CI_JOB_TOKEN", "cannot read merge requests", "read_api"] {
        assert!(r.stderr.contains(needle), "{needle}: {}", r.stderr);
    }
    assert_eq!(r.stderr.lines().count(), 1, "one clear line: {}", r.stderr);
    assert!(!r.everything().contains("job-token-value-123"));
}

#[test]
fn no_open_tasks_is_refused_before_any_request() {
    let mut server = Server::new();
    let none = nothing_sent(&mut server);
    let r = step().gitlab(&server.url()).env("REQUIRE", "no-open-tasks").run();
    none.assert();
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("no-open-tasks") && r.stderr.contains("gitlab"),
        "{}",
        r.stderr
    );
}

#[test]
fn missing_or_invalid_variables_send_nothing() {
    let cases: &[(&str, &str, &str)] = &[
        ("GITLAB_TOKEN", "", "GITLAB_TOKEN"),
        ("CI_PROJECT_ID", "", "CI_PROJECT_ID"),
        ("CI_PROJECT_ID", "group/../other", "CI_PROJECT_ID"),
        ("CI_PROJECT_ID", "group//x", "CI_PROJECT_ID"),
        ("CI_PROJECT_ID", "a b", "CI_PROJECT_ID"),
        ("CI_PROJECT_ID", "%2e%2e", "CI_PROJECT_ID"),
        ("CI_COMMIT_SHA", "", "CI_COMMIT_SHA"),
        ("CI_COMMIT_SHA", "HEAD", "CI_COMMIT_SHA"),
        ("CI_MERGE_REQUEST_IID", "abc", "CI_MERGE_REQUEST_IID"),
        ("CI_API_V4_URL", "http://gitlab.example/api/v4", "CI_API_V4_URL"),
    ];
    for (var, value, named) in cases {
        let mut server = Server::new();
        let none = nothing_sent(&mut server);
        let r = step().gitlab(&server.url()).env(var, value).run();
        none.assert();
        assert_eq!(r.code, 2, "{var}={value}: {}", r.stderr);
        assert!(r.stderr.contains(named), "{var}={value}: {}", r.stderr);
    }
}

#[test]
fn numeric_project_ids_work_too() {
    let mut server = Server::new();
    let lookup = mock_json(
        &mut server,
        &format!("/api/v4/projects/278964/repository/commits/{COMMIT}/merge_requests"),
        json!([]),
    )
    .expect(1);
    let r = step()
        .gitlab(&server.url())
        .env("CI_PROJECT_ID", "278964")
        .env("REQUIRE", "pr")
        .run();
    lookup.assert();
    assert_eq!(r.code, 1, "no MR contains the commit");
    assert_eq!(r.summary()["pull_requests"], json!([]));
}

#[test]
fn refused_tokens_name_the_scope_and_role() {
    for (code, reason) in [(401, "401 Unauthorized"), (403, "insufficient_scope")] {
        let mut server = Server::new();
        let refused = server
            .mock("GET", commit_mrs_path(COMMIT).as_str())
            .match_query(Matcher::Any)
            .with_status(code)
            .with_body(json!({"message": reason}).to_string())
            .expect(1)
            .create();
        let r = step().gitlab(&server.url()).run();
        refused.assert();
        assert_eq!(r.code, 3, "{}", r.stderr);
        for needle in [reason, "read_api", "Reporter"] {
            assert!(r.stderr.contains(needle), "{code}: {needle}: {}", r.stderr);
        }
    }
}

#[test]
fn an_unknown_project_or_commit_says_what_to_check() {
    let mut server = Server::new();
    server
        .mock("GET", commit_mrs_path(COMMIT).as_str())
        .match_query(Matcher::Any)
        .with_status(404)
        .with_body(r#"{"message":"404 Project Not Found"}"#)
        .create();
    let r = step().gitlab(&server.url()).run();
    assert_eq!(r.code, 4);
    for needle in ["404 Project Not Found", "CI_PROJECT_ID", "CI_COMMIT_SHA"] {
        assert!(r.stderr.contains(needle), "{needle}: {}", r.stderr);
    }
}

/// MR !7 at COMMIT, its head pipeline #507 passed; its commit statuses not yet served.
fn serve_mr(server: &mut Server) {
    for (path, body) in [
        (commit_mrs_path(COMMIT), json!([mr(7, COMMIT)])),
        (format!("{PROJECT}/merge_requests/7"), mr(7, COMMIT)),
        (format!("{PROJECT}/merge_requests/7/approvals"), approvals(vec![])),
        (format!("{PROJECT}/merge_requests/7/reviewers"), json!([])),
    ] {
        mock_json(server, &path, body);
    }
}

/// MR !7 (`serve_mr`) with these commit statuses, read once.
fn serve_with_statuses(server: &mut Server, statuses: Value) -> Mock {
    serve_mr(server);
    mock_statuses(server, COMMIT, statuses).expect(1)
}

fn builds(r: &Ran) -> Vec<(String, String, bool)> {
    r.summary()["pull_requests"][0]["builds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["key"].as_str().unwrap().to_string(),
                b["state"].as_str().unwrap().to_string(),
                b["ignored"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[test]
fn statuses_of_other_pipelines_count_and_the_head_pipelines_do_not() {
    // Head pipeline #507 passed; its jobs are statuses too, and even a failed one among them
    // counts only through the pipeline's own verdict (no double counting).
    // "sonar" was posted by an external service into pipeline #600 (and earlier into #590).
    let run = |sonar_then: &str, sonar_now: &str| {
        let mut server = Server::new();
        let statuses = serve_with_statuses(
            &mut server,
            json!([
                status(11, "sonar", Some(590), sonar_then),
                status(12, "build", Some(507), "success"),
                status(13, "test", Some(507), "failed"),
                status(14, "sonar", Some(600), sonar_now),
                status(15, "old-style", None, "failed"),
            ]),
        );
        let r = step().gitlab(&server.url()).env("REQUIRE", "builds-passed").run();
        statuses.assert();
        r
    };
    let r = run("success", "failed");
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let p = &r.summary()["pull_requests"][0];
    assert_eq!(
        p["builds"],
        json!([
            {"key": "pipeline", "name": "Pipeline #507 for feature/x", "state": "SUCCESSFUL",
             "url": "https://gitlab.example/group/sub/widget/-/pipelines/507", "ignored": false, "required": false},
            {"key": "sonar", "name": "sonar", "state": "FAILED",
             "url": "https://gitlab.example/group/sub/widget/-/jobs/14", "ignored": false, "required": false},
        ]),
        "the newest sonar only; #507's own jobs and statuses without pipeline_id left out"
    );
    assert_eq!(p["unmet"], json!(["builds-passed"]));
    assert_eq!(p["build_summary"]["failed"], 1);

    let r = run("failed", "running");
    assert_eq!((r.code, r.summary()["outcome"].as_str()), (8, Some("pending")));
    assert_eq!(builds(&r)[1], ("sonar".into(), "INPROGRESS".into(), false));

    let r = run("failed", "success");
    assert_eq!(r.code, 0, "an older pipeline's failure is out of date: {}", r.stdout);

    // A 404 from the statuses of an MR's own head is never "no statuses": the list is unknown,
    // so the gate cannot pass on the head pipeline alone (one rule on every forge).
    let mut server = Server::new();
    serve_mr(&mut server);
    let gone = server
        .mock("GET", statuses_path(COMMIT).as_str())
        .match_query(Matcher::Exact(BRANCH_QUERY.into()))
        .with_status(404)
        .with_body(r#"{"message":"404 Commit Not Found"}"#)
        .expect(1)
        .create();
    let r = step().gitlab(&server.url()).env("REQUIRE", "builds-passed").run();
    gone.assert();
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert_eq!(r.summary()["outcome"], "error");
    assert!(r.stderr.contains("never taken as \"no builds\""), "{}", r.stderr);
}

#[test]
fn the_running_pipelines_statuses_never_hold_the_gate_even_when_it_is_not_the_head() {
    // Head pipeline #507 (say the MR pipeline) passed; pr-status runs in branch pipeline #600
    // on the same commit, whose jobs are still running or waiting for it.
    let own = json!([
        status(21, "build", Some(600), "success"),
        // The job running the step; not `pr-status`, which never counts (docs/post-result.md).
        status(22, "gate", Some(600), "running"),
        status(23, "deploy", Some(600), "created"),
        status(24, "release", Some(600), "manual"),
    ]);
    let mut server = Server::new();
    let statuses = serve_with_statuses(&mut server, own.clone());
    let r = step()
        .gitlab(&server.url())
        .env("CI_PIPELINE_ID", "600")
        .env("REQUIRE", "builds-passed")
        .run();
    statuses.assert();
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let t = |k: &str, s: &str, i: bool| (k.to_string(), s.to_string(), i);
    assert_eq!(
        builds(&r),
        [
            t("pipeline", "SUCCESSFUL", false),
            t("build", "SUCCESSFUL", true),
            t("gate", "INPROGRESS", true),
            t("deploy", "INPROGRESS", true),
            t("release", "STOPPED", true),
        ]
    );
    assert_eq!(
        r.summary()["pull_requests"][0]["build_summary"],
        json!({"successful": 1, "failed": 0, "in_progress": 0, "stopped": 0})
    );

    // Run from any other pipeline, #600's jobs are someone else's and count.
    let mut server = Server::new();
    serve_with_statuses(&mut server, own);
    let r = step()
        .gitlab(&server.url())
        .env("CI_PIPELINE_ID", "6000")
        .env("REQUIRE", "builds-passed")
        .run();
    assert_eq!(
        (r.code, r.summary()["outcome"].as_str()),
        (1, Some("fail")),
        "{}",
        r.stdout
    );
    assert!(builds(&r).iter().all(|(_, _, ignored)| !ignored));
}

#[test]
fn commit_status_states_and_allowed_failures_map_to_the_four() {
    let table: &[(&str, bool, &str)] = &[
        ("success", false, "SUCCESSFUL"),
        ("skipped", false, "SUCCESSFUL"),
        ("failed", false, "FAILED"),
        ("created", false, "INPROGRESS"),
        ("waiting_for_resource", false, "INPROGRESS"),
        ("preparing", false, "INPROGRESS"),
        ("pending", false, "INPROGRESS"),
        ("running", false, "INPROGRESS"),
        ("scheduled", false, "INPROGRESS"),
        ("manual", false, "STOPPED"),
        ("canceled", false, "STOPPED"),
        ("canceling", false, "STOPPED"),
        ("failed", true, "SUCCESSFUL"),
        ("canceled", true, "SUCCESSFUL"),
        ("manual", true, "SUCCESSFUL"),
        ("running", true, "INPROGRESS"),
    ];
    let statuses: Vec<Value> = table
        .iter()
        .enumerate()
        .map(|(i, (state, allowed, _))| {
            let mut s = status(30 + i as u64, &format!("{state} {allowed}"), Some(600), state);
            s["allow_failure"] = (*allowed).into();
            s
        })
        .collect();
    let mut server = Server::new();
    serve_with_statuses(&mut server, Value::Array(statuses));
    let r = step().gitlab(&server.url()).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let got = builds(&r);
    assert_eq!(got.len(), table.len() + 1);
    for ((state, allowed, want), (key, s, _)) in table.iter().zip(&got[1..]) {
        assert_eq!(
            (key.as_str(), s.as_str()),
            (format!("{state} {allowed}").as_str(), *want)
        );
    }

    // Allowed to fail, GitLab's pipeline passes "with warnings": so does builds-passed.
    let allowed = |state: &str, id: u64| {
        let mut s = status(id, &format!("optional {state}"), Some(600), state);
        s["allow_failure"] = true.into();
        s
    };
    let mut server = Server::new();
    serve_with_statuses(
        &mut server,
        json!([allowed("failed", 1), allowed("manual", 2), allowed("canceled", 3)]),
    );
    let r = step().gitlab(&server.url()).env("REQUIRE", "builds-passed").run();
    assert_eq!(r.code, 0, "{}", r.stdout);
    let mut server = Server::new();
    serve_with_statuses(
        &mut server,
        json!([allowed("failed", 1), status(2, "lint", Some(600), "failed")]),
    );
    let r = step().gitlab(&server.url()).env("REQUIRE", "builds-passed").run();
    assert_eq!(r.code, 1, "not allowed to fail: {}", r.stdout);
}

#[test]
fn statuses_are_read_on_every_page() {
    let mut server = Server::new();
    serve_mr(&mut server);
    let path = statuses_path(COMMIT);
    let p1 = server
        .mock("GET", path.as_str())
        .match_query(Matcher::Exact(BRANCH_QUERY.into()))
        .with_header(
            "link",
            &format!("<{}{path}?{BRANCH_QUERY}&page=2>; rel=\"next\"", server.url()),
        )
        .with_body(json!([status(1, "one", Some(600), "success")]).to_string())
        .expect(1)
        .create();
    // x-next-page alone: the next page keeps `ref` and `per_page`.
    let p2 = server
        .mock("GET", path.as_str())
        .match_query(Matcher::Exact(format!("{BRANCH_QUERY}&page=2")))
        .with_header("x-next-page", "3")
        .with_body(json!([status(2, "two", Some(600), "success")]).to_string())
        .expect(1)
        .create();
    let p3 = server
        .mock("GET", path.as_str())
        .match_query(Matcher::Exact(format!("{BRANCH_QUERY}&page=3")))
        .with_header("x-next-page", "")
        .with_body(json!([status(3, "three", Some(600), "failed")]).to_string())
        .expect(1)
        .create();
    let r = step().gitlab(&server.url()).env("REQUIRE", "builds-passed").run();
    p1.assert();
    p2.assert();
    p3.assert();
    assert_eq!(r.code, 1, "the last page's failure counts: {}", r.stdout);
    let keys: Vec<String> = builds(&r).into_iter().map(|(k, _, _)| k).collect();
    assert_eq!(keys, ["pipeline", "one", "two", "three"]);
}

#[test]
fn a_merge_request_that_moved_has_its_new_heads_statuses_read() {
    // In the MR pipeline of COMMIT, the MR has since moved on to HEAD: COMMIT's statuses,
    // read while the MR was fetched, are not the MR's; HEAD's are read afterwards.
    let mut server = Server::new();
    for (path, body) in [
        (format!("{PROJECT}/merge_requests/12"), mr(12, HEAD)),
        (format!("{PROJECT}/merge_requests/12/approvals"), approvals(vec![])),
        (format!("{PROJECT}/merge_requests/12/reviewers"), json!([])),
    ] {
        mock_json(&mut server, &path, body);
    }
    let guessed = mock_statuses(&mut server, COMMIT, json!([status(1, "e2e", Some(600), "failed")])).expect(1);
    let moved = mock_statuses(&mut server, HEAD, json!([status(2, "e2e", Some(601), "running")])).expect(1);
    let r = step()
        .gitlab(&server.url())
        .env("CI_MERGE_REQUEST_IID", "12")
        .env("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "feature/x")
        .env("REQUIRE", "builds-passed")
        .run();
    guessed.assert();
    moved.assert();
    assert_eq!(
        (r.code, r.summary()["outcome"].as_str()),
        (8, Some("pending")),
        "{}",
        r.stdout
    );
    assert_eq!(builds(&r)[1], ("e2e".into(), "INPROGRESS".into(), false));
}
