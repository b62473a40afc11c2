//! GitLab and the repository's own merge rules (issue 10), end to end: the real binary against
//! local mockito servers whose answers follow GitLab's REST documentation (Merge requests API
//! `detailed_merge_status`, Merge request approvals API, Projects API, MR diff versions).
//!
//! Each rule kind is checked passing, failing with its veto, pending and refused; the request
//! counts are exact (the common path sends exactly what it sent before these options).

mod common;

use common::*;
use mockito::{Matcher, Mock, Server};
use serde_json::{json, Value};

/// `CI_PROJECT_ID=group/sub/widget`, percent-encoded as one path segment.
const PROJECT: &str = "/api/v4/projects/group%2Fsub%2Fwidget";
/// The MR's head before its last push.
const OLD: &str = "1111111111111111111111111111111111111111";
const BRANCH_QUERY: &str = "ref=feature%2Fx&per_page=100";

fn gitlab(server: &Server) -> Step {
    step()
        .env("GITLAB_CI", "true")
        .env("CI_API_V4_URL", format!("{}/api/v4", server.url()))
        .env("CI_PROJECT_ID", "group/sub/widget")
        .env("CI_COMMIT_SHA", COMMIT)
        .env("GITLAB_TOKEN", TOKEN)
        .env("DEBUG", "true")
}

fn user(name: &str, id: u64) -> Value {
    json!({"id": id, "name": name, "username": name.to_lowercase().replace(' ', "."), "state": "active",
           "avatar_url": null, "web_url": format!("https://gitlab.example/{}", name.to_lowercase().replace(' ', "."))})
}

fn pipeline(id: u64, status: &str) -> Value {
    json!({"id": id, "iid": 3, "project_id": 9, "sha": COMMIT, "ref": "feature/x", "status": status,
           "source": "merge_request_event",
           "web_url": format!("https://gitlab.example/group/sub/widget/-/pipelines/{id}")})
}

/// `GET /projects/:id/merge_requests/:iid`, with its `detailed_merge_status`.
fn mr(iid: u64, status: Option<&str>) -> Value {
    let mut m = json!({
        "id": 1000 + iid, "iid": iid, "project_id": 9, "title": format!("MR {iid}"), "state": "opened",
        "draft": false, "work_in_progress": false,
        "web_url": format!("https://gitlab.example/group/sub/widget/-/merge_requests/{iid}"),
        "author": user("Ann Author", 1),
        "source_branch": "feature/x", "target_branch": "main", "sha": COMMIT,
        "created_at": "2026-11-01T10:00:00.000Z", "updated_at": "2026-11-02T10:00:00.000Z",
        "user_notes_count": 4, "reviewers": [],
        "merge_status": "can_be_merged", "has_conflicts": false, "blocking_discussions_resolved": true,
        "head_pipeline": pipeline(507, "success")
    });
    match status {
        Some(s) => m["detailed_merge_status"] = json!(s),
        None => {
            m.as_object_mut().unwrap().remove("detailed_merge_status");
        }
    }
    m
}

/// `GET .../merge_requests/:iid/approvals` as Premium servers answer it: `approvals_required`,
/// `approvals_left` and each approver with `approved_at` (newer servers).
fn approvals(required: u32, left: u32, by: Vec<(Value, Option<&str>)>) -> Value {
    let approved_by: Vec<Value> = by
        .into_iter()
        .map(|(u, at)| match at {
            Some(t) => json!({"user": u, "approved_at": t}),
            None => json!({"user": u}),
        })
        .collect();
    json!({"id": 1007, "iid": 7, "project_id": 9, "title": "MR 7", "state": "opened",
           "merge_status": "can_be_merged", "approved": left == 0, "approvals_required": required,
           "approvals_left": left, "approved_by": approved_by})
}

/// One MR diff version (`GET .../merge_requests/:iid/versions`), as GitLab records one per push.
fn version(id: u64, head: &str, created_at: &str) -> Value {
    json!({"id": id, "head_commit_sha": head, "base_commit_sha": "eeb57dffe83deb686a60a71c16c32f71046868fd",
           "start_commit_sha": "eeb57dffe83deb686a60a71c16c32f71046868fd", "created_at": created_at,
           "merge_request_id": 1007, "state": "collected", "real_size": "1"})
}

fn get(server: &mut Server, path: &str, body: Value) -> Mock {
    server
        .mock("GET", path)
        .match_query(Matcher::Any)
        .with_header("content-type", "application/json")
        .with_body(body.to_string())
        .create()
}

