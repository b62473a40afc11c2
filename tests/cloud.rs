//! Bitbucket Cloud end to end: the real binary against local mockito servers.

mod common;

use base64::Engine as _;
use common::*;
use mockito::{Matcher, Mock, Server};
use serde_json::{json, Value};

fn index_path() -> String {
    format!("/2.0/repositories/acme/widget/commit/{COMMIT}/pullrequests")
}

fn statuses_path(commit: &str) -> String {
    format!("/2.0/repositories/acme/widget/commit/{commit}/statuses")
}

/// A Cloud pull request as the commit index returns it, shaped after the published
/// `pullrequest` schema (with its required `type` fields) so the contract run accepts it.
fn pr(id: u64, head: &str) -> Value {
    json!({
        "type": "pullrequest", "id": id, "title": format!("PR {id}"), "state": "OPEN", "draft": false,
        "links": {"html": {"href": format!("https://bitbucket.org/acme/widget/pull-requests/{id}")}},
        "author": {"type": "user", "display_name": "Ann Author", "uuid": "{a-1}"},
        "source": {"branch": {"name": "feature/x"}, "commit": {"hash": head}},
        "destination": {"branch": {"name": "main"}},
        "created_on": "2026-11-01T10:00:00.000000+00:00",
        "updated_on": format!("2026-11-02T10:00:{:02}.000000+00:00", id % 60),
        "participants": [
            {"type": "participant", "user": {"type": "user", "display_name": "Rita Reviewer", "uuid": "{r-1}"}, "role": "REVIEWER", "approved": true, "state": "approved"},
            {"type": "participant", "user": {"type": "user", "display_name": "Ann Author", "uuid": "{a-1}"}, "role": "PARTICIPANT", "approved": true, "state": "approved"},
            {"type": "participant", "user": {"type": "user", "display_name": "Pat Pending", "uuid": "{p-1}"}, "role": "REVIEWER", "approved": false},
        ],
        "task_count": 0, "comment_count": 4
    })
}

fn status(key: &str, state: &str) -> Value {
    json!({"type": "build", "key": key, "name": format!("{key} build"), "state": state, "url": format!("https://ci.example/{key}")})
}

fn short() -> &'static str {
    &COMMIT[..12]
}

fn mock_index(server: &mut Server, body: String) -> Mock {
    server
        .mock("GET", index_path().as_str())
        .match_query(Matcher::Any)
        .with_header("content-type", "application/json")
        .with_body(body)
        .create()
}

fn mock_statuses(server: &mut Server, commit: &str, statuses: Vec<Value>) -> Mock {
    server
        .mock("GET", statuses_path(commit).as_str())
        .match_query(Matcher::Any)
        .with_header("content-type", "application/json")
        .with_body(cloud_page(statuses, None))
        .create()
}

/// Mocks that fail their `assert()` if any GET or POST reaches the server.
struct NothingSent(Vec<Mock>);

impl NothingSent {
    fn assert(&self) {
        self.0.iter().for_each(Mock::assert);
    }
}

fn nothing_sent(server: &mut Server) -> NothingSent {
    NothingSent(
        ["GET", "POST"]
            .iter()
            .map(|m| server.mock(m, Matcher::Any).expect(0).create())
            .collect(),
    )
}

