//! Azure DevOps end to end: the real binary against a local mockito server whose answers are
//! shaped after Microsoft's REST reference (API 7.1: Pull Requests, Pull Request Query, Pull
//! Request Statuses, Threads, Iterations, Policy Evaluations; fixtures in
//! tests/fixtures/azure_devops/). Each vote, each state, both credentials with their exact
//! headers, the refusals (401, 403, 404 and the 203 sign-in page), the continuation-token and
//! `$skip` paging, the running build, the repository's policies as the merge verdict and rules,
//! the approvals' evidence, and the Azure Pipelines logging commands checked against injection.
//! Request counts are exact.

mod common;

use common::*;
use mockito::{Matcher, Mock, Server};
use serde_json::{json, Value};

const REPO: &str = "3411ebc1-d5aa-464f-9615-0b527bc66719";
const PROJECT_ID: &str = "a7573007-bbb3-4341-b726-0c4148a07853";
const EVALUATIONS: &str = "/fabrikam/Fabrikam/_apis/policy/evaluations";
/// The PR's head before its last push (iteration 1).
const OLD: &str = "1111111111111111111111111111111111111111";
/// The running build (`BUILD_BUILDID`).
const OWN_BUILD: u64 = 900;

fn repo_path(rest: &str) -> String {
    format!("/fabrikam/Fabrikam/_apis/git/repositories/{REPO}{rest}")
}

/// A branch build in Azure Pipelines, with the job's access token mapped.
fn azure(server: &Server) -> Step {
    step()
        .env("TF_BUILD", "True")
        .env("SYSTEM_COLLECTIONURI", format!("{}/fabrikam/", server.url()))
        .env("SYSTEM_TEAMPROJECT", "Fabrikam")
        .env("BUILD_REPOSITORY_ID", REPO)
        .env("BUILD_REPOSITORY_PROVIDER", "TfsGit")
        .env("BUILD_SOURCEVERSION", COMMIT)
        .env("BUILD_BUILDID", OWN_BUILD.to_string())
        .env("SYSTEM_ACCESSTOKEN", TOKEN)
        .env("HTTP_TIMEOUT", "30")
        .env("DEBUG", "true")
}

/// The same in a PR build of PR 22 (`SYSTEM_TEAMPROJECTID` set, as Azure Pipelines does).
fn pr_build(server: &Server) -> Step {
    azure(server)
        .env("SYSTEM_PULLREQUEST_PULLREQUESTID", "22")
        .env("SYSTEM_PULLREQUEST_SOURCECOMMITID", COMMIT)
        .env("SYSTEM_TEAMPROJECTID", PROJECT_ID)
        .env("BUILD_SOURCEVERSION", "39f52d24533cc712fc845ed9fd1b6c06b3942588")
}

fn reviewer(name: &str, id: &str, vote: i64) -> Value {
    json!({"reviewerUrl": format!("https://dev.azure.com/fabrikam/_apis/git/repositories/{REPO}/pullRequests/22/reviewers/{id}"),
           "vote": vote, "hasDeclined": false, "isFlagged": false, "displayName": name,
           "id": id, "uniqueName": format!("{}@fabrikam.example", name.to_lowercase().replace(' ', "."))})
}

/// PR 22 (Microsoft's example) with `status` and, after the author's own approval, `reviewers`.
fn pr(status: &str, reviewers: Vec<Value>) -> Value {
    let mut p: Value = serde_json::from_str(&fixture("azure_devops/pull_request.json")).unwrap();
    p["status"] = json!(status);
    p["reviewers"].as_array_mut().unwrap().extend(reviewers);
    p
}

fn evaluations() -> Value {
    serde_json::from_str(&fixture("azure_devops/policy_evaluations.json")).unwrap()
}

/// The evaluations with the minimum-reviewer policy's and the build policy's status.
fn evaluations_with(reviewers: &str, build: &str) -> Value {
    let mut e = evaluations();
    e["value"][0]["status"] = json!(reviewers);
    e["value"][1]["status"] = json!(build);
    e
}

fn get(server: &mut Server, path: &str, body: Value) -> Mock {
    server
        .mock("GET", path)
        .match_query(Matcher::UrlEncoded("api-version".into(), "7.1".into()))
        .match_header("authorization", format!("Bearer {TOKEN}").as_str())
        .with_header("content-type", "application/json; charset=utf-8")
        .with_body(body.to_string())
        .expect(1)
        .create()
}

