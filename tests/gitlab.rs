//! GitLab end to end: the real binary against local mockito servers shaped after GitLab's
//! REST API v4 and its recorded answer in tests/fixtures/real/gitlab.

mod common;

use common::*;
use mockito::{Matcher, Mock, Server};
use serde_json::{json, Value};

/// `CI_PROJECT_ID=group/sub/widget`, percent-encoded as one path segment.
const PROJECT: &str = "/api/v4/projects/group%2Fsub%2Fwidget";
const HEAD: &str = "fedcba9876543210fedcba9876543210fedcba98";

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

fn mock_json(server: &mut Server, path: &str, body: Value) -> Mock {
    server
        .mock("GET", path)
        .match_query(Matcher::Any)
        .with_header("content-type", "application/json")
        .with_body(body.to_string())
        .create()
}

/// The commit lookup answering `mrs`, and each MR's own, approvals and reviewers answers.
fn serve(server: &mut Server, mrs: Vec<Value>, approvers: Vec<Value>, reviewers: Vec<Value>) -> Mock {
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
        json!([{"name": "Rita Reviewer", "state": "approved"}, {"name": "Pat Pending", "state": "pending"}])
    );
    assert_eq!(
        p["builds"],
        json!([{"key": "pipeline", "name": "Pipeline #507 for feature/x", "state": "SUCCESSFUL",
                "url": "https://gitlab.example/group/sub/widget/-/pipelines/507", "ignored": false}])
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
    let r = step().gitlab(&server.url()).run();
    p1.assert();
    p2.assert();
    p3.assert();
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
    let r = step()
        .gitlab(&server.url())
        .env("CI_MERGE_REQUEST_IID", "12")
        .env("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", HEAD)
        .env("REQUIRE", "approved")
        .run();
    lookup.assert();
    one.assert();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.summary();
    assert_eq!(s["lookup"], "pr_id");
    assert_eq!(
        s["commit"], HEAD,
        "merged results pipelines report the MR head, not the merge commit"
    );
    assert_eq!(
        s["pull_requests"][0]["reviewers"],
        json!([{"name": "Rita", "state": "approved"}])
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
fn approvals_and_requested_changes_with_the_author_left_out() {
    let mut server = Server::new();
    let mut m = mr(5, COMMIT);
    m["reviewers"] = json!([user("Carl Changes", 4)]);
    serve(
        &mut server,
        vec![m],
        vec![
            user("Ann Author", 1),
            user("Rita Reviewer", 2),
            user("Otto Outsider", 5),
        ],
        vec![
            reviewer(user("Rita Reviewer", 2), "approved"),
            reviewer(user("Carl Changes", 4), "requested_changes"),
            reviewer(user("Ann Author", 1), "reviewed"),
            reviewer(user("Pat Pending", 3), "unreviewed"),
        ],
    );
    let r = step()
        .gitlab(&server.url())
        .env("REQUIRE", "approved,no-changes-requested")
        .env("MIN_APPROVALS", "2")
        .run();
    assert_eq!(r.code, 1, "{}", r.stdout);
    let p = &r.summary()["pull_requests"][0];
    assert_eq!(
        p["reviewers"],
        json!([
            {"name": "Rita Reviewer", "state": "approved"},
            {"name": "Carl Changes", "state": "changes_requested"},
            {"name": "Pat Pending", "state": "pending"},
            {"name": "Otto Outsider", "state": "approved"},
        ])
    );
    assert_eq!(
        (p["approvals"].as_u64(), p["changes_requested"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(p["unmet"], json!(["no-changes-requested"]));
}

#[test]
fn servers_without_the_reviewers_api_list_the_mrs_reviewers_as_pending() {
    let mut server = Server::new();
    let mut m = mr(5, COMMIT);
    m["reviewers"] = json!([user("Rita Reviewer", 2), user("Pat Pending", 3)]);
    mock_json(&mut server, &commit_mrs_path(COMMIT), json!([m]));
    mock_json(&mut server, &format!("{PROJECT}/merge_requests/5"), m);
    mock_json(
        &mut server,
        &format!("{PROJECT}/merge_requests/5/approvals"),
        approvals(vec![user("Rita Reviewer", 2)]),
    );
    let old = server
        .mock("GET", format!("{PROJECT}/merge_requests/5/reviewers").as_str())
        .match_query(Matcher::Any)
        .with_status(404)
        .with_body(r#"{"error":"404 Not Found"}"#)
        .expect(1)
        .create();
    let r = step().gitlab(&server.url()).env("REQUIRE", "approved").run();
    old.assert();
    assert_eq!(r.code, 0, "a 404 from an older server is not an error: {}", r.stderr);
    assert_eq!(
        r.summary()["pull_requests"][0]["reviewers"],
        json!([{"name": "Rita Reviewer", "state": "approved"}, {"name": "Pat Pending", "state": "pending"}])
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

#[test]
fn states_and_drafts() {
    let mut server = Server::new();
    let with = |iid: u64, state: &str, draft: Option<bool>, wip: Option<bool>| {
        let mut m = mr(iid, COMMIT);
        m["state"] = state.into();
        m.as_object_mut().unwrap().remove("draft");
        m.as_object_mut().unwrap().remove("work_in_progress");
        if let Some(d) = draft {
            m["draft"] = d.into();
        }
        if let Some(w) = wip {
            m["work_in_progress"] = w.into();
        }
        m
    };
    serve(
        &mut server,
        vec![
            with(1, "opened", Some(true), Some(true)),
            with(2, "merged", None, Some(true)),
            with(3, "closed", None, None),
            with(4, "locked", Some(false), None),
        ],
        vec![],
        vec![],
    );
    let r = step().gitlab(&server.url()).env("REQUIRE", "open,not-draft").run();
    assert_eq!((r.code, r.summary()["selected_pr"].as_u64()), (0, Some(4)));
    let got: Vec<(String, Value)> = r.summary()["pull_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["state"].as_str().unwrap().to_string(), p["draft"].clone()))
        .collect();
    let want = [
        ("OPEN", json!(true)),
        ("MERGED", json!(true)),
        ("DECLINED", Value::Null),
        ("OPEN", json!(false)),
    ];
    assert_eq!(got, want.map(|(s, d)| (s.to_string(), d)));
}

/// The recorded go-gitlab answer (gitlab-org/gitlab-ee !14656, 2019) served as GitLab's,
/// on a server without the approvals and reviewers APIs.
#[test]
fn real_recorded_merge_request() {
    let text = fixture("real/gitlab/merge-request-14656-go-gitlab.json");
    let want: Value = serde_json::from_str(&text).unwrap();
    let sha = want["sha"].as_str().unwrap().to_string();
    let iid = want["iid"].as_u64().unwrap();
    let check = |p: &Value| {
        assert_eq!(p["id"], want["iid"]);
        assert_eq!(p["title"], want["title"]);
        assert_eq!(p["state"], "OPEN", "opened");
        assert_eq!(p["url"], want["web_url"]);
        assert_eq!(p["author"], want["author"]["name"]);
        assert_eq!(p["source_branch"], want["source_branch"]);
        assert_eq!(p["destination_branch"], want["target_branch"]);
        assert_eq!(p["source_commit"], want["sha"]);
        assert_eq!(p["created_on"], want["created_at"]);
        assert_eq!(p["updated_on"], want["updated_at"]);
        assert_eq!(p["comment_count"], want["user_notes_count"]);
        assert_eq!(
            p["draft"], want["work_in_progress"],
            "no draft field: work_in_progress stands in"
        );
        assert_eq!(p["open_tasks"], Value::Null);
        assert_eq!((p["approvals"].as_u64(), p["reviewers"].clone()), (Some(0), json!([])));
        assert_eq!(p["builds"][0]["url"], want["head_pipeline"]["web_url"]);
        assert_eq!(
            p["builds"][0]["state"], "SUCCESSFUL",
            "passed with warnings is a success"
        );
    };
    let old_server = |server: &mut Server| {
        for api in ["approvals", "reviewers"] {
            server
                .mock("GET", format!("{PROJECT}/merge_requests/{iid}/{api}").as_str())
                .match_query(Matcher::Any)
                .with_status(404)
                .with_body(r#"{"error":"404 Not Found"}"#)
                .create();
        }
        server
            .mock("GET", format!("{PROJECT}/merge_requests/{iid}").as_str())
            .with_body(&text)
            .expect(1)
            .create()
    };

    let mut server = Server::new();
    server
        .mock("GET", commit_mrs_path(&sha).as_str())
        .match_query(Matcher::Any)
        .with_body(format!("[{text}]"))
        .create();
    let one = old_server(&mut server);
    let r = step()
        .gitlab(&server.url())
        .env("CI_COMMIT_SHA", &sha)
        .env("REQUIRE", "open,not-draft,builds-passed")
        .run();
    one.assert();
    assert_eq!(r.code, 0, "{}", r.stderr);
    check(&r.summary()["pull_requests"][0]);

    let mut server = Server::new();
    let one = old_server(&mut server);
    let r = step()
        .gitlab(&server.url())
        .env("CI_MERGE_REQUEST_IID", iid.to_string())
        .env("CI_PIPELINE_ID", want["head_pipeline"]["id"].to_string())
        .env("REQUIRE", "builds-passed")
        .run();
    one.assert();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let p = &r.summary()["pull_requests"][0];
    check(p);
    assert_eq!(
        p["builds"][0]["ignored"], true,
        "the old-style /pipelines/{{id}} link is recognised"
    );
}