#[test]
fn access_token_is_sent_as_bearer_and_the_gate_passes() {
    let mut server = Server::new();
    let api = Api::cloud(&server);
    let index = server
        .mock("GET", index_path().as_str())
        .match_header("authorization", format!("Bearer {TOKEN}").as_str())
        .match_header("user-agent", Matcher::Regex("^pr-status/".into()))
        .match_query(Matcher::AllOf(vec![
            Matcher::UrlEncoded("pagelen".into(), "50".into()),
            Matcher::Regex("values.participants.state".into()),
            Matcher::Regex("values.task_count".into()),
        ]))
        .with_header("content-type", "application/json")
        .with_body(cloud_page(vec![pr(7, short())], None))
        .expect_sent(1)
        .create();
    let st = server
        .mock("GET", statuses_path(COMMIT).as_str())
        .match_header("authorization", format!("Bearer {TOKEN}").as_str())
        .match_query(Matcher::Any)
        .with_header("content-type", "application/json")
        .with_body(cloud_page(vec![status("unit", "SUCCESSFUL")], None))
        .expect_sent(1)
        .create();
    let r = step()
        .cloud_via(&api)
        .env(
            "REQUIRE",
            "pr,open,not-draft,approved,no-changes-requested,no-open-tasks,builds-passed",
        )
        .run();
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    index.assert();
    st.assert();
    let s = r.summary();
    assert_eq!(
        (s["outcome"].as_str(), s["lookup"].as_str(), s["selected_pr"].as_u64()),
        (Some("pass"), Some("commit"), Some(7))
    );
    assert_eq!(s["provider"], "bitbucket-cloud");
    assert_eq!(s["repository"]["full_name"], "acme/widget");
    let p = &s["pull_requests"][0];
    assert_eq!(p["approvals"], 1, "the author's own approval does not count");
    assert_eq!(
        p["reviewers"],
        json!([
            {"name": "Rita Reviewer", "state": "approved", "approved_at": null, "commit": null, "stale": false},
            {"name": "Pat Pending", "state": "pending", "approved_at": null, "commit": null, "stale": false}
        ])
    );
    assert_eq!(p["builds"][0]["state"], "SUCCESSFUL");
    assert_eq!(
        p["build_summary"],
        json!({"successful": 1, "failed": 0, "in_progress": 0, "stopped": 0})
    );
    assert_eq!(
        (p["open_tasks"].as_u64(), p["comment_count"].as_u64()),
        (Some(0), Some(4))
    );
    assert!(r.stdout.contains("#7"), "{}", r.stdout);
}

fn basic(user: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"))
    )
}

#[test]
fn api_token_is_sent_as_basic_email_token() {
    let mut server = Server::new();
    let api = Api::cloud(&server);
    let index = server
        .mock("GET", index_path().as_str())
        .match_header("authorization", basic("dev@example.com", "atl-api-token-123").as_str())
        .match_query(Matcher::Any)
        .with_header("content-type", "application/json")
        .with_body(cloud_page(vec![], None))
        .expect_sent(1)
        .create();
    mock_statuses(&mut server, COMMIT, vec![]);
    let r = step()
        .cloud_via(&api)
        .env_remove_token()
        .env("BITBUCKET_EMAIL", "dev@example.com")
        .env("BITBUCKET_API_TOKEN", "atl-api-token-123")
        .env("REQUIRE", "pr")
        .run();
    index.assert();
    assert_eq!(r.code, 1, "no PR: the gate is closed");
    assert_eq!(r.summary()["outcome"], "fail");
}

/// `step().cloud()` sets an access token; these tests need the other forms alone.
trait NoToken {
    fn env_remove_token(self) -> Self;
}

impl NoToken for Step {
    fn env_remove_token(self) -> Self {
        self.env("BITBUCKET_ACCESS_TOKEN", "")
    }
}

#[test]
fn oauth_client_credentials_are_exchanged_for_a_bearer_token() {
    let mut server = Server::new();
    let api = Api::cloud(&server);
    let token = server
        .mock("POST", "/site/oauth2/access_token")
        .match_header("authorization", basic("consumer-key", "consumer-secret-xyz").as_str())
        .match_header("content-type", "application/x-www-form-urlencoded")
        .match_body("grant_type=client_credentials")
        .with_header("content-type", "application/json")
        .with_body(r#"{"access_token":"oauth-access-777","token_type":"bearer","expires_in":7200}"#)
        .expect_sent(1)
        .create();
    let index = server
        .mock("GET", index_path().as_str())
        .match_header("authorization", "Bearer oauth-access-777")
        .match_query(Matcher::Any)
        .with_header("content-type", "application/json")
        .with_body(cloud_page(vec![pr(3, short())], None))
        .expect_sent(1)
        .create();
    mock_statuses(&mut server, COMMIT, vec![]);
    let r = step()
        .cloud_via(&api)
        .env_remove_token()
        .env("BITBUCKET_OAUTH_CLIENT_ID", "consumer-key")
        .env("BITBUCKET_OAUTH_CLIENT_SECRET", "consumer-secret-xyz")
        .env(
            "BITBUCKET_OAUTH_TOKEN_URL",
            format!("{}/site/oauth2/access_token", server.url()),
        )
        .env("DEBUG", "true")
        .run();
    token.assert();
    index.assert();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !r.everything().contains("oauth-access-777"),
        "the exchanged token leaked"
    );
    assert!(!r.everything().contains("consumer-secret-xyz"));
}