fn evaluations_mock(server: &mut Server, body: Value) -> Mock {
    server
        .mock("GET", EVALUATIONS)
        .match_query(Matcher::AllOf(vec![
            Matcher::UrlEncoded(
                "artifactId".into(),
                format!("vstfs:///CodeReview/CodeReviewId/{PROJECT_ID}/22"),
            ),
            Matcher::UrlEncoded("api-version".into(), "7.1-preview.1".into()),
        ]))
        .with_header("content-type", "application/json; charset=utf-8")
        .with_body(body.to_string())
        .expect(1)
        .create()
}

/// The pull request query, answering `prs` for the commit.
fn query_mock(server: &mut Server, prs: Vec<Value>) -> Mock {
    server
        .mock("POST", repo_path("/pullrequestquery").as_str())
        .match_query(Matcher::UrlEncoded("api-version".into(), "7.1-preview.1".into()))
        .match_header("content-type", "application/json")
        .match_body(Matcher::Json(json!({"queries": [
            {"type": "commit", "items": [COMMIT]},
            {"type": "lastMergeCommit", "items": [COMMIT]}
        ]})))
        .with_header("content-type", "application/json; charset=utf-8")
        .with_body(
            json!({"queries": [{"type": "commit", "items": [COMMIT], "results": []}],
                   "results": [{COMMIT: prs}, {}]})
            .to_string(),
        )
        .expect(1)
        .create()
}

/// Every mock of one PR (22) holding the commit; each expects exactly one request.
struct Served {
    mocks: Vec<Mock>,
}

impl Served {
    fn assert(&self) {
        for m in &self.mocks {
            m.assert();
        }
    }
}

fn statuses() -> Value {
    serde_json::from_str(&fixture("azure_devops/statuses.json")).unwrap()
}

/// The branch-build lookup: query, PR, statuses, evaluations.
fn serve(server: &mut Server, p: Value, evals: Value) -> Served {
    Served {
        mocks: vec![
            query_mock(server, vec![p.clone()]),
            get(server, &repo_path("/pullrequests/22"), p),
            get(server, &repo_path("/pullrequests/22/statuses"), statuses()),
            evaluations_mock(server, evals),
        ],
    }
}

/// The PR build's lookup: PR, statuses, evaluations (no query).
fn serve_pr(server: &mut Server, p: Value, evals: Value) -> Served {
    Served {
        mocks: vec![
            get(server, &repo_path("/pullrequests/22"), p),
            get(server, &repo_path("/pullrequests/22/statuses"), statuses()),
            evaluations_mock(server, evals),
            server
                .mock("POST", repo_path("/pullrequestquery").as_str())
                .match_query(Matcher::Any)
                .expect(0)
                .create(),
        ],
    }
}

fn every_vote() -> Vec<Value> {
    vec![
        reviewer("Ann Approver", "11111111-1111-4111-8111-111111111111", 10),
        reviewer("Sam Suggests", "22222222-2222-4222-8222-222222222222", 5),
        reviewer("Nia Novote", "33333333-3333-4333-8333-333333333333", 0),
        reviewer("Walt Waiting", "44444444-4444-4444-8444-444444444444", -5),
        reviewer("Rex Rejects", "55555555-5555-4555-8555-555555555555", -10),
        json!({"vote": 10, "displayName": "[Fabrikam]\\Fabrikam Team", "isContainer": true,
               "id": "66666666-6666-4666-8666-666666666666", "uniqueName": "vstfs:///Classification/TeamProject/x"}),
    ]
}

// ---- the common lookup ----

#[test]
fn a_commit_s_pull_request_with_every_vote_in_four_requests() {
    let mut server = Server::new();
    let served = serve(&mut server, pr("active", every_vote()), evaluations());
    let r = azure(&server).env("REQUIRE", "open").run();
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    served.assert();
    assert_eq!(sent(&r), 4, "query, PR, statuses, evaluations");
    let s = r.summary();
    assert_eq!(s["provider"], "azure-devops");
    assert_eq!(s["lookup"], "commit");
    assert_eq!(s["repository"]["full_name"], format!("Fabrikam/{REPO}"));
    let p = &s["pull_requests"][0];
    assert_eq!(p["id"], 22);
    assert_eq!(p["state"], "OPEN");
    assert_eq!(p["draft"], false);
    assert_eq!(
        p["url"],
        "https://dev.azure.com/fabrikam/Fabrikam/_git/widget/pullrequest/22"
    );
    assert_eq!(
        (&p["source_branch"], &p["destination_branch"]),
        (&json!("npaulk/my_work"), &json!("main"))
    );
    assert_eq!(p["source_commit"], COMMIT);
    assert_eq!(p["author"], "Normal Paulk");
    // 10 and 5 approve, -5 and -10 request changes; the author's own 10 and the team's
    // (a member's) vote are not counted.
    assert_eq!(
        (p["approvals"].as_u64(), p["changes_requested"].as_u64()),
        (Some(2), Some(2))
    );
    let states: Vec<(&str, &str)> = p["reviewers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [
            ("Ann Approver", "approved"),
            ("Sam Suggests", "approved"),
            ("Nia Novote", "pending"),
            ("Walt Waiting", "changes_requested"),
            ("Rex Rejects", "changes_requested"),
        ]
    );
    let builds: Vec<(&str, &str)> = p["builds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["key"].as_str().unwrap(), b["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        builds,
        [("quality/sonar", "SUCCESSFUL"), ("build-policy/7", "SUCCESSFUL")],
        "the newest status of each context, and the build policy"
    );
    assert_eq!(
        p["builds"][1]["url"],
        format!("{}/fabrikam/Fabrikam/_build/results?buildId=601", server.url())
    );
}

