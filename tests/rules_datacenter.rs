//! Bitbucket Data Center's own merge rules, end to end (docs/rules-bitbucket-datacenter.md):
//! `REQUIRE=mergeable` (`.../pull-requests/{id}/merge`), `MIN_APPROVALS=auto` and
//! `FRESH_APPROVALS=auto` (`.../settings/pull-requests`), `REQUIRED_BUILDS=auto`
//! (`/rest/required-builds/latest/.../conditions`), and the reviewers' evidence
//! (`lastReviewedCommit`).
//!
//! The answers are shaped after the Data Center 9.2 API description. With
//! `PR_STATUS_CONTRACT=1` every request and answer goes through `prism proxy --errors` in front
//! of the mock (`Api::datacenter`); the few answers the description does not allow go direct
//! (`Api::datacenter_direct`, each with its reason). The round-trip tests use a small local
//! server that holds one answer until other requests have arrived: proof that they were sent
//! at the same time, without timing anything.
//!
//! Request counts come from the binary itself (`DEBUG=true` prints "N HTTP request(s) so
//! far"), which a proxy forwarding twice cannot change.

mod common;

use common::*;
use mockito::{Mock, Server, ServerGuard};
use serde_json::{json, Value};

const KEY: &str = "PROJ";
const SLUG: &str = "widget";
/// The head before the last push: an approval given there is stale.
const OLD: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

fn repo(rest: &str) -> String {
    format!("/rest/api/latest/projects/{KEY}/repos/{SLUG}{rest}")
}

fn list_path() -> String {
    repo(&format!("/commits/{COMMIT}/pull-requests?start=0&limit=100"))
}

fn builds_path(commit: &str) -> String {
    format!("/rest/build-status/latest/commits/{commit}?start=0&limit=100")
}

fn merge_path(id: u64) -> String {
    repo(&format!("/pull-requests/{id}/merge"))
}

fn settings_path() -> String {
    repo("/settings/pull-requests")
}

fn conditions_path(start: u64) -> String {
    format!("/rest/required-builds/latest/projects/{KEY}/repos/{SLUG}/conditions?start={start}&limit=100")
}

fn ok(mock: Mock, body: impl Into<String>) -> Mock {
    mock.with_status(200)
        .with_header("content-type", "application/json;charset=UTF-8")
        .with_body(body.into())
}

fn answer(mock: Mock, status: usize, body: Value) -> Mock {
    mock.with_status(status)
        .with_header("content-type", "application/json;charset=UTF-8")
        .with_body(body.to_string())
}

fn page(values: Vec<Value>, start: u64, next: Option<u64>) -> String {
    let mut p =
        json!({"size": values.len(), "limit": 100, "start": start, "isLastPage": next.is_none(), "values": values});
    if let Some(n) = next {
        p["nextPageStart"] = json!(n);
    }
    p.to_string()
}

fn user(id: u64, name: &str) -> Value {
    json!({"name": name, "displayName": name, "id": id, "slug": name, "active": true, "type": "NORMAL"})
}

/// A reviewer with a verdict given at `at` (`lastReviewedCommit`), or none.
fn reviewer(id: u64, name: &str, status: &str, at: Option<&str>) -> Value {
    let mut r = json!({"user": user(id, name), "role": "REVIEWER", "approved": status == "APPROVED", "status": status});
    if let Some(c) = at {
        r["lastReviewedCommit"] = json!(c);
    }
    r
}

/// An open PR `id` from `topic` into `into`, head COMMIT, with these reviewers.
fn pr(id: u64, into: &str, topic: &str, reviewers: Vec<Value>) -> Value {
    json!({
        "id": id, "version": 3, "title": format!("PR {id}"), "state": "OPEN", "open": true, "closed": false,
        "draft": false, "createdDate": 1_793_606_400_000u64, "updatedDate": 1_793_606_400_000u64 + id,
        "fromRef": {"id": format!("refs/heads/{topic}"), "displayId": topic, "latestCommit": COMMIT, "type": "BRANCH"},
        "toRef": {"id": format!("refs/heads/{into}"), "displayId": into, "latestCommit": "fedcba9876543210fedcba9876543210fedcba98", "type": "BRANCH"},
        "author": {"user": user(101, "ada"), "role": "AUTHOR", "approved": false, "status": "UNAPPROVED"},
        "reviewers": reviewers, "participants": [],
        "properties": {"openTaskCount": 0, "resolvedTaskCount": 0, "commentCount": 0},
        "links": {"self": [{"href": format!("https://bitbucket.example.com/projects/PROJ/repos/widget/pull-requests/{id}")}]}
    })
}