/// An answer given `n` times, then left to the mocks created after it (mockito serves the
/// first matching mock that still misses hits, when the count is set before `create`).
fn get_times(server: &mut Server, path: &str, body: Value, n: usize) -> Mock {
    server
        .mock("GET", path)
        .match_query(Matcher::Any)
        .with_header("content-type", "application/json")
        .with_body(body.to_string())
        .expect(n)
        .create()
}

fn refused(server: &mut Server, path: &str, status: usize) -> Mock {
    let body = match status {
        403 => r#"{"message":"403 Forbidden"}"#,
        _ => r#"{"message":"404 Not found"}"#,
    };
    server
        .mock("GET", path)
        .match_query(Matcher::Any)
        .with_status(status)
        .with_header("content-type", "application/json")
        .with_body(body)
        .create()
}

/// The mocks of one MR (!7) containing the commit; each expects exactly one request.
struct Served {
    list: Mock,
    mr: Mock,
    approvals: Mock,
    reviewers: Mock,
    statuses: Mock,
}

impl Served {
    fn assert(&self) {
        self.list.assert();
        self.mr.assert();
        self.approvals.assert();
        self.reviewers.assert();
        self.statuses.assert();
    }
}

fn serve(server: &mut Server, m: Value, appr: Value) -> Served {
    let statuses = server
        .mock(
            "GET",
            format!("{PROJECT}/repository/commits/{COMMIT}/statuses").as_str(),
        )
        .match_query(Matcher::Exact(BRANCH_QUERY.into()))
        .with_header("content-type", "application/json")
        .with_body("[]")
        .expect(1)
        .create();
    Served {
        list: get(
            server,
            &format!("{PROJECT}/repository/commits/{COMMIT}/merge_requests"),
            json!([m.clone()]),
        )
        .expect(1),
        mr: get(server, &format!("{PROJECT}/merge_requests/7"), m).expect(1),
        approvals: get(server, &format!("{PROJECT}/merge_requests/7/approvals"), appr).expect(1),
        reviewers: get(server, &format!("{PROJECT}/merge_requests/7/reviewers"), json!([])).expect(1),
        statuses,
    }
}

/// The settings endpoints, expected `n` times each.
fn no_settings(server: &mut Server) -> (Mock, Mock, Mock) {
    (
        server.mock("GET", PROJECT).match_query(Matcher::Any).expect(0).create(),
        server
            .mock("GET", format!("{PROJECT}/approvals").as_str())
            .match_query(Matcher::Any)
            .expect(0)
            .create(),
        server
            .mock("GET", format!("{PROJECT}/merge_requests/7/versions").as_str())
            .match_query(Matcher::Any)
            .expect(0)
            .create(),
    )
}

fn one_approver() -> Vec<(Value, Option<&'static str>)> {
    vec![(user("Rita Reviewer", 2), Some("2026-11-02T11:00:00.000Z"))]
}

// ---- the common path ----

#[test]
fn without_the_new_options_the_requests_are_exactly_todays() {
    let mut server = Server::new();
    let served = serve(
        &mut server,
        mr(7, Some("not_approved")),
        approvals(2, 1, one_approver()),
    );
    let (project, settings, versions) = no_settings(&mut server);
    let r = gitlab(&server)
        .env("REQUIRE", "open,approved,no-changes-requested,builds-passed")
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    served.assert();
    project.assert();
    settings.assert();
    versions.assert();
    assert_eq!(sent(&r), 5, "list, MR, approvals, reviewers, statuses");
    let p = &r.summary()["pull_requests"][0];
    assert_eq!(
        (&p["mergeable"], &p["merge_vetoes"]),
        (&Value::Null, &json!([])),
        "the verdict is not asked for"
    );
    assert_eq!(r.summary()["min_approvals_source"], "setting");
    assert_eq!(
        p["reviewers"],
        json!([{"name": "Rita Reviewer", "state": "approved", "approved_at": "2026-11-02T11:00:00.000Z",
                "commit": null, "stale": false}]),
        "the approval's time is evidence already read"
    );
}

// ---- REQUIRE=mergeable: detailed_merge_status ----