#[test]
fn each_state_maps_to_open_merged_or_declined() {
    for (status, state) in [("active", "OPEN"), ("completed", "MERGED"), ("abandoned", "DECLINED")] {
        let mut server = Server::new();
        let served = serve_pr(&mut server, pr(status, vec![]), evaluations());
        let r = pr_build(&server).run();
        assert_eq!(r.code, 0, "{status}: {}", r.stderr);
        served.assert();
        assert_eq!(sent(&r), 3, "PR, statuses, evaluations in one round trip");
        assert_eq!(r.summary()["lookup"], "pr_id");
        assert_eq!(r.summary()["pull_requests"][0]["state"], state, "{status}");
    }
    let mut server = Server::new();
    let _m = get(&mut server, &repo_path("/pullrequests/22"), pr("notSet", vec![]));
    let _s = get(&mut server, &repo_path("/pullrequests/22/statuses"), statuses());
    let _e = evaluations_mock(&mut server, evaluations());
    let r = pr_build(&server).run();
    assert_eq!(r.code, 4, "an unknown status is a malformed answer: {}", r.stderr);
    assert!(
        r.stderr
            .contains(r#"with status "notSet"; expected active, completed or abandoned"#),
        "{}",
        r.stderr
    );
}

#[test]
fn a_draft_is_reported_as_one() {
    let mut server = Server::new();
    let mut p = pr("active", vec![]);
    p["isDraft"] = json!(true);
    let served = serve_pr(&mut server, p, evaluations());
    let r = pr_build(&server).env("REQUIRE", "not-draft").run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    served.assert();
    assert_eq!(r.summary()["pull_requests"][0]["draft"], true);
}

#[test]
fn a_personal_access_token_is_sent_as_basic_with_an_empty_user() {
    let mut server = Server::new();
    let basic = format!("Basic {}", base64_encode(format!(":{TOKEN}").as_bytes()));
    let p = pr("active", vec![]);
    let mocks: Vec<Mock> = [repo_path("/pullrequests/22"), repo_path("/pullrequests/22/statuses")]
        .iter()
        .zip([p, statuses()])
        .map(|(path, body)| {
            server
                .mock("GET", path.as_str())
                .match_query(Matcher::Any)
                .match_header("authorization", basic.as_str())
                .with_body(body.to_string())
                .expect(1)
                .create()
        })
        .collect();
    let e = server
        .mock("GET", EVALUATIONS)
        .match_query(Matcher::Any)
        .match_header("authorization", basic.as_str())
        .with_body(evaluations().to_string())
        .expect(1)
        .create();
    let r = pr_build(&server)
        .env("SYSTEM_ACCESSTOKEN", "")
        .env("AZURE_DEVOPS_PAT", TOKEN)
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    mocks.iter().for_each(Mock::assert);
    e.assert();
    assert!(!r.everything().contains(TOKEN), "the PAT is secret");
    assert!(!r.everything().contains(&basic[6..]), "its Basic form too");
}

/// Standard base64, for the expected header (the test does not trust the code under test).
fn base64_encode(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

// ---- refusals ----

fn refusing(status: usize, content_type: &str, body: &str) -> (mockito::ServerGuard, Mock) {
    let mut server = Server::new();
    let m = server
        .mock("GET", repo_path("/pullrequests/22").as_str())
        .match_query(Matcher::Any)
        .with_status(status)
        .with_header("content-type", content_type)
        .with_body(body)
        .create();
    let _ = server
        .mock("GET", Matcher::Regex(".*".into()))
        .with_body(r#"{"count":0,"value":[]}"#)
        .create();
    (server, m)
}

#[test]
fn a_refused_job_token_says_to_map_it() {
    let (server, _m) = refusing(
        401,
        "application/json",
        r#"{"message":"TF400813: The user '' is not authorized to access this resource.","typeKey":"UnauthorizedRequestException"}"#,
    );
    let r = pr_build(&server).run();
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("env: SYSTEM_ACCESSTOKEN: $(System.AccessToken)"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("TF400813"),
        "the server's reason is kept: {}",
        r.stderr
    );
    assert!(!r.everything().contains(TOKEN));
    assert_eq!(r.summary()["error"]["kind"], "auth");
}

#[test]
fn a_forbidden_read_names_the_permission() {
    let (server, _m) = refusing(
        403,
        "application/json",
        r#"{"message":"TF401027: You need the Git 'GenericRead' permission to perform this action.","typeKey":"GitNeedsPermissionException"}"#,
    );
    let r = pr_build(&server).run();
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("Read on the repository"), "{}", r.stderr);
    let r = {
        let (server, _m) = refusing(403, "application/json", r#"{"message":"TF401027"}"#);
        pr_build(&server)
            .env("SYSTEM_ACCESSTOKEN", "")
            .env("AZURE_DEVOPS_PAT", TOKEN)
            .run()
    };
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("Code (Read) scope"), "{}", r.stderr);
}

#[test]
fn the_sign_in_page_azure_sends_for_a_bad_pat_is_a_refusal() {
    let page =
        "<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head><body>sign in</body></html>";
    let (server, _m) = refusing(203, "text/html; charset=utf-8", page);
    let r = pr_build(&server)
        .env("SYSTEM_ACCESSTOKEN", "")
        .env("AZURE_DEVOPS_PAT", TOKEN)
        .run();
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("203") && r.stderr.contains("AZURE_DEVOPS_PAT"),
        "{}",
        r.stderr
    );
    assert_eq!(r.summary()["error"]["kind"], "auth");
}

#[test]
fn a_missing_pull_request_names_its_variable() {
    let (server, _m) = refusing(
        404,
        "application/json",
        r#"{"message":"TF401180: The requested pull request was not found.","typeKey":"GitPullRequestNotFoundException"}"#,
    );
    let r = pr_build(&server).run();
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("SYSTEM_PULLREQUEST_PULLREQUESTID"), "{}", r.stderr);
}