/// PR 7 into main, approved by one reviewer at the current head.
fn pr7() -> Value {
    pr(
        7,
        "main",
        "feature/x",
        vec![reviewer(102, "rita", "APPROVED", Some(COMMIT))],
    )
}

fn build(key: &str, state: &str) -> Value {
    json!({"key": key, "name": key, "state": state, "url": format!("https://ci.example/{key}")})
}

/// The commit lookup's two requests: the PRs containing COMMIT and COMMIT's builds.
fn lookup(s: &mut ServerGuard, prs: Vec<Value>, builds: Vec<Value>) -> (Mock, Mock) {
    let list = ok(s.mock("GET", list_path().as_str()), page(prs, 0, None))
        .expect_sent(1)
        .create();
    let b = ok(s.mock("GET", builds_path(COMMIT).as_str()), page(builds, 0, None))
        .expect_sent(1)
        .create();
    (list, b)
}

/// Data Center's `RestPullRequestMergeability`, plus the `canMerge` real servers send.
fn mergeability(can: bool, conflicted: bool, outcome: &str, vetoes: Vec<(&str, &str)>) -> Value {
    let vetoes: Vec<Value> = vetoes
        .into_iter()
        .map(|(s, d)| json!({"summaryMessage": s, "detailedMessage": d}))
        .collect();
    json!({"canMerge": can, "conflicted": conflicted, "outcome": outcome, "vetoes": vetoes})
}

/// The repository's pull-request settings as 9.2 describes them (`requiredApprovers` an
/// object whose count is a string), with the auto-unapprove setting beside them.
fn settings(min: Option<u32>, unapprove: Option<bool>) -> Value {
    let mut s = json!({
        "mergeConfig": {"defaultStrategy": {"id": "no-ff"}, "strategies": [{"id": "no-ff"}], "type": "repository"},
        "requiredAllApprovers": false,
        "requiredAllTasksComplete": false,
        "requiredApprovers": {"enabled": min.is_some(), "count": min.unwrap_or(0).to_string()},
        "requiredSuccessfulBuilds": {"enabled": false, "count": "0"}
    });
    if let Some(u) = unapprove {
        s["unapproveOnUpdate"] = json!(u);
    }
    s
}

/// A required-builds merge check (`RestRequiredBuildCondition`).
fn condition(id: u64, keys: &[&str], kind: &str, matcher: &str, exempt: Option<(&str, &str)>) -> Value {
    let m = |kind: &str, id: &str| json!({"id": id, "displayId": id.trim_start_matches("refs/heads/"), "type": {"id": kind, "name": kind}});
    let mut c = json!({"id": id, "buildParentKeys": keys, "refMatcher": m(kind, matcher)});
    if let Some((k, x)) = exempt {
        c["exemptRefMatcher"] = m(k, x);
    }
    c
}

fn dc(api: &Api) -> Step {
    step()
        .env("BITBUCKET_SERVER_URL", api.url())
        .env("BITBUCKET_PROJECT_KEY", KEY)
        .env("BITBUCKET_REPO_SLUG", SLUG)
        .env("BITBUCKET_COMMIT", COMMIT)
        .env("BITBUCKET_ACCESS_TOKEN", TOKEN)
        .env("DEBUG", "true")
        // Several Prism proxies load a 1.6 MB description at once in a contract run: a slow
        // answer must not be retried, or the request counts below would count the retries.
        .env("HTTP_TIMEOUT", "120")
}

fn refusal() -> Value {
    json!({"errors": [{"message": "You are not permitted to access this resource", "exceptionName": "com.atlassian.bitbucket.AuthorisationException"}]})
}

fn no_rules_requests(s: &mut ServerGuard) -> Vec<Mock> {
    vec![
        s.mock("GET", mockito::Matcher::Regex("/merge$".into()))
            .expect(0)
            .create(),
        s.mock("GET", mockito::Matcher::Regex("/settings/".into()))
            .expect(0)
            .create(),
        s.mock("GET", mockito::Matcher::Regex("/required-builds/".into()))
            .expect(0)
            .create(),
    ]
}

// ---- the common path ----