#[test]
fn mergeable_passes_with_no_extra_request() {
    let mut server = Server::new();
    let served = serve(&mut server, mr(7, Some("mergeable")), approvals(0, 0, vec![]));
    let (project, settings, versions) = no_settings(&mut server);
    let r = gitlab(&server).env("REQUIRE", "mergeable").run();
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    served.assert();
    project.assert();
    settings.assert();
    versions.assert();
    assert_eq!(sent(&r), 5, "the verdict is in the MR's own answer");
    let p = &r.summary()["pull_requests"][0];
    assert_eq!((&p["mergeable"], &p["merge_vetoes"]), (&json!(true), &json!([])));
}

#[test]
fn every_blocking_status_is_a_veto_named_after_it() {
    let blocking = [
        ("not_approved", "approvals"),
        ("discussions_not_resolved", "threads"),
        ("draft_status", "draft"),
        ("need_rebase", "rebased"),
        ("conflict", "conflict"),
        ("ci_must_pass", "pipeline"),
        ("blocked_status", "blocked"),
        ("merge_request_blocked", "blocked"),
        ("not_open", "not open"),
        ("external_status_checks", "status checks"),
        ("status_checks_must_pass", "status checks"),
        ("jira_association_missing", "Jira"),
        ("requested_changes", "requested changes"),
        ("security_policy_violations", "security policies"),
        ("locked_paths", "locked"),
        ("locked_lfs_files", "LFS"),
        ("commits_status", "commits"),
        ("merge_time", "merge time"),
        ("title_regex", "title"),
        ("a_status_from_gitlab_99", "does not know"),
    ];
    for (status, words) in blocking {
        let mut server = Server::new();
        serve(&mut server, mr(7, Some(status)), approvals(0, 0, vec![]));
        let r = gitlab(&server)
            .env("REQUIRE", "mergeable")
            .env("SUMMARY_MARKDOWN_FILE", "summary.md")
            .run();
        assert_eq!(r.code, 1, "{status}: {}{}", r.stdout, r.stderr);
        let p = &r.summary()["pull_requests"][0];
        assert_eq!(p["mergeable"], false, "{status}");
        let vetoes = p["merge_vetoes"].as_array().unwrap();
        assert_eq!(vetoes.len(), 1, "{status}: {vetoes:?}");
        assert_eq!(vetoes[0]["rule"], status);
        let message = vetoes[0]["message"].as_str().unwrap();
        assert!(message.contains(words), "{status}: {message}");
        assert!(
            r.stdout.contains(status) && r.stdout.contains(message),
            "{status}: stdout shows the veto: {}",
            r.stdout
        );
        let markdown = r.file("summary.md");
        assert!(
            markdown.contains(&status.replace('_', "\\_")),
            "{status}: Markdown shows the veto (escaped): {markdown}"
        );
        assert_eq!(r.summary()["outcome"], "fail");
    }
}

#[test]
fn a_status_still_being_computed_is_asked_again_until_it_is_known() {
    let mut server = Server::new();
    let checking = get_times(
        &mut server,
        &format!("{PROJECT}/merge_requests/7"),
        mr(7, Some("checking")),
        2,
    );
    let served = serve(&mut server, mr(7, Some("mergeable")), approvals(0, 0, vec![]));
    let r = gitlab(&server)
        .env("REQUIRE", "mergeable")
        .env("INDEX_WAIT", "30")
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    checking.assert();
    served.assert();
    assert!(r.stderr.contains("detailed_merge_status checking"), "{}", r.stderr);
    assert_eq!(sent(&r), 7, "the MR twice more; nothing else again");
}

#[test]
fn still_computing_after_the_wait_is_pending() {
    for status in ["checking", "unchecked", "preparing", "approvals_syncing"] {
        let mut server = Server::new();
        serve(&mut server, mr(7, Some(status)), approvals(0, 0, vec![]));
        let r = gitlab(&server).env("REQUIRE", "mergeable").env("INDEX_WAIT", "0").run();
        assert_eq!(r.code, 8, "{status}: {}{}", r.stdout, r.stderr);
        let s = r.summary();
        assert_eq!(s["outcome"], "pending", "{status}");
        assert_eq!(
            (
                &s["pull_requests"][0]["mergeable"],
                &s["pull_requests"][0]["merge_vetoes"]
            ),
            (&Value::Null, &json!([])),
            "{status}"
        );
        assert!(
            s["message"].as_str().unwrap().contains("merge verdict"),
            "{status}: {s}"
        );
    }
}