#[test]
fn app_password_401_explains_the_removal_and_is_not_retried() {
    let mut server = Server::new();
    let api = Api::cloud(&server);
    let index = server
        .mock("GET", index_path().as_str())
        .match_header("authorization", basic("olduser", "app-pass-456").as_str())
        .match_query(Matcher::Any)
        .with_status(401)
        .with_header("content-type", "application/json")
        .with_body(r#"{"type":"error","error":{"message":"Unauthorized"}}"#)
        .expect_sent(1)
        .create();
    mock_statuses(&mut server, COMMIT, vec![]);
    let r = step()
        .cloud_via(&api)
        .env_remove_token()
        .env("BITBUCKET_USERNAME", "olduser")
        .env("BITBUCKET_APP_PASSWORD", "app-pass-456")
        .run();
    index.assert();
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.contains("app passwords") && r.stderr.contains("BITBUCKET_API_TOKEN"),
        "{}",
        r.stderr
    );
    let s = r.summary();
    assert_eq!(
        (
            s["outcome"].as_str(),
            s["error"]["kind"].as_str(),
            s["error"]["http_status"].as_u64()
        ),
        (Some("error"), Some("auth"), Some(401))
    );
}

#[test]
fn access_token_wins_over_later_credential_forms() {
    let mut server = Server::new();
    let api = Api::cloud(&server);
    let index = server
        .mock("GET", index_path().as_str())
        .match_header("authorization", format!("Bearer {TOKEN}").as_str())
        .match_query(Matcher::Any)
        .with_header("content-type", "application/json")
        .with_body(cloud_page(vec![], None))
        .expect_sent(1)
        .create();
    mock_statuses(&mut server, COMMIT, vec![]);
    let r = step()
        .cloud_via(&api)
        .env("BITBUCKET_EMAIL", "dev@example.com")
        .env("BITBUCKET_API_TOKEN", "atl-api-token-123")
        .env("BITBUCKET_USERNAME", "olduser")
        .env("BITBUCKET_APP_PASSWORD", "app-pass-456")
        .run();
    index.assert();
    assert_eq!(r.code, 0);
}