#[test]
fn without_the_rules_settings_the_request_count_is_unchanged() {
    let mut s = Server::new();
    let (list, builds) = lookup(&mut s, vec![pr7()], vec![build("ci", "SUCCESSFUL")]);
    let none = no_rules_requests(&mut s);
    let r = dc(&Api::datacenter(&s))
        .env("REQUIRE", "open,approved,builds-passed")
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    list.assert();
    builds.assert();
    none.iter().for_each(Mock::assert);
    assert_eq!(sent(&r), 2, "the list and the commit's builds, as before");
    let sum = r.summary();
    assert_eq!(sum["min_approvals_source"], "setting");
    assert_eq!(sum["pull_requests"][0]["mergeable"], Value::Null);
    // The evidence comes free with the list: the head each reviewer approved, no time.
    assert_eq!(
        sum["pull_requests"][0]["reviewers"][0],
        json!({"name": "rita", "state": "approved", "approved_at": null, "commit": COMMIT, "stale": false})
    );
}

// ---- REQUIRE=mergeable ----

#[test]
fn mergeable_passes_when_data_center_can_merge() {
    let mut s = Server::new();
    let (list, builds) = lookup(&mut s, vec![pr7()], vec![]);
    let merge = ok(
        s.mock("GET", merge_path(7).as_str()),
        mergeability(true, false, "CLEAN", vec![]).to_string(),
    )
    .expect_sent(1)
    .create();
    let r = dc(&Api::datacenter(&s)).env("REQUIRE", "open,mergeable").run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    for m in [&list, &builds, &merge] {
        m.assert();
    }
    assert_eq!(sent(&r), 3, "one verdict request for the one PR");
    let p = &r.summary()["pull_requests"][0];
    assert_eq!(p["mergeable"], true);
    assert_eq!(p["merge_vetoes"], json!([]));
}

#[test]
fn mergeable_with_min_approvals_auto_costs_one_request_more() {
    // The figures of docs/rules-bitbucket-datacenter.md: list + builds + settings, then the
    // verdict (the_rules_are_read_in_the_first_round_trip shows the round trips).
    let mut s = Server::new();
    let _l = lookup(&mut s, vec![pr7()], vec![]);
    let merge = ok(
        s.mock("GET", merge_path(7).as_str()),
        mergeability(true, false, "CLEAN", vec![]).to_string(),
    )
    .expect_sent(1)
    .create();
    let st = ok(
        s.mock("GET", settings_path().as_str()),
        settings(Some(1), Some(true)).to_string(),
    )
    .expect_sent(1)
    .create();
    let r = dc(&Api::datacenter(&s))
        .env("REQUIRE", "open,approved,mergeable")
        .env("MIN_APPROVALS", "auto")
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    merge.assert();
    st.assert();
    assert_eq!(sent(&r), 4);
    assert_eq!(r.summary()["min_approvals"], 1);
}

#[test]
fn mergeable_fails_with_the_vetoes_and_the_conflict() {
    let mut s = Server::new();
    let _l = lookup(&mut s, vec![pr7()], vec![]);
    let vetoes = vec![
        (
            "Not enough approvals",
            "You need 2 approvals before this pull request can be merged.",
        ),
        (
            "Insufficient branch permissions",
            "You have insufficient permissions to merge into 'refs/heads/main'.",
        ),
    ];
    let merge = ok(
        s.mock("GET", merge_path(7).as_str()),
        mergeability(false, true, "CONFLICTED", vetoes).to_string(),
    )
    .expect_sent(1)
    .create();
    let r = dc(&Api::datacenter(&s)).env("REQUIRE", "mergeable").run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    merge.assert();
    let p = &r.summary()["pull_requests"][0];
    assert_eq!(p["mergeable"], false);
    assert_eq!(
        p["merge_vetoes"],
        json!([
            {"rule": "Not enough approvals", "message": "You need 2 approvals before this pull request can be merged."},
            {"rule": "Insufficient branch permissions", "message": "You have insufficient permissions to merge into 'refs/heads/main'."},
            {"rule": "conflicted", "message": "the pull request has conflicts that must be resolved before it can be merged"},
        ])
    );
    assert_eq!(p["unmet"], json!(["mergeable"]));
    assert!(
        r.stdout
            .contains("Not enough approvals: You need 2 approvals before this pull request can be merged."),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("conflicted"), "{}", r.stdout);
}