#[test]
fn syncing_approvals_are_read_again_with_the_mr() {
    let mut server = Server::new();
    // A push just reset the approvals: the first answers still show the old one.
    let syncing = get_times(
        &mut server,
        &format!("{PROJECT}/merge_requests/7"),
        mr(7, Some("approvals_syncing")),
        1,
    );
    let old = get_times(
        &mut server,
        &format!("{PROJECT}/merge_requests/7/approvals"),
        approvals(1, 0, one_approver()),
        1,
    );
    let served = serve(&mut server, mr(7, Some("not_approved")), approvals(1, 1, vec![]));
    let r = gitlab(&server)
        .env("REQUIRE", "mergeable,approved")
        .env("INDEX_WAIT", "30")
        .run();
    syncing.assert();
    old.assert();
    served.assert();
    assert_eq!(r.code, 1, "{}", r.stderr);
    let p = &r.summary()["pull_requests"][0];
    assert_eq!(p["approvals"], 0, "the approvals as they are after the sync");
    assert_eq!(p["merge_vetoes"][0]["rule"], "not_approved");
    assert_eq!(p["unmet"], json!(["mergeable", "approved"]));
}

#[test]
fn a_running_pipeline_is_pending_unless_it_is_this_one() {
    let mut m = mr(7, Some("ci_still_running"));
    m["head_pipeline"] = pipeline(507, "running");
    let mut server = Server::new();
    serve(&mut server, m.clone(), approvals(0, 0, vec![]));
    let r = gitlab(&server).env("REQUIRE", "mergeable").run();
    assert_eq!(r.code, 8, "another pipeline still runs: {}", r.stderr);
    assert_eq!(r.summary()["pull_requests"][0]["mergeable"], Value::Null);

    // GitLab checks the pipeline last: ci_still_running means every other check passed. When
    // the pipeline still running is this step's own, it is not waited for.
    let mut server = Server::new();
    serve(&mut server, m, approvals(0, 0, vec![]));
    let r = gitlab(&server)
        .env("REQUIRE", "mergeable")
        .env("CI_PIPELINE_ID", "507")
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.summary()["pull_requests"][0]["mergeable"], true);
}

#[test]
fn a_server_without_detailed_merge_status_leaves_the_verdict_unknown() {
    let mut server = Server::new();
    serve(&mut server, mr(7, None), approvals(0, 0, vec![]));
    let r = gitlab(&server).env("REQUIRE", "mergeable").run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    let p = &r.summary()["pull_requests"][0];
    assert_eq!(p["mergeable"], Value::Null);
    assert_eq!(p["merge_vetoes"][0]["rule"], "detailed_merge_status");
    assert!(r.stdout.contains("15.6"), "{}", r.stdout);
}

#[test]
fn the_verdict_refused_exits_3_naming_the_scope() {
    let mut server = Server::new();
    get(
        &mut server,
        &format!("{PROJECT}/repository/commits/{COMMIT}/merge_requests"),
        json!([mr(7, Some("mergeable"))]),
    );
    refused(&mut server, &format!("{PROJECT}/merge_requests/7"), 403);
    get(
        &mut server,
        &format!("{PROJECT}/merge_requests/7/approvals"),
        approvals(0, 0, vec![]),
    );
    get(&mut server, &format!("{PROJECT}/merge_requests/7/reviewers"), json!([]));
    get(
        &mut server,
        &format!("{PROJECT}/repository/commits/{COMMIT}/statuses"),
        json!([]),
    );
    let r = gitlab(&server).env("REQUIRE", "mergeable").run();
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("read_api") && r.stderr.contains("Reporter"),
        "{}",
        r.stderr
    );
    assert_eq!(r.summary()["error"]["kind"], "auth");
}

// ---- MIN_APPROVALS=auto: approvals_required ----