#[test]
fn an_unmapped_token_is_a_configuration_error_before_any_request() {
    let server = Server::new();
    let r = pr_build(&server)
        .env("SYSTEM_ACCESSTOKEN", "$(System.AccessToken)")
        .run();
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("env: SYSTEM_ACCESSTOKEN: $(System.AccessToken)"),
        "{}",
        r.stderr
    );
    let r = pr_build(&server).env("SYSTEM_ACCESSTOKEN", "").run();
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("SYSTEM_ACCESSTOKEN") && r.stderr.contains("AZURE_DEVOPS_PAT"),
        "{}",
        r.stderr
    );
    let r = step().env("TF_BUILD", "True").env("SYSTEM_ACCESSTOKEN", TOKEN).run();
    assert_eq!(r.code, 2);
    for v in [
        "SYSTEM_COLLECTIONURI",
        "SYSTEM_TEAMPROJECT",
        "BUILD_REPOSITORY_ID",
        "BUILD_SOURCEVERSION",
    ] {
        assert!(
            r.stderr.contains(v),
            "TF_BUILD=True selects Azure DevOps, which names {v}: {}",
            r.stderr
        );
    }
}

// ---- paging ----

#[test]
fn the_continuation_token_pages_the_evaluations() {
    let mut server = Server::new();
    let mut first = evaluations();
    let second = json!({"count": 1, "value": [first["value"][1].take()]});
    first["value"].as_array_mut().unwrap().pop();
    let page2 = server
        .mock("GET", EVALUATIONS)
        .match_query(Matcher::UrlEncoded("continuationToken".into(), "tok;2]".into()))
        .with_body(second.to_string())
        .expect(1)
        .create();
    let page1 = server
        .mock("GET", EVALUATIONS)
        .match_query(Matcher::UrlEncoded("api-version".into(), "7.1-preview.1".into()))
        .with_header("x-ms-continuationtoken", "tok;2]")
        .with_body(first.to_string())
        .expect(1)
        .create();
    let _p = get(&mut server, &repo_path("/pullrequests/22"), pr("active", vec![]));
    let _s = get(&mut server, &repo_path("/pullrequests/22/statuses"), statuses());
    let r = pr_build(&server).env("REQUIRE", "builds-passed").run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    page1.assert();
    page2.assert();
    assert_eq!(sent(&r), 4);
    let keys: Vec<&str> = r.summary()["pull_requests"][0]["builds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        ["quality/sonar", "build-policy/7"],
        "the build policy came on page 2"
    );
}