#[test]
fn mergeable_is_pending_while_data_center_has_not_decided() {
    let mut s = Server::new();
    let _l = lookup(&mut s, vec![pr7()], vec![]);
    let _m = ok(
        s.mock("GET", merge_path(7).as_str()),
        mergeability(false, false, "UNKNOWN", vec![]).to_string(),
    )
    .create();
    let r = dc(&Api::datacenter(&s)).env("REQUIRE", "mergeable").run();
    assert_eq!(r.code, 8, "{}", r.stderr);
    let sum = r.summary();
    assert_eq!(sum["outcome"], "pending");
    assert_eq!(sum["pull_requests"][0]["mergeable"], Value::Null);
    assert!(
        sum["message"].as_str().unwrap().contains("merge verdict"),
        "{}",
        sum["message"]
    );
}

#[test]
fn mergeable_refused_exits_3_naming_the_permission() {
    // 401 is what the description lists for insufficient permissions; a 403 (a proxy, or
    // another version) goes direct and means the same.
    for (status, direct) in [(401, false), (403, true)] {
        let mut s = Server::new();
        let _l = lookup(&mut s, vec![pr7()], vec![]);
        let _m = answer(s.mock("GET", merge_path(7).as_str()), status, refusal()).create();
        let api = if direct {
            Api::datacenter_direct(&s)
        } else {
            Api::datacenter(&s)
        };
        let r = dc(&api).env("REQUIRE", "mergeable").run();
        assert_eq!(r.code, 3, "{status}: {}", r.stderr);
        assert_eq!(r.summary()["error"]["kind"], "auth");
        for w in ["You are not permitted", "REPO_READ", "`mergeable` needs it", "/merge"] {
            assert!(r.stderr.contains(w), "{w:?} in {}", r.stderr);
        }
        assert!(!r.everything().contains(TOKEN));
    }
}

#[test]
fn a_verdict_that_cannot_be_read_is_an_error_not_a_pass() {
    let mut s = Server::new();
    let _l = lookup(&mut s, vec![pr7()], vec![]);
    let _m = answer(
        s.mock("GET", merge_path(7).as_str()),
        404,
        json!({"errors": [{"message": "Pull request 7 does not exist in PROJ/widget."}]}),
    )
    .create();
    let r = dc(&Api::datacenter(&s)).env("REQUIRE", "mergeable").run();
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains("merge verdict of pull request #7 cannot be read") && r.stderr.contains("REQUIRE=mergeable"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_pull_request_that_is_not_open_is_not_asked_about() {
    let mut s = Server::new();
    let mut merged = pr7();
    merged["state"] = json!("MERGED");
    merged["open"] = json!(false);
    merged["closed"] = json!(true);
    let _l = lookup(&mut s, vec![merged], vec![]);
    let none = s.mock("GET", merge_path(7).as_str()).expect(0).create();
    let r = dc(&Api::datacenter(&s)).env("REQUIRE", "mergeable").run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    none.assert();
    assert_eq!(sent(&r), 2);
    let p = &r.summary()["pull_requests"][0];
    assert_eq!(p["mergeable"], false);
    assert_eq!(p["merge_vetoes"][0]["rule"], "not open");
}

#[test]
fn one_verdict_per_open_pull_request() {
    let mut s = Server::new();
    let _l = lookup(&mut s, vec![pr7(), pr(8, "release/1.0", "feature/x", vec![])], vec![]);
    let m7 = ok(
        s.mock("GET", merge_path(7).as_str()),
        mergeability(
            false,
            false,
            "CLEAN",
            vec![("Needs work", "A reviewer asked for changes.")],
        )
        .to_string(),
    )
    .expect_sent(1)
    .create();
    let m8 = ok(
        s.mock("GET", merge_path(8).as_str()),
        mergeability(true, false, "CLEAN", vec![]).to_string(),
    )
    .expect_sent(1)
    .create();
    let r = dc(&Api::datacenter(&s)).env("REQUIRE", "mergeable").run();
    assert_eq!(r.code, 0, "#8 qualifies: {}", r.stderr);
    m7.assert();
    m8.assert();
    assert_eq!(sent(&r), 4);
    assert_eq!(r.summary()["selected_pr"], 8);
    assert_eq!(r.summary()["pull_requests"][0]["merge_vetoes"][0]["rule"], "Needs work");
}

// ---- MIN_APPROVALS=auto ----

#[test]
fn min_approvals_auto_takes_the_minimum_approvals_check() {
    // One approval at the head; the check asks for 2, then for 1, then is disabled.
    for (min, code, used) in [(Some(2), 1, 2), (Some(1), 0, 1), (None, 0, 0)] {
        let mut s = Server::new();
        let _l = lookup(&mut s, vec![pr7()], vec![]);
        let st = ok(
            s.mock("GET", settings_path().as_str()),
            settings(min, Some(true)).to_string(),
        )
        .expect_sent(1)
        .create();
        let r = dc(&Api::datacenter(&s))
            .env("REQUIRE", "approved")
            .env("MIN_APPROVALS", "auto")
            .run();
        assert_eq!(r.code, code, "{min:?}: {}", r.stderr);
        st.assert();
        assert_eq!(sent(&r), 3, "the settings beside the lookup");
        let sum = r.summary();
        assert_eq!(sum["min_approvals"], used);
        assert_eq!(sum["min_approvals_source"], "rules");
        if code == 1 {
            assert_eq!(sum["pull_requests"][0]["unmet"], json!(["approved"]));
        }
    }
}

#[test]
fn min_approvals_auto_reads_an_older_servers_number() {
    // Before the merge check became a hook, `requiredApprovers` was a plain number; the 9.2
    // description has the object form, so this answer goes direct.
    let mut s = Server::new();
    let _l = lookup(&mut s, vec![pr7()], vec![]);
    let _st = ok(
        s.mock("GET", settings_path().as_str()),
        json!({"requiredApprovers": 2, "requiredAllApprovers": false, "unapproveOnUpdate": false}).to_string(),
    )
    .create();
    let r = dc(&Api::datacenter_direct(&s))
        .env("REQUIRE", "approved")
        .env("MIN_APPROVALS", "auto")
        .run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.summary()["min_approvals"], 2);
    // An answer without any minimum is not "no minimum".
    let mut s = Server::new();
    let _l = lookup(&mut s, vec![pr7()], vec![]);
    let _st = ok(
        s.mock("GET", settings_path().as_str()),
        json!({"requiredAllApprovers": false}).to_string(),
    )
    .create();
    let r = dc(&Api::datacenter(&s))
        .env("REQUIRE", "approved")
        .env("MIN_APPROVALS", "auto")
        .run();
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains("requiredApprovers") && r.stderr.contains("MIN_APPROVALS"),
        "{}",
        r.stderr
    );
}