#[test]
fn min_approvals_auto_takes_the_mrs_approvals_required() {
    let two = vec![
        (user("Rita Reviewer", 2), Some("2026-11-02T11:00:00.000Z")),
        (user("Sam Second", 3), Some("2026-11-02T11:05:00.000Z")),
    ];
    let mut server = Server::new();
    let served = serve(&mut server, mr(7, Some("mergeable")), approvals(2, 0, two));
    let (project, settings, versions) = no_settings(&mut server);
    let r = gitlab(&server)
        .env("REQUIRE", "approved,mergeable")
        .env("MIN_APPROVALS", "auto")
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    served.assert();
    project.assert();
    settings.assert();
    versions.assert();
    assert_eq!(sent(&r), 5, "approvals_required is in the approvals already read");
    let s = r.summary();
    assert_eq!(
        (s["min_approvals"].as_u64(), s["min_approvals_source"].as_str()),
        (Some(2), Some("rules"))
    );

    let mut server = Server::new();
    serve(
        &mut server,
        mr(7, Some("not_approved")),
        approvals(2, 1, one_approver()),
    );
    let r = gitlab(&server)
        .env("REQUIRE", "approved")
        .env("MIN_APPROVALS", "auto")
        .run();
    assert_eq!(r.code, 1, "one of two: {}", r.stderr);
    assert_eq!(r.summary()["min_approvals"], 2);
    assert_eq!(r.summary()["pull_requests"][0]["unmet"], json!(["approved"]));
}

#[test]
fn approvals_gitlab_still_counts_as_missing_keep_the_threshold_above_them() {
    // The rule wants one approval from its own approvers; Otto approved but is not one of them.
    let mut server = Server::new();
    serve(
        &mut server,
        mr(7, Some("not_approved")),
        approvals(1, 1, vec![(user("Otto Outsider", 5), Some("2026-11-02T11:00:00.000Z"))]),
    );
    let r = gitlab(&server)
        .env("REQUIRE", "approved")
        .env("MIN_APPROVALS", "auto")
        .run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    let s = r.summary();
    assert_eq!(
        (s["min_approvals"].as_u64(), s["pull_requests"][0]["approvals"].as_u64()),
        (Some(2), Some(1))
    );
}

#[test]
fn min_approvals_auto_without_approval_rules_or_permission_never_passes() {
    // The Community Edition's approvals answer has no approvals_required.
    let mut server = Server::new();
    serve(
        &mut server,
        mr(7, Some("mergeable")),
        json!({"user_has_approved": false, "user_can_approve": true, "approved": true,
               "approved_by": [{"user": user("Rita Reviewer", 2)}]}),
    );
    let r = gitlab(&server)
        .env("REQUIRE", "approved")
        .env("MIN_APPROVALS", "auto")
        .run();
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains("MIN_APPROVALS=auto") && r.stderr.contains("approvals_required"),
        "{}",
        r.stderr
    );

    let mut server = Server::new();
    get(
        &mut server,
        &format!("{PROJECT}/repository/commits/{COMMIT}/merge_requests"),
        json!([mr(7, Some("mergeable"))]),
    );
    get(
        &mut server,
        &format!("{PROJECT}/merge_requests/7"),
        mr(7, Some("mergeable")),
    );
    refused(&mut server, &format!("{PROJECT}/merge_requests/7/approvals"), 403);
    get(&mut server, &format!("{PROJECT}/merge_requests/7/reviewers"), json!([]));
    get(
        &mut server,
        &format!("{PROJECT}/repository/commits/{COMMIT}/statuses"),
        json!([]),
    );
    let r = gitlab(&server)
        .env("REQUIRE", "approved")
        .env("MIN_APPROVALS", "auto")
        .run();
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("read_api"), "{}", r.stderr);
}

// ---- REQUIRED_BUILDS=auto: "Pipelines must succeed" ----

/// `GET /projects/:id` (the fields a member sees that matter here).
fn project(pipeline_must_succeed: bool) -> Value {
    json!({"id": 9, "path_with_namespace": "group/sub/widget", "default_branch": "main",
           "only_allow_merge_if_pipeline_succeeds": pipeline_must_succeed,
           "allow_merge_on_skipped_pipeline": false,
           "only_allow_merge_if_all_discussions_are_resolved": false, "merge_method": "merge"})
}