#[test]
fn forbidden_passes_on_the_server_reason_and_names_scopes() {
    let mut server = Server::new();
    let api = Api::cloud(&server);
    let index = server
        .mock("GET", index_path().as_str())
        .match_query(Matcher::Any)
        .with_status(403)
        .with_header("content-type", "application/json").with_body(r#"{"type":"error","error":{"message":"Your credentials lack one or more required privilege scopes.","detail":{"required":["pullrequest"]}}}"#)
        .expect_sent(1)
        .create();
    mock_statuses(&mut server, COMMIT, vec![]);
    let r = step().cloud_via(&api).run();
    index.assert();
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.contains("lack one or more required privilege scopes"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("pullrequest") && r.stderr.contains("read:pullrequest:bitbucket"),
        "{}",
        r.stderr
    );
    assert_eq!(r.summary()["error"]["http_status"], 403);
}

#[test]
fn no_credentials_is_a_config_error_before_any_request() {
    let mut server = Server::new();
    let api = Api::cloud(&server);
    let none = nothing_sent(&mut server);
    let r = step().cloud_via(&api).env_remove_token().run();
    none.assert();
    assert_eq!(r.code, 2);
    for var in [
        "BITBUCKET_ACCESS_TOKEN",
        "BITBUCKET_EMAIL",
        "BITBUCKET_API_TOKEN",
        "BITBUCKET_OAUTH_CLIENT_ID",
    ] {
        assert!(r.stderr.contains(var), "{var} not named: {}", r.stderr);
    }
    assert_eq!(r.summary()["error"]["kind"], "config");
    assert_eq!(r.stderr.lines().count(), 1, "one clear line: {}", r.stderr);
}

#[test]
fn missing_or_invalid_variables_send_nothing() {
    let cases: &[(&str, &str, &str)] = &[
        ("BITBUCKET_WORKSPACE", "", "BITBUCKET_WORKSPACE"),
        ("BITBUCKET_REPO_SLUG", "", "BITBUCKET_REPO_SLUG"),
        ("BITBUCKET_COMMIT", "", "BITBUCKET_COMMIT"),
        ("BITBUCKET_COMMIT", "not-a-commit", "BITBUCKET_COMMIT"),
        ("BITBUCKET_PR_ID", "abc", "BITBUCKET_PR_ID"),
        ("BITBUCKET_REPO_SLUG", "../../x", "BITBUCKET_REPO_SLUG"),
        ("REQUIRE", "open,shiny", "REQUIRE"),
        ("MIN_APPROVALS", "two", "MIN_APPROVALS"),
        ("WAIT_FOR_BUILDS", "-5", "WAIT_FOR_BUILDS"),
        ("HTTP_TIMEOUT", "0", "HTTP_TIMEOUT"),
        ("DEBUG", "perhaps", "DEBUG"),
        ("BITBUCKET_API_URL", "http://api.example.com/2.0", "BITBUCKET_API_URL"),
    ];
    for (var, value, named) in cases {
        let mut server = Server::new();
        let api = Api::cloud_direct(&server);
        let none = nothing_sent(&mut server);
        let r = step().cloud_via(&api).env(var, value).run();
        none.assert();
        assert_eq!(r.code, 2, "{var}={value}: {}", r.stderr);
        assert!(r.stderr.contains(named), "{var}={value}: {}", r.stderr);
        assert_eq!(r.summary()["exit_code"], 2);
    }
}

#[test]
fn every_page_is_followed() {
    let mut server = Server::new();
    let api = Api::cloud(&server);
    // Links as Bitbucket sends them: absolute, on the API's own origin.
    let link = |n: u32| {
        format!(
            "{}/repositories/acme/widget/commit/{COMMIT}/pullrequests?page={n}",
            api.url()
        )
    };
    let (page2, page3) = (link(2), link(3));
    let p1 = server
        .mock("GET", index_path().as_str())
        .match_query(Matcher::UrlEncoded("pagelen".into(), "50".into()))
        .with_header("content-type", "application/json")
        .with_body(cloud_page(vec![pr(1, short()), pr(2, short())], Some(page2)))
        .expect_sent(1)
        .create();
    let p2 = server
        .mock("GET", index_path().as_str())
        .match_query(Matcher::UrlEncoded("page".into(), "2".into()))
        .with_header("content-type", "application/json")
        .with_body(cloud_page(vec![pr(3, short())], Some(page3)))
        .expect_sent(1)
        .create();
    let p3 = server
        .mock("GET", index_path().as_str())
        .match_query(Matcher::UrlEncoded("page".into(), "3".into()))
        .with_header("content-type", "application/json")
        .with_body(cloud_page(vec![pr(4, short())], None))
        .expect_sent(1)
        .create();
    let st = mock_statuses(&mut server, COMMIT, vec![status("unit", "SUCCESSFUL")]).expect_sent(1);
    let r = step().cloud_via(&api).run();
    p1.assert();
    p2.assert();
    p3.assert();
    st.assert();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ids: Vec<u64> = r.summary()["pull_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![1, 2, 3, 4]);
}

#[test]
fn heads_other_than_the_commit_get_their_own_statuses_once_each() {
    let mut server = Server::new();
    let api = Api::cloud(&server);
    let other = "abcdefabcdef";
    mock_index(
        &mut server,
        cloud_page(vec![pr(1, short()), pr(2, other), pr(3, other)], None),
    );
    let own = mock_statuses(&mut server, COMMIT, vec![status("unit", "SUCCESSFUL")]).expect_sent(1);
    let theirs = mock_statuses(&mut server, other, vec![status("unit", "FAILED")]).expect_sent(1);
    let r = step().cloud_via(&api).env("REQUIRE", "builds-passed").run();
    own.assert();
    theirs.assert();
    let prs = r.summary()["pull_requests"].as_array().unwrap().clone();
    assert_eq!(prs[0]["builds"][0]["state"], "SUCCESSFUL");
    assert_eq!(prs[1]["builds"][0]["state"], "FAILED");
    assert_eq!(prs[2]["unmet"], json!(["builds-passed"]));
    assert_eq!((r.code, r.summary()["selected_pr"].as_u64()), (0, Some(1)));
}

#[test]
fn indexing_202_is_polled_until_the_answer_comes() {
    let mut server = Server::new();
    let api = Api::cloud(&server);
    let busy = server
        .mock("GET", index_path().as_str())
        .match_query(Matcher::Any)
        .with_status(202)
        .with_header("content-type", "application/json")
        .with_body(cloud_page(vec![], None))
        .expect_sent(2)
        .create();
    let ready = mock_index(&mut server, cloud_page(vec![pr(5, short())], None)).expect_sent(1);
    mock_statuses(&mut server, COMMIT, vec![]);
    let r = step().cloud_via(&api).env("INDEX_WAIT", "20").run();
    busy.assert();
    ready.assert();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.summary()["pull_requests"][0]["id"], 5);
}

#[test]
fn indexing_that_outlasts_the_wait_is_pending() {
    let mut server = Server::new();
    let api = Api::cloud(&server);
    server
        .mock("GET", index_path().as_str())
        .match_query(Matcher::Any)
        .with_status(202)
        .with_header("content-type", "application/json")
        .with_body(cloud_page(vec![], None))
        .create();
    mock_statuses(&mut server, COMMIT, vec![]);
    let r = step().cloud_via(&api).env("INDEX_WAIT", "1").run();
    assert_eq!(r.code, 8, "{}", r.stderr);
    let s = r.summary();
    assert_eq!(
        (s["outcome"].as_str(), s["error"]["kind"].as_str()),
        (Some("pending"), Some("api"))
    );
    assert!(r.stderr.contains("indexing"), "{}", r.stderr);
}

fn index_404(server: &mut Server) -> Mock {
    server
        .mock("GET", index_path().as_str())
        .match_query(Matcher::Any)
        .with_status(404)
        .with_header("content-type", "application/json")
        .with_body(r#"{"type":"error","error":{"message":"Not found"}}"#)
        .create()
}

#[test]
fn index_404_falls_back_to_the_branch_open_prs_with_the_commit_as_head() {
    let mut server = Server::new();
    let api = Api::cloud(&server);
    index_404(&mut server);
    mock_statuses(&mut server, COMMIT, vec![status("unit", "SUCCESSFUL")]);
    let branch = server
        .mock("GET", "/2.0/repositories/acme/widget/pullrequests")
        .match_query(Matcher::AllOf(vec![
            Matcher::UrlEncoded("state".into(), "OPEN".into()),
            Matcher::UrlEncoded("q".into(), r#"source.branch.name="feature/x""#.into()),
        ]))
        .with_header("content-type", "application/json")
        .with_body(cloud_page(vec![pr(11, "999999999999"), pr(12, short())], None))
        .expect_sent(1)
        .create();
    let r = step()
        .cloud_via(&api)
        .env("BITBUCKET_BRANCH", "feature/x")
        .env("REQUIRE", "open")
        .run();
    branch.assert();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.summary();
    assert_eq!(s["lookup"], "branch");
    assert_eq!(s["pull_requests"].as_array().unwrap().len(), 1);
    assert_eq!(s["pull_requests"][0]["id"], 12);
}

#[test]
fn index_404_without_a_branch_says_how_to_enable_the_index() {
    let mut server = Server::new();
    let api = Api::cloud(&server);
    index_404(&mut server);
    mock_statuses(&mut server, COMMIT, vec![]);
    let repo = server
        .mock("GET", "/2.0/repositories/acme/widget")
        .match_query(Matcher::Any)
        .with_header("content-type", "application/json")
        .with_body(r#"{"type":"repository","full_name":"acme/widget"}"#)
        .expect_sent(1)
        .create();
    let r = step().cloud_via(&api).run();
    repo.assert();
    assert_eq!(r.code, 4);
    assert!(
        r.stderr.contains("Go to pull request") && r.stderr.contains("BITBUCKET_BRANCH"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.lines().count(), 1);
}

#[test]
fn index_404_on_a_missing_repository_says_so() {
    let mut server = Server::new();
    let api = Api::cloud(&server);
    index_404(&mut server);
    mock_statuses(&mut server, COMMIT, vec![]);
    server
        .mock("GET", "/2.0/repositories/acme/widget")
        .match_query(Matcher::Any)
        .with_status(404)
        .with_header("content-type", "application/json")
        .with_body(r#"{"type":"error","error":{"message":"Repository acme/widget not found"}}"#)
        .create();
    let r = step().cloud_via(&api).run();
    assert_eq!(r.code, 4);
    assert!(r.stderr.contains("acme/widget was not found"), "{}", r.stderr);
    assert_eq!(r.summary()["error"]["http_status"], 404);
}

#[test]
fn pr_id_fetches_that_pr_and_its_statuses_concurrently() {
    let mut server = Server::new();
    let api = Api::cloud(&server);
    let none = server
        .mock("GET", index_path().as_str())
        .match_query(Matcher::Any)
        .expect(0)
        .create();
    let one = server
        .mock("GET", "/2.0/repositories/acme/widget/pullrequests/41")
        .match_query(Matcher::Regex("fields=".into()))
        .with_header("content-type", "application/json")
        .with_body(pr(41, "fedcba987654").to_string())
        .expect_sent(1)
        .create();
    let st = server
        .mock("GET", "/2.0/repositories/acme/widget/pullrequests/41/statuses")
        .match_query(Matcher::Any)
        .with_header("content-type", "application/json")
        .with_body(cloud_page(vec![status("unit", "SUCCESSFUL")], None))
        .expect_sent(1)
        .create();
    let r = step()
        .cloud_via(&api)
        .env("BITBUCKET_PR_ID", "41")
        .env("BITBUCKET_COMMIT", "")
        .env("REQUIRE", "open,approved,builds-passed")
        .run();
    none.assert();
    one.assert();
    st.assert();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        (r.summary()["lookup"].as_str(), r.summary()["selected_pr"].as_u64()),
        (Some("pr_id"), Some(41))
    );
    assert_eq!(r.summary()["pull_requests"][0]["source_commit"], "fedcba987654");
}

#[test]
/// WAIT_FOR_BUILDS polls until the running build ends (without it a running build is pending:
/// tests/cases/bitbucket-cloud/running-build-is-pending).
fn running_builds_are_waited_for() {
    let mut server = Server::new();
    let api = Api::cloud(&server);
    let index = mock_index(&mut server, cloud_page(vec![pr(9, short())], None)).expect_sent(2);
    let first = mock_statuses(&mut server, COMMIT, vec![status("unit", "INPROGRESS")]).expect_sent(1);
    // The poll that sees it pass, and the full read before the pass (the wait's rule).
    let then = mock_statuses(&mut server, COMMIT, vec![status("unit", "SUCCESSFUL")]).expect_sent(2);
    let r = step()
        .cloud_via(&api)
        .env("REQUIRE", "builds-passed")
        .env("WAIT_FOR_BUILDS", "30")
        .env("POLL_INTERVAL", "1")
        .run();
    index.assert();
    first.assert();
    then.assert();
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn all_summary_files_are_written_and_read_back() {
    let mut server = Server::new();
    let api = Api::cloud(&server);
    mock_index(&mut server, cloud_page(vec![pr(9, short())], None));
    mock_statuses(&mut server, COMMIT, vec![status("unit", "SUCCESSFUL")]);
    let s = step().cloud_via(&api);
    let (md, env, out, sum) = (
        s.path("deep/dir/pr.md"),
        s.path("pr.env"),
        s.path("gh-out"),
        s.path("gh-summary"),
    );
    std::fs::write(&out, "earlier=1\n").unwrap();
    let r = s
        .env("REQUIRE", "open,approved")
        .env("SUMMARY_MARKDOWN_FILE", &md)
        .env("SUMMARY_DOTENV_FILE", &env)
        .env("GITHUB_OUTPUT", &out)
        .env("GITHUB_STEP_SUMMARY", &sum)
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let markdown = std::fs::read_to_string(&md).unwrap();
    assert!(
        markdown.contains("| [#9](https://bitbucket.org/acme/widget/pull-requests/9) | PR 9 | OPEN |"),
        "{markdown}"
    );
    let sourced = std::process::Command::new("bash")
        .arg("-c")
        .arg("set -a; . \"$1\"; printf '%s|%s|%s|%s' \"$PR_ID\" \"$PR_STATE\" \"$PR_APPROVALS\" \"$PR_STATUS_OUTCOME\"")
        .arg("x")
        .arg(&env)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&sourced.stdout), "9|OPEN|1|pass");
    let gh = std::fs::read_to_string(&out).unwrap();
    assert!(gh.starts_with("earlier=1\n"), "GITHUB_OUTPUT is appended to");
    for key in [
        "found",
        "count",
        "number",
        "title",
        "state",
        "url",
        "draft",
        "approvals",
        "outcome",
        "exit_code",
        "json",
    ] {
        assert!(gh.contains(&format!("\n{key}<<")), "{key} missing: {gh}");
    }
    assert!(std::fs::read_to_string(&sum).unwrap().contains("pr-status: pass"));
}

#[test]
fn debug_shows_requests_and_decisions_without_secrets() {
    let mut server = Server::new();
    let api = Api::cloud(&server);
    mock_index(&mut server, cloud_page(vec![pr(9, short())], None));
    mock_statuses(&mut server, COMMIT, vec![]);
    let r = step().cloud_via(&api).env("DEBUG", "true").env("REQUIRE", "open").run();
    assert_eq!(r.code, 0);
    assert!(
        r.stderr.contains("-> GET") && r.stderr.contains("/pullrequests") && r.stderr.contains("gate: pass"),
        "{}",
        r.stderr
    );
    assert!(!r.everything().contains(TOKEN), "token leaked");
    let b64 = base64::engine::general_purpose::STANDARD.encode(TOKEN);
    assert!(!r.everything().contains(&b64));
}

/// Plain http goes only to loopback and never through a proxy (issue 9, point 10; the proxy
/// rules and their tests are in docs/network.md and tests/proxy.rs): with every proxy
/// variable pointing at a server that would answer, a loopback API with nothing listening
/// fails with exit 4, and the proxy is never asked.
#[test]
fn plain_http_ignores_the_proxy_variables() {
    let mut proxy = Server::new();
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let index = proxy
        .mock("GET", Matcher::Any)
        .with_header("content-type", "application/json")
        .with_body(cloud_page(vec![pr(5, short())], None))
        .expect(0)
        .create();
    let r = step()
        .cloud(&format!("http://127.0.0.1:{dead}"))
        .env("HTTP_PROXY", proxy.url())
        .env("HTTPS_PROXY", proxy.url())
        .env("ALL_PROXY", proxy.url())
        .env("HTTP_RETRY_DELAY_MS", "1")
        .run();
    index.assert();
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert_eq!(r.summary()["error"]["kind"], "network");
}

/// A server whose `next` link never ends is cut off (the same loop pages every forge).
#[test]
fn endless_paging_is_cut_off() {
    let mut server = Server::new();
    let api = Api::cloud_direct(&server);
    let again = format!(
        "{}/repositories/acme/widget/commit/{COMMIT}/pullrequests?page=2",
        api.url()
    );
    let pages = server
        .mock("GET", index_path().as_str())
        .match_query(Matcher::Any)
        .with_header("content-type", "application/json")
        .with_body(cloud_page(vec![], Some(again)))
        // The first page, read while polling for 202, then the 200 pages the loop allows.
        .expect_sent(201)
        .create();
    mock_statuses(&mut server, COMMIT, vec![]);
    let r = step().cloud_via(&api).run();
    pages.assert();
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("kept sending pages past 200"), "{}", r.stderr);
}

/// An answer without its list is malformed (exit 4), not "no pull requests" (exit 1).
#[test]
fn a_page_without_values_is_malformed_not_empty() {
    let mut server = Server::new();
    let api = Api::cloud_direct(&server);
    mock_index(&mut server, "{}".into());
    mock_statuses(&mut server, COMMIT, vec![]);
    let r = step().cloud_via(&api).env("REQUIRE", "pr").run();
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("malformed"), "{}", r.stderr);
}