#[test]
fn min_approvals_auto_refused_exits_3_naming_the_permission() {
    let mut s = Server::new();
    let _l = lookup(&mut s, vec![pr7()], vec![]);
    let _st = answer(s.mock("GET", settings_path().as_str()), 401, refusal()).create();
    let r = dc(&Api::datacenter(&s))
        .env("REQUIRE", "approved")
        .env("MIN_APPROVALS", "auto")
        .run();
    assert_eq!(r.code, 3, "{}", r.stderr);
    for w in ["MIN_APPROVALS=auto", "REPO_READ", "settings/pull-requests"] {
        assert!(r.stderr.contains(w), "{w:?} in {}", r.stderr);
    }
    assert_eq!(r.summary()["error"]["kind"], "auth");
}

// ---- fresh approvals ----

/// PR 7: rita approved at the head, sam approved before the last push, pia asked for changes
/// before it.
fn pushed_after_approval() -> Value {
    pr(
        7,
        "main",
        "feature/x",
        vec![
            reviewer(102, "rita", "APPROVED", Some(COMMIT)),
            reviewer(103, "sam", "APPROVED", Some(OLD)),
        ],
    )
}

#[test]
fn fresh_approvals_count_only_the_approvals_at_the_head() {
    for (fresh, min, code) in [("true", "2", 1), ("true", "1", 0), ("false", "2", 0)] {
        let mut s = Server::new();
        let _l = lookup(&mut s, vec![pushed_after_approval()], vec![]);
        let none = no_rules_requests(&mut s);
        let r = dc(&Api::datacenter(&s))
            .env("REQUIRE", "approved")
            .env("MIN_APPROVALS", min)
            .env("FRESH_APPROVALS", fresh)
            .run();
        assert_eq!(
            r.code, code,
            "FRESH_APPROVALS={fresh} MIN_APPROVALS={min}: {}",
            r.stderr
        );
        none.iter().for_each(Mock::assert);
        assert_eq!(sent(&r), 2, "the evidence is in the list: no extra request");
        let p = &r.summary()["pull_requests"][0];
        assert_eq!(p["approvals"], 2);
        assert_eq!(
            p["reviewers"],
            json!([
                {"name": "rita", "state": "approved", "approved_at": null, "commit": COMMIT, "stale": false},
                {"name": "sam", "state": "approved", "approved_at": null, "commit": OLD, "stale": true},
            ])
        );
    }
}