#[test]
fn pipelines_must_succeed_needs_a_pipeline_and_waits_for_one() {
    let no_pipeline = || {
        let mut m = mr(7, Some("ci_must_pass"));
        m["head_pipeline"] = Value::Null;
        m
    };
    let mut server = Server::new();
    let served = serve(&mut server, no_pipeline(), approvals(0, 0, vec![]));
    let settings = get(&mut server, PROJECT, project(true)).expect(1);
    let r = gitlab(&server)
        .env("REQUIRE", "builds-passed")
        .env("REQUIRED_BUILDS", "auto")
        .run();
    assert_eq!(r.code, 8, "no pipeline reported yet is pending: {}", r.stderr);
    served.assert();
    settings.assert();
    assert_eq!(sent(&r), 6, "the project once, with the first round trip");
    assert!(r.summary()["message"]
        .as_str()
        .unwrap()
        .contains("pipelines must succeed"));

    let mut server = Server::new();
    serve(&mut server, no_pipeline(), approvals(0, 0, vec![]));
    get(&mut server, PROJECT, project(false));
    let r = gitlab(&server)
        .env("REQUIRE", "builds-passed")
        .env("REQUIRED_BUILDS", "auto")
        .run();
    assert_eq!(r.code, 0, "the project does not require one: {}", r.stderr);

    for (state, code) in [("success", 0), ("failed", 1), ("running", 8)] {
        let mut m = mr(7, Some("mergeable"));
        m["head_pipeline"] = pipeline(507, state);
        let mut server = Server::new();
        serve(&mut server, m, approvals(0, 0, vec![]));
        get(&mut server, PROJECT, project(true));
        let r = gitlab(&server)
            .env("REQUIRE", "builds-passed")
            .env("REQUIRED_BUILDS", "auto")
            .run();
        assert_eq!(r.code, code, "{state}: {}", r.stderr);
    }
}

#[test]
fn this_pipeline_is_the_pipeline_that_must_succeed() {
    let mut m = mr(7, Some("ci_still_running"));
    m["head_pipeline"] = pipeline(507, "running");
    let mut server = Server::new();
    serve(&mut server, m, approvals(0, 0, vec![]));
    get(&mut server, PROJECT, project(true));
    let r = gitlab(&server)
        .env("REQUIRE", "builds-passed,mergeable")
        .env("REQUIRED_BUILDS", "auto")
        .env("CI_PIPELINE_ID", "507")
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let p = &r.summary()["pull_requests"][0];
    assert_eq!(p["builds"][0]["ignored"], true, "never waited for");
}

#[test]
fn project_settings_refused_exit_3_naming_what_needs_them() {
    let mut server = Server::new();
    serve(&mut server, mr(7, Some("mergeable")), approvals(0, 0, vec![]));
    refused(&mut server, PROJECT, 403);
    let r = gitlab(&server)
        .env("REQUIRE", "builds-passed")
        .env("REQUIRED_BUILDS", "auto")
        .run();
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("REQUIRED_BUILDS=auto") && r.stderr.contains("read_api") && r.stderr.contains("403"),
        "{}",
        r.stderr
    );
    assert!(!r.everything().contains(TOKEN));
}

// ---- FRESH_APPROVALS: approved_at against the MR's diff versions ----

/// Two pushes: OLD at 09:00, then the current head at 10:00.
fn two_versions() -> Value {
    json!([
        version(12, COMMIT, "2026-11-02T10:00:00.000Z"),
        version(11, OLD, "2026-11-02T09:00:00.000Z")
    ])
}

/// Rita approved the current head; Sam approved OLD, and then came a push.
fn rita_and_sam() -> Vec<(Value, Option<&'static str>)> {
    vec![
        (user("Rita Reviewer", 2), Some("2026-11-02T10:30:00.000Z")),
        (user("Sam Stale", 3), Some("2026-11-02T09:30:00.000Z")),
    ]
}

#[test]
fn an_approval_followed_by_a_push_is_stale_and_does_not_count() {
    let mut server = Server::new();
    let served = serve(&mut server, mr(7, Some("mergeable")), approvals(0, 0, rita_and_sam()));
    let versions = get(
        &mut server,
        &format!("{PROJECT}/merge_requests/7/versions"),
        two_versions(),
    )
    .expect(1);
    let r = gitlab(&server)
        .env("REQUIRE", "approved")
        .env("MIN_APPROVALS", "2")
        .env("FRESH_APPROVALS", "true")
        .run();
    assert_eq!(r.code, 1, "only Rita's counts: {}", r.stderr);
    served.assert();
    versions.assert();
    assert_eq!(sent(&r), 6, "the versions, with the MR");
    let p = &r.summary()["pull_requests"][0];
    assert_eq!(
        p["reviewers"],
        json!([
            {"name": "Rita Reviewer", "state": "approved", "approved_at": "2026-11-02T10:30:00.000Z",
             "commit": COMMIT, "stale": false},
            {"name": "Sam Stale", "state": "approved", "approved_at": "2026-11-02T09:30:00.000Z",
             "commit": OLD, "stale": true}
        ])
    );

    for (fresh, min, code) in [("true", "1", 0), ("false", "2", 0)] {
        let mut server = Server::new();
        serve(&mut server, mr(7, Some("mergeable")), approvals(0, 0, rita_and_sam()));
        get(
            &mut server,
            &format!("{PROJECT}/merge_requests/7/versions"),
            two_versions(),
        );
        let r = gitlab(&server)
            .env("REQUIRE", "approved")
            .env("MIN_APPROVALS", min)
            .env("FRESH_APPROVALS", fresh)
            .run();
        assert_eq!(
            r.code, code,
            "FRESH_APPROVALS={fresh} MIN_APPROVALS={min}: {}",
            r.stderr
        );
    }
}