#[test]
fn without_the_query_the_active_pull_requests_are_matched_by_head() {
    let mut server = Server::new();
    let query = server
        .mock("POST", repo_path("/pullrequestquery").as_str())
        .match_query(Matcher::Any)
        .with_status(404)
        .with_body(r#"{"message":"API resource location is not registered"}"#)
        .expect(1)
        .create();
    let mut other = pr("active", vec![]);
    other["pullRequestId"] = json!(21);
    other["lastMergeSourceCommit"]["commitId"] = json!(OLD);
    let page: Vec<Value> = (0..100).map(|_| other.clone()).collect();
    let list1 = server
        .mock("GET", repo_path("/pullrequests").as_str())
        .match_query(Matcher::AllOf(vec![
            Matcher::UrlEncoded("searchCriteria.status".into(), "active".into()),
            Matcher::UrlEncoded(
                "searchCriteria.sourceRefName".into(),
                "refs/heads/npaulk/my_work".into(),
            ),
            Matcher::UrlEncoded("$top".into(), "100".into()),
        ]))
        .with_body(json!({"count": 100, "value": page}).to_string())
        .expect(1)
        .create();
    let list2 = server
        .mock("GET", repo_path("/pullrequests").as_str())
        .match_query(Matcher::UrlEncoded("$skip".into(), "100".into()))
        .with_body(json!({"count": 1, "value": [pr("active", vec![])]}).to_string())
        .expect(1)
        .create();
    let _p = get(&mut server, &repo_path("/pullrequests/22"), pr("active", vec![]));
    let _s = get(&mut server, &repo_path("/pullrequests/22/statuses"), statuses());
    let _e = evaluations_mock(&mut server, evaluations());
    let r = azure(&server)
        .env("BUILD_SOURCEBRANCH", "refs/heads/npaulk/my_work")
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    query.assert();
    list1.assert();
    list2.assert();
    assert_eq!(sent(&r), 6, "query, two list pages, PR, statuses, evaluations");
    assert_eq!(r.summary()["lookup"], "branch");
    let ids: Vec<&Value> = r.summary()["pull_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["id"])
        .collect();
    assert_eq!(
        r.summary()["pull_requests"].as_array().unwrap().len(),
        1,
        "only the PR whose head is the commit: {ids:?}"
    );
    assert_eq!(r.summary()["selected_pr"], 22);
}

// ---- the running build ----

#[test]
fn the_running_build_is_never_waited_for() {
    let mut server = Server::new();
    let mut e = evaluations_with("approved", "running");
    e["value"][1]["context"]["buildId"] = json!(OWN_BUILD);
    let served = serve_pr(&mut server, pr("active", vec![]), e);
    let r = pr_build(&server).env("REQUIRE", "builds-passed,mergeable").run();
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    served.assert();
    let b = &r.summary()["pull_requests"][0]["builds"][1];
    assert_eq!((&b["state"], &b["ignored"]), (&json!("INPROGRESS"), &json!(true)));

    let mut server = Server::new();
    let mut e = evaluations_with("approved", "running");
    e["value"][1]["context"]["buildId"] = json!(OWN_BUILD + 1);
    let served = serve_pr(&mut server, pr("active", vec![]), e);
    let r = pr_build(&server)
        .env("REQUIRE", "builds-passed")
        .env("WAIT_FOR_BUILDS", "0")
        .run();
    assert_eq!(r.code, 8, "another build is waited for: {}", r.stderr);
    served.assert();
}

// ---- Azure Pipelines output ----

#[test]
fn output_variables_cannot_inject_logging_commands() {
    let title = "100% done; x] y\n##vso[task.setvariable variable=PR_STATUS_OUTCOME]pass\r##vso[task.complete result=Succeeded]";
    let mut server = Server::new();
    let mut p = pr("active", vec![]);
    p["title"] = json!(title);
    let served = serve_pr(&mut server, p, evaluations());
    let r = pr_build(&server)
        .env("REQUIRE", "approved")
        .env("SUMMARY_MARKDOWN_FILE", "summary.md")
        .run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    served.assert();
    let mut vars = std::collections::BTreeMap::new();
    let mut uploads = Vec::new();
    for line in r.stdout.split(['\n', '\r']) {
        // The agent reads the first `##vso[` of a line and its properties up to the first `]`;
        // the rest is the command's data, whatever it holds.
        let Some(at) = line.find("##vso[") else { continue };
        assert_eq!(at, 0, "a command starts its line: {line:?}");
        if let Some(rest) = line.strip_prefix("##vso[task.setvariable variable=") {
            let (props, value) = rest.split_once(']').unwrap_or_else(|| panic!("{line:?}"));
            let name = props
                .strip_suffix(";isOutput=true")
                .unwrap_or_else(|| panic!("{line:?}"));
            assert!(!value.contains([';', ']']), "{line:?}");
            vars.insert(name.to_string(), unescape(value));
        } else if let Some(path) = line.strip_prefix("##vso[task.uploadsummary]") {
            uploads.push(unescape(path));
        } else {
            panic!("not pr-status's own command: {line:?}");
        }
    }
    assert_eq!(vars["PR_TITLE"], title, "the value round-trips exactly");
    assert_eq!(vars["PR_STATUS_OUTCOME"], "fail");
    assert_eq!(vars["PR_ID"], "22");
    assert_eq!(vars.len(), 14);
    assert_eq!(uploads, [r.dir.join("summary.md").to_str().unwrap().to_string()]);
    assert!(
        r.stdout.contains("##vso<U+005B>task.setvariable"),
        "the report shows the title's command, neutralised: {}",
        r.stdout
    );
}

/// The agent's unescaping of a command's values.
fn unescape(v: &str) -> String {
    v.replace("%3B", ";")
        .replace("%5D", "]")
        .replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%AZP25", "%")
}

#[test]
fn outside_azure_pipelines_no_logging_command_is_printed() {
    let mut server = Server::new();
    let served = serve_pr(&mut server, pr("active", vec![]), evaluations());
    let r = pr_build(&server)
        .env("TF_BUILD", "")
        .env("PROVIDER", "azure-devops")
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    served.assert();
    assert!(!r.stdout.contains("##vso"), "{}", r.stdout);
}

// ---- the repository's rules: policy evaluations ----

#[test]
fn mergeable_follows_the_blocking_policies() {
    let cases = [
        ("approved", "approved", 0, None),
        ("approved", "rejected", 1, Some("CI")),
        ("rejected", "approved", 1, Some("Minimum number of reviewers")),
        ("approved", "broken", 1, Some("CI")),
        ("queued", "approved", 8, None),
        ("approved", "running", 8, None),
        ("notApplicable", "notApplicable", 0, None),
    ];
    for (reviewers, build, code, veto) in cases {
        let mut server = Server::new();
        let served = serve_pr(&mut server, pr("active", vec![]), evaluations_with(reviewers, build));
        let r = pr_build(&server)
            .env("REQUIRE", "mergeable")
            .env("WAIT_FOR_BUILDS", "0")
            .run();
        assert_eq!(r.code, code, "{reviewers}/{build}: {}{}", r.stdout, r.stderr);
        served.assert();
        assert_eq!(sent(&r), 3, "the verdict costs no request");
        let p = &r.summary()["pull_requests"][0];
        let expected = match code {
            0 => json!(true),
            1 => json!(false),
            _ => Value::Null,
        };
        assert_eq!(p["mergeable"], expected, "{reviewers}/{build}");
        match veto {
            Some(rule) => {
                assert_eq!(p["merge_vetoes"][0]["rule"], rule, "{reviewers}/{build}");
                assert!(p["merge_vetoes"][0]["message"].as_str().unwrap().contains(rule));
                assert!(r.stdout.contains(rule), "the veto is shown: {}", r.stdout);
            }
            None => assert_eq!(p["merge_vetoes"], json!([])),
        }
    }
}

#[test]
fn optional_policies_and_merge_conflicts() {
    let mut server = Server::new();
    let mut e = evaluations_with("approved", "rejected");
    e["value"][1]["configuration"]["isBlocking"] = json!(false);
    let served = serve_pr(&mut server, pr("active", vec![]), e);
    let r = pr_build(&server).env("REQUIRE", "mergeable").run();
    assert_eq!(r.code, 0, "an optional policy does not block: {}", r.stderr);
    served.assert();

    let mut server = Server::new();
    let mut p = pr("active", vec![]);
    p["mergeStatus"] = json!("conflicts");
    let served = serve_pr(&mut server, p, evaluations());
    let r = pr_build(&server).env("REQUIRE", "mergeable").run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    served.assert();
    assert_eq!(
        r.summary()["pull_requests"][0]["merge_vetoes"][0]["rule"],
        "mergeStatus"
    );
}

#[test]
fn min_approvals_auto_comes_from_the_minimum_reviewer_policy() {
    for (minimum, code) in [(1, 0), (2, 1)] {
        let mut server = Server::new();
        let mut e = evaluations();
        e["value"][0]["configuration"]["settings"]["minimumApproverCount"] = json!(minimum);
        let votes = vec![reviewer("Ann Approver", "11111111-1111-4111-8111-111111111111", 10)];
        let served = serve_pr(&mut server, pr("active", votes), e);
        let r = pr_build(&server)
            .env("REQUIRE", "approved")
            .env("MIN_APPROVALS", "auto")
            .run();
        assert_eq!(r.code, code, "minimum {minimum}: {}", r.stderr);
        served.assert();
        assert_eq!(sent(&r), 3, "the rules cost no request");
        assert_eq!(r.summary()["min_approvals"], minimum);
        assert_eq!(r.summary()["min_approvals_source"], "rules");
    }
}

#[test]
fn required_builds_auto_are_the_blocking_build_policies() {
    let mut server = Server::new();
    let mut e = evaluations_with("approved", "queued");
    e["value"][1]["context"] = json!({"isExpired": false});
    let served = serve_pr(&mut server, pr("active", vec![]), e);
    let r = pr_build(&server)
        .env("REQUIRE", "builds-passed")
        .env("REQUIRED_BUILDS", "auto")
        .env("WAIT_FOR_BUILDS", "0")
        .run();
    assert_eq!(r.code, 8, "the required build is queued: {}", r.stderr);
    served.assert();
    assert_eq!(r.summary()["required_builds"], json!(["build-policy/7"]));

    let mut server = Server::new();
    let mut e = evaluations();
    e["value"][1]["context"]["isExpired"] = json!(true);
    let served = serve_pr(&mut server, pr("active", vec![]), e);
    let r = pr_build(&server)
        .env("REQUIRE", "builds-passed")
        .env("REQUIRED_BUILDS", "auto")
        .run();
    assert_eq!(r.code, 1, "an expired build is not a success: {}", r.stderr);
    served.assert();
}

// ---- fresh approvals: the vote updates and the iterations ----

/// A vote update as Azure records it: a system thread with the vote and the voter.
fn vote_thread(id: u64, voter: &str, vote: i64, at: &str) -> Value {
    json!({"id": id, "publishedDate": at, "lastUpdatedDate": at, "isDeleted": false,
           "comments": [{"id": 1, "parentCommentId": 0, "author": {"id": voter, "displayName": "someone"},
                         "content": format!("voted {vote}"), "publishedDate": at, "commentType": "system"}],
           "properties": {"CodeReviewThreadType": {"$type": "System.String", "$value": "VoteUpdate"},
                          "CodeReviewVoteResult": {"$type": "System.String", "$value": vote.to_string()},
                          "CodeReviewVotedByIdentity": {"$type": "System.String", "$value": "1"}},
           "identities": {"1": {"id": voter, "displayName": "someone"}}})
}

#[test]
fn fresh_approvals_need_a_vote_at_the_current_head() {
    let ann = "11111111-1111-4111-8111-111111111111";
    let sam = "22222222-2222-4222-8222-222222222222";
    let iterations: Value = serde_json::from_str(&fixture("azure_devops/iterations.json")).unwrap();
    // Ann approved before the second push, Sam after it.
    let threads = json!({"count": 3, "value": [
        {"id": 1, "publishedDate": "2026-11-01T17:00:00Z", "comments": [], "properties": {}},
        vote_thread(2, ann, 10, "2026-11-01T18:00:00.1234567Z"),
        vote_thread(3, sam, 5, "2026-11-02T10:00:00Z"),
    ]});
    for (fresh, min, code) in [("true", "2", 1), ("true", "1", 0), ("false", "2", 0)] {
        let mut server = Server::new();
        let votes = vec![reviewer("Ann Approver", ann, 10), reviewer("Sam Suggests", sam, 5)];
        let served = serve_pr(&mut server, pr("active", votes), evaluations());
        let extra = usize::from(fresh == "true");
        let t = server
            .mock("GET", repo_path("/pullrequests/22/threads").as_str())
            .match_query(Matcher::Any)
            .with_body(threads.to_string())
            .expect(extra)
            .create();
        let i = server
            .mock("GET", repo_path("/pullrequests/22/iterations").as_str())
            .match_query(Matcher::Any)
            .with_body(iterations.to_string())
            .expect(extra)
            .create();
        let r = pr_build(&server)
            .env("REQUIRE", "approved")
            .env("MIN_APPROVALS", min)
            .env("FRESH_APPROVALS", fresh)
            .run();
        assert_eq!(
            r.code, code,
            "FRESH_APPROVALS={fresh} MIN_APPROVALS={min}: {}",
            r.stderr
        );
        served.assert();
        t.assert();
        i.assert();
        assert_eq!(sent(&r), 3 + 2 * extra as u32);
        if fresh == "true" {
            assert_eq!(
                r.summary()["pull_requests"][0]["reviewers"],
                json!([
                    {"name": "Ann Approver", "state": "approved", "approved_at": "2026-11-01T18:00:00.1234567Z",
                     "commit": OLD, "stale": true},
                    {"name": "Sam Suggests", "state": "approved", "approved_at": "2026-11-02T10:00:00Z",
                     "commit": COMMIT, "stale": false}
                ])
            );
        }
    }
}

#[test]
fn fresh_approvals_auto_follows_the_reset_on_push_setting() {
    let ann = "11111111-1111-4111-8111-111111111111";
    for (reset, code) in [(true, 1), (false, 0)] {
        let mut server = Server::new();
        let mut e = evaluations();
        e["value"][0]["configuration"]["settings"]["resetOnSourcePush"] = json!(reset);
        let served = serve_pr(&mut server, pr("active", vec![reviewer("Ann Approver", ann, 10)]), e);
        let threads = json!({"count": 1, "value": [vote_thread(2, ann, 10, "2026-11-01T18:00:00Z")]});
        let iterations: Value = serde_json::from_str(&fixture("azure_devops/iterations.json")).unwrap();
        let _t = get(&mut server, &repo_path("/pullrequests/22/threads"), threads);
        let _i = get(&mut server, &repo_path("/pullrequests/22/iterations"), iterations);
        let r = pr_build(&server)
            .env("REQUIRE", "approved")
            .env("MIN_APPROVALS", "1")
            .env("FRESH_APPROVALS", "auto")
            .run();
        assert_eq!(r.code, code, "resetOnSourcePush {reset}: {}", r.stderr);
        served.assert();
    }
}

// ---- selection ----

#[test]
fn help_and_the_provider_error_name_azure_devops() {
    let r = step().arg("--help").run();
    let flat = format!("{}{}", r.stdout, r.stderr).replace('\n', " ");
    assert!(flat.contains("then TF_BUILD=True; else bitbucket-cloud."), "{flat}");
    assert!(
        flat.contains("gitlab, azure-devops") || flat.contains("azure-devops, bitbucket-cloud"),
        "{flat}"
    );
    assert!(flat.contains("Azure Pipelines"), "{flat}");
    let r = step().env("PROVIDER", "azure").run();
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("azure-devops, bitbucket-cloud"), "{}", r.stderr);
}

// ---- POST_RESULT ----

#[test]
fn the_verdict_is_posted_once_as_the_pr_status() {
    let mut server = Server::new();
    let served = serve_pr(&mut server, pr("active", vec![]), evaluations());
    let post = server
        .mock("POST", repo_path("/pullrequests/22/statuses").as_str())
        .match_query(Matcher::UrlEncoded("api-version".into(), "7.1".into()))
        .match_header("authorization", format!("Bearer {TOKEN}").as_str())
        .match_body(Matcher::PartialJson(
            json!({"state": "succeeded", "context": {"name": "pr-status"}}),
        ))
        .with_status(201)
        .with_body(r#"{"id": 3, "state": "succeeded", "context": {"name": "pr-status"}}"#)
        .expect(1)
        .create();
    let r = pr_build(&server)
        .env("REQUIRE", "open")
        .env("POST_RESULT", "true")
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    served.assert();
    post.assert();
    assert_eq!(sent(&r), 3, "the lookup; the one post is the mock's");

    let mut server = Server::new();
    let served = serve_pr(&mut server, pr("active", vec![]), evaluations());
    let post = server
        .mock("POST", repo_path("/pullrequests/22/statuses").as_str())
        .match_query(Matcher::Any)
        .with_status(403)
        .with_body(
            r#"{"message":"TF401027: You need the Git 'PullRequestContribute' permission to perform this action."}"#,
        )
        .expect(1)
        .create();
    let r = pr_build(&server)
        .env("REQUIRE", "open")
        .env("POST_RESULT", "true")
        .run();
    assert_eq!(
        r.code, 0,
        "a refused post is a warning, never the verdict: {}",
        r.stderr
    );
    served.assert();
    post.assert();
    assert!(r.stderr.contains("Contribute to pull requests"), "{}", r.stderr);
}