#[test]
fn an_approval_without_a_reviewed_commit_is_not_fresh() {
    let mut s = Server::new();
    let _l = lookup(
        &mut s,
        vec![pr(
            7,
            "main",
            "feature/x",
            vec![reviewer(102, "rita", "APPROVED", None)],
        )],
        vec![],
    );
    let r = dc(&Api::datacenter(&s))
        .env("REQUIRE", "approved")
        .env("FRESH_APPROVALS", "true")
        .run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.summary()["pull_requests"][0]["reviewers"][0]["commit"], Value::Null);
}

#[test]
fn fresh_approvals_auto_follows_unapprove_on_new_changes() {
    for (unapprove, code) in [(true, 1), (false, 0)] {
        let mut s = Server::new();
        let _l = lookup(&mut s, vec![pushed_after_approval()], vec![]);
        let st = ok(
            s.mock("GET", settings_path().as_str()),
            settings(Some(2), Some(unapprove)).to_string(),
        )
        .expect_sent(1)
        .create();
        let r = dc(&Api::datacenter(&s))
            .env("REQUIRE", "approved")
            .env("MIN_APPROVALS", "2")
            .env("FRESH_APPROVALS", "auto")
            .run();
        assert_eq!(r.code, code, "unapproveOnUpdate={unapprove}: {}", r.stderr);
        st.assert();
        assert_eq!(r.summary()["min_approvals_source"], "setting");
    }
    // A server that does not say: an error naming the variable, never a guess.
    let mut s = Server::new();
    let _l = lookup(&mut s, vec![pushed_after_approval()], vec![]);
    let _st = ok(
        s.mock("GET", settings_path().as_str()),
        settings(Some(2), None).to_string(),
    )
    .create();
    let r = dc(&Api::datacenter(&s))
        .env("REQUIRE", "approved")
        .env("FRESH_APPROVALS", "auto")
        .run();
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains("unapproveOnUpdate") && r.stderr.contains("FRESH_APPROVALS"),
        "{}",
        r.stderr
    );
}

#[test]
fn fresh_approvals_auto_refused_exits_3() {
    let mut s = Server::new();
    let _l = lookup(&mut s, vec![pushed_after_approval()], vec![]);
    let _st = answer(s.mock("GET", settings_path().as_str()), 401, refusal()).create();
    let r = dc(&Api::datacenter(&s))
        .env("REQUIRE", "approved")
        .env("FRESH_APPROVALS", "auto")
        .run();
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("FRESH_APPROVALS=auto") && r.stderr.contains("REPO_READ"),
        "{}",
        r.stderr
    );
}

// ---- REQUIRED_BUILDS=auto ----

/// The checks of the repository: `ci-build` into main (feature branches from `hotfix/*`
/// exempt), `release-check` into `release/*`, `lint` everywhere.
fn conditions() -> Vec<Value> {
    vec![
        condition(
            1,
            &["ci-build"],
            "BRANCH",
            "refs/heads/main",
            Some(("PATTERN", "hotfix/*")),
        ),
        condition(2, &["release-check"], "PATTERN", "release/*", None),
        condition(3, &["lint"], "ANY_REF", "ANY_REF_MATCHER_ID", None),
    ]
}

fn builds_run(builds: Vec<Value>, topic: &str) -> Ran {
    let mut s = Server::new();
    let _l = lookup(&mut s, vec![pr(7, "main", topic, vec![])], builds);
    let c = ok(s.mock("GET", conditions_path(0).as_str()), page(conditions(), 0, None))
        .expect_sent(1)
        .create();
    let r = dc(&Api::datacenter(&s))
        .env("REQUIRE", "builds-passed")
        .env("REQUIRED_BUILDS", "auto")
        .run();
    c.assert();
    r
}

#[test]
fn required_builds_auto_not_reported_yet_is_pending() {
    let r = builds_run(vec![build("lint", "SUCCESSFUL")], "feature/x");
    assert_eq!(r.code, 8, "{}", r.stderr);
    assert_eq!(sent(&r), 3, "the checks beside the lookup");
    let sum = r.summary();
    assert_eq!(sum["outcome"], "pending");
    assert_eq!(sum["required_builds"], json!(["ci-build", "lint"]));
    assert!(
        sum["message"].as_str().unwrap().contains("ci-build"),
        "{}",
        sum["message"]
    );
}