#[test]
fn an_approval_after_a_push_gitlab_has_not_recorded_yet_is_stale() {
    // The MR's head is COMMIT, but the newest diff version is still OLD's (GitLab records it
    // after the push): an approval given meanwhile was given looking at OLD.
    let mut server = Server::new();
    serve(
        &mut server,
        mr(7, Some("mergeable")),
        approvals(0, 0, vec![(user("Rita Reviewer", 2), Some("2026-11-02T10:30:00.000Z"))]),
    );
    get(
        &mut server,
        &format!("{PROJECT}/merge_requests/7/versions"),
        json!([version(11, OLD, "2026-11-02T09:00:00.000Z")]),
    );
    let r = gitlab(&server)
        .env("REQUIRE", "approved")
        .env("FRESH_APPROVALS", "true")
        .run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    let rita = &r.summary()["pull_requests"][0]["reviewers"][0];
    assert_eq!((&rita["commit"], &rita["stale"]), (&json!(OLD), &json!(true)));
}

#[test]
fn an_approval_without_a_time_is_not_known_fresh() {
    // Servers before approved_at: at which head the approval was given cannot be known.
    let mut server = Server::new();
    serve(
        &mut server,
        mr(7, Some("mergeable")),
        approvals(0, 0, vec![(user("Rita Reviewer", 2), None)]),
    );
    get(
        &mut server,
        &format!("{PROJECT}/merge_requests/7/versions"),
        two_versions(),
    );
    let r = gitlab(&server)
        .env("REQUIRE", "approved")
        .env("FRESH_APPROVALS", "true")
        .run();
    assert_eq!(r.code, 1, "unknown freshness does not count: {}", r.stderr);
    let rita = &r.summary()["pull_requests"][0]["reviewers"][0];
    assert_eq!(
        (&rita["approved_at"], &rita["commit"], &rita["stale"]),
        (&Value::Null, &Value::Null, &json!(false))
    );

    // The same approval with its time, after the last push: known fresh.
    let mut server = Server::new();
    serve(&mut server, mr(7, Some("mergeable")), approvals(0, 0, one_approver()));
    get(
        &mut server,
        &format!("{PROJECT}/merge_requests/7/versions"),
        two_versions(),
    );
    let r = gitlab(&server)
        .env("REQUIRE", "approved")
        .env("FRESH_APPROVALS", "true")
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rita = &r.summary()["pull_requests"][0]["reviewers"][0];
    assert_eq!((&rita["commit"], &rita["stale"]), (&json!(COMMIT), &json!(false)));
}

/// `GET /projects/:id/approvals` (the project's approval settings).
fn approval_settings(reset: bool) -> Value {
    json!({"approvers": [], "approver_groups": [], "approvals_before_merge": 0,
           "reset_approvals_on_push": reset, "selective_code_owner_removals": false,
           "disable_overriding_approvers_per_merge_request": false,
           "merge_requests_author_approval": false, "merge_requests_disable_committers_approval": false,
           "require_password_to_approve": false})
}

#[test]
fn fresh_approvals_auto_follows_reset_approvals_on_push() {
    let mut server = Server::new();
    let served = serve(&mut server, mr(7, Some("mergeable")), approvals(0, 0, rita_and_sam()));
    let settings = get(&mut server, &format!("{PROJECT}/approvals"), approval_settings(true)).expect(1);
    let versions = get(
        &mut server,
        &format!("{PROJECT}/merge_requests/7/versions"),
        two_versions(),
    )
    .expect(1);
    let r = gitlab(&server)
        .env("REQUIRE", "approved")
        .env("MIN_APPROVALS", "2")
        .env("FRESH_APPROVALS", "auto")
        .run();
    assert_eq!(r.code, 1, "approvals reset on push: Sam's is stale: {}", r.stderr);
    served.assert();
    settings.assert();
    versions.assert();
    assert_eq!(sent(&r), 7);

    // Not reset on push: every approval counts, and the versions are not needed. The settings
    // are read with the commit's list, so the MR's round trip already knows.
    let mut server = Server::new();
    serve(&mut server, mr(7, Some("mergeable")), approvals(0, 0, rita_and_sam()));
    get(&mut server, &format!("{PROJECT}/approvals"), approval_settings(false)).expect(1);
    let versions = server
        .mock("GET", format!("{PROJECT}/merge_requests/7/versions").as_str())
        .match_query(Matcher::Any)
        .expect(0)
        .create();
    let r = gitlab(&server)
        .env("REQUIRE", "approved")
        .env("MIN_APPROVALS", "2")
        .env("FRESH_APPROVALS", "auto")
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    versions.assert();
    assert_eq!(sent(&r), 6);
}

#[test]
fn fresh_approvals_auto_refused_names_the_maintainer_role() {
    let mut server = Server::new();
    serve(&mut server, mr(7, Some("mergeable")), approvals(0, 0, rita_and_sam()));
    refused(&mut server, &format!("{PROJECT}/approvals"), 403);
    get(
        &mut server,
        &format!("{PROJECT}/merge_requests/7/versions"),
        two_versions(),
    );
    let r = gitlab(&server)
        .env("REQUIRE", "approved")
        .env("FRESH_APPROVALS", "auto")
        .run();
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("FRESH_APPROVALS=auto") && r.stderr.contains("Maintainer") && r.stderr.contains("read_api"),
        "{}",
        r.stderr
    );
    assert_eq!(r.summary()["error"]["kind"], "auth");

    // A server without project approval settings (the Community Edition): not silently false.
    let mut server = Server::new();
    serve(&mut server, mr(7, Some("mergeable")), approvals(0, 0, rita_and_sam()));
    refused(&mut server, &format!("{PROJECT}/approvals"), 404);
    get(
        &mut server,
        &format!("{PROJECT}/merge_requests/7/versions"),
        two_versions(),
    );
    let r = gitlab(&server)
        .env("REQUIRE", "approved")
        .env("FRESH_APPROVALS", "auto")
        .run();
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("FRESH_APPROVALS=true or false"), "{}", r.stderr);
}

// ---- the merge request of the pipeline (CI_MERGE_REQUEST_IID) ----

#[test]
fn in_a_merge_request_pipeline_everything_is_one_round_trip() {
    let mut server = Server::new();
    let list = server
        .mock(
            "GET",
            format!("{PROJECT}/repository/commits/{COMMIT}/merge_requests").as_str(),
        )
        .match_query(Matcher::Any)
        .expect(0)
        .create();
    let served = [
        get(
            &mut server,
            &format!("{PROJECT}/merge_requests/7"),
            mr(7, Some("mergeable")),
        )
        .expect(1),
        get(
            &mut server,
            &format!("{PROJECT}/merge_requests/7/approvals"),
            approvals(1, 0, rita_and_sam()),
        )
        .expect(1),
        get(&mut server, &format!("{PROJECT}/merge_requests/7/reviewers"), json!([])).expect(1),
        get(
            &mut server,
            &format!("{PROJECT}/repository/commits/{COMMIT}/statuses"),
            json!([]),
        )
        .expect(1),
        get(&mut server, PROJECT, project(true)).expect(1),
        get(&mut server, &format!("{PROJECT}/approvals"), approval_settings(true)).expect(1),
        get(
            &mut server,
            &format!("{PROJECT}/merge_requests/7/versions"),
            two_versions(),
        )
        .expect(1),
    ];
    let r = gitlab(&server)
        .env("CI_MERGE_REQUEST_IID", "7")
        .env("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "feature/x")
        .env("CI_PIPELINE_ID", "507")
        .env("REQUIRE", "mergeable,approved,builds-passed")
        .env("MIN_APPROVALS", "auto")
        .env("REQUIRED_BUILDS", "auto")
        .env("FRESH_APPROVALS", "auto")
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    list.assert();
    for m in &served {
        m.assert();
    }
    assert_eq!(sent(&r), 7, "all in one round trip: nothing depends on another answer");
    let s = r.summary();
    assert_eq!(
        (s["min_approvals"].as_u64(), s["min_approvals_source"].as_str()),
        (Some(1), Some("rules"))
    );
    assert_eq!(s["pull_requests"][0]["approvals"], 2);
}