#[test]
fn required_builds_auto_passes_and_fails_on_the_required_builds() {
    let r = builds_run(
        vec![build("lint", "SUCCESSFUL"), build("ci-build", "SUCCESSFUL")],
        "feature/x",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let b = &r.summary()["pull_requests"][0]["builds"];
    assert_eq!(
        (b[0]["required"].as_bool(), b[1]["required"].as_bool()),
        (Some(true), Some(true))
    );

    let r = builds_run(
        vec![build("lint", "SUCCESSFUL"), build("ci-build", "FAILED")],
        "feature/x",
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.summary()["pull_requests"][0]["unmet"], json!(["builds-passed"]));

    // From an exempt source branch, ci-build is not required.
    let r = builds_run(vec![build("lint", "SUCCESSFUL")], "hotfix/urgent");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.summary()["required_builds"], json!(["lint"]));
}

#[test]
fn required_builds_auto_reads_every_page_once_for_every_pull_request() {
    let mut s = Server::new();
    let _l = lookup(
        &mut s,
        vec![
            pr(7, "main", "feature/x", vec![]),
            pr(8, "release/2.0", "feature/x", vec![]),
        ],
        vec![build("lint", "SUCCESSFUL"), build("release-check", "INPROGRESS")],
    );
    let all = conditions();
    let first = ok(
        s.mock("GET", conditions_path(0).as_str()),
        page(all[..2].to_vec(), 0, Some(2)),
    )
    .expect_sent(1)
    .create();
    let second = ok(
        s.mock("GET", conditions_path(2).as_str()),
        page(all[2..].to_vec(), 2, None),
    )
    .expect_sent(1)
    .create();
    let r = dc(&Api::datacenter(&s))
        .env("REQUIRE", "builds-passed")
        .env("REQUIRED_BUILDS", "auto")
        .run();
    first.assert();
    second.assert();
    assert_eq!(sent(&r), 4, "two pages of checks for both PRs");
    // #7 into main misses ci-build; #8 into release/2.0 waits on release-check.
    assert_eq!(r.code, 8, "{}", r.stderr);
    assert_eq!(r.summary()["selected_pr"], 8);
    assert_eq!(r.summary()["required_builds"], json!(["release-check", "lint"]));
}

#[test]
fn required_builds_auto_refused_exits_3_naming_the_permission() {
    let mut s = Server::new();
    let _l = lookup(&mut s, vec![pr7()], vec![]);
    let _c = answer(s.mock("GET", conditions_path(0).as_str()), 401, refusal()).create();
    let r = dc(&Api::datacenter(&s))
        .env("REQUIRE", "builds-passed")
        .env("REQUIRED_BUILDS", "auto")
        .run();
    assert_eq!(r.code, 3, "{}", r.stderr);
    for w in ["REQUIRED_BUILDS=auto", "REPO_READ", "required-builds"] {
        assert!(r.stderr.contains(w), "{w:?} in {}", r.stderr);
    }
}

#[test]
fn required_builds_auto_refuses_what_it_cannot_match_or_read() {
    // A check on the branching model's categories: pr-status cannot tell which branches.
    let mut s = Server::new();
    let _l = lookup(&mut s, vec![pr7()], vec![]);
    let _c = ok(
        s.mock("GET", conditions_path(0).as_str()),
        page(
            vec![condition(5, &["ci-build"], "MODEL_CATEGORY", "FEATURE", None)],
            0,
            None,
        ),
    )
    .create();
    let r = dc(&Api::datacenter(&s))
        .env("REQUIRE", "builds-passed")
        .env("REQUIRED_BUILDS", "auto")
        .run();
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("REQUIRED_BUILDS") && r.stderr.contains("MODEL_CATEGORY FEATURE"),
        "{}",
        r.stderr
    );
    // No required-builds resource (a server before 7.14, or a proxy): not "none required".
    // The description lists no 404 here, so the answer goes direct.
    let mut s = Server::new();
    let _l = lookup(&mut s, vec![pr7()], vec![]);
    let _c = answer(
        s.mock("GET", conditions_path(0).as_str()),
        404,
        json!({"errors": [{"message": "Not Found"}]}),
    )
    .create();
    let r = dc(&Api::datacenter_direct(&s))
        .env("REQUIRE", "builds-passed")
        .env("REQUIRED_BUILDS", "auto")
        .run();
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("REQUIRED_BUILDS"), "{}", r.stderr);
}

// ---- round trips ----

fn rules_answer(path: &str) -> (u16, String) {
    let body = if path.contains("/commits/") && path.contains("/pull-requests") {
        page(vec![pr7()], 0, None)
    } else if path.contains("/pull-requests/7/merge") {
        mergeability(true, false, "CLEAN", vec![]).to_string()
    } else if path.contains("/pull-requests/7") {
        pr7().to_string()
    } else if path.contains("/settings/pull-requests") {
        settings(Some(1), Some(true)).to_string()
    } else if path.contains("/required-builds/") {
        page(conditions(), 0, None)
    } else if path.contains("/build-status/") {
        page(
            vec![build("ci-build", "SUCCESSFUL"), build("lint", "SUCCESSFUL")],
            0,
            None,
        )
    } else {
        return (404, r#"{"errors":[{"message":"no such path"}]}"#.into());
    };
    (200, body)
}

fn holding_step(server: &Holding) -> Step {
    step()
        .env("BITBUCKET_SERVER_URL", &server.url)
        .env("BITBUCKET_PROJECT_KEY", KEY)
        .env("BITBUCKET_REPO_SLUG", SLUG)
        .env("BITBUCKET_COMMIT", COMMIT)
        .env("BITBUCKET_ACCESS_TOKEN", TOKEN)
        .env("DEBUG", "true")
        .env("REQUIRE", "open,approved,builds-passed,mergeable")
        .env("MIN_APPROVALS", "auto")
        .env("FRESH_APPROVALS", "auto")
        .env("REQUIRED_BUILDS", "auto")
}

#[test]
fn the_rules_are_read_in_the_first_round_trip() {
    // The list is answered only once the settings and the checks were asked for: all four
    // requests of the first round trip are in flight together. The verdict needs the PR's id,
    // so it is the second round trip.
    let server = Holding::start(
        "/commits/",
        &["/build-status/", "/settings/pull-requests", "/required-builds/"],
        rules_answer,
    );
    let r = holding_step(&server).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(sent(&r), 5, "{:?}", server.paths());
    let paths = server.paths();
    assert!(paths.last().unwrap().ends_with("/pull-requests/7/merge"), "{paths:?}");
    assert_eq!(r.summary()["min_approvals_source"], "rules");
}

#[test]
fn with_the_pr_id_the_verdict_comes_with_the_pull_request() {
    // BITBUCKET_PR_ID and the commit: the PR, its builds, its verdict and the rules in one
    // round trip (the PR's answer waits for all the others).
    let server = Holding::start(
        "/pull-requests/7",
        &[
            "/pull-requests/7/merge",
            "/build-status/",
            "/settings/pull-requests",
            "/required-builds/",
        ],
        rules_answer,
    );
    // The hold applies to the verdict too (its path contains the PR's): it waits for the
    // others like the PR itself, which proves the same.
    let r = holding_step(&server).env("BITBUCKET_PR_ID", "7").run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(sent(&r), 5, "{:?}", server.paths());
    assert_eq!(r.summary()["lookup"], "pr_id");
    // REQUIRE=mergeable alone: 3 requests in that one round trip.
    let server = Holding::start(
        "/pull-requests/7",
        &["/pull-requests/7/merge", "/build-status/"],
        rules_answer,
    );
    let r = holding_step(&server)
        .env("BITBUCKET_PR_ID", "7")
        .env("MIN_APPROVALS", "1")
        .env("FRESH_APPROVALS", "false")
        .env("REQUIRED_BUILDS", "")
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(sent(&r), 3, "{:?}", server.paths());
}

#[test]
fn a_wait_for_builds_reads_the_rules_once() {
    // ci-build runs on the first look and has passed on the second (a poll of the builds
    // only); the full read before the pass reads the builds and the verdict again, never the
    // rules.
    fn answer(path: &str) -> (u16, String) {
        static LOOKS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        if path.contains("/build-status/") {
            let state = match LOOKS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                0 => "INPROGRESS",
                _ => "SUCCESSFUL",
            };
            return (
                200,
                page(vec![build("ci-build", state), build("lint", "SUCCESSFUL")], 0, None),
            );
        }
        rules_answer(path)
    }
    let server = Holding::start("never", &[], answer);
    let r = holding_step(&server)
        .env("WAIT_FOR_BUILDS", "60")
        .env("POLL_INTERVAL", "1")
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let paths = server.paths();
    let count = |frag: &str| paths.iter().filter(|p| p.contains(frag)).count();
    assert_eq!(count("/build-status/"), 3, "{paths:?}");
    assert_eq!(count("/merge"), 2, "{paths:?}");
    assert_eq!(count("/settings/pull-requests"), 1, "{paths:?}");
    assert_eq!(count("/required-builds/"), 1, "{paths:?}");
}
