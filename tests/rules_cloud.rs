//! Bitbucket Cloud's own merge rules, end to end (docs/rules-bitbucket-cloud.md): the verdict
//! of `REQUIRE=mergeable` computed from the branch restrictions (`.../branch-restrictions`,
//! matched by glob or by branching model), `MIN_APPROVALS=auto`, `REQUIRED_BUILDS=auto`,
//! `FRESH_APPROVALS=true|auto` and the reviewers' evidence (`participated_on` against the head
//! commit's date).
//!
//! The answers are shaped after Atlassian's Bitbucket Cloud OpenAPI description. With
//! `PR_STATUS_CONTRACT=1` every request and answer goes through `prism proxy --errors` in front
//! of the mock (`Api::cloud`). The round-trip test uses a small local server that holds one
//! answer until other requests have arrived: proof that they were sent at the same time,
//! without timing anything.
//!
//! Request counts come from the binary itself (`DEBUG=true` prints "N HTTP request(s) so
//! far"), which a proxy forwarding twice cannot change.

mod common;

use common::*;
use mockito::{Matcher, Mock, Server, ServerGuard};
use serde_json::{json, Value};

const REPO: &str = "/2.0/repositories/acme/widget";
/// The head commit's date; approvals before it were given at an older head.
const HEAD_DATE: &str = "2026-11-02T12:00:00+00:00";
const BEFORE_PUSH: &str = "2026-11-02T11:00:00.000000+00:00";
const AFTER_PUSH: &str = "2026-11-02T13:00:00.000000+00:00";

fn path(rest: &str) -> String {
    format!("{REPO}{rest}")
}

fn ok(mock: Mock, body: impl Into<String>) -> Mock {
    mock.match_query(Matcher::Any)
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(body.into())
}

fn answer(mock: Mock, status: usize, body: Value) -> Mock {
    mock.match_query(Matcher::Any)
        .with_status(status)
        .with_header("content-type", "application/json")
        .with_body(body.to_string())
}

fn user(name: &str, uuid: &str) -> Value {
    json!({"type": "user", "display_name": name, "uuid": uuid, "account_id": format!("acc-{uuid}")})
}

/// A participant with a verdict (`approved`, `changes_requested` or none) given at `on`.
fn participant(name: &str, uuid: &str, state: Option<&str>, on: Option<&str>) -> Value {
    let mut p = json!({"type": "participant", "user": user(name, uuid), "role": "REVIEWER", "approved": state == Some("approved")});
    if let Some(s) = state {
        p["state"] = json!(s);
    }
    if let Some(t) = on {
        p["participated_on"] = json!(t);
    }
    p
}

/// An open PR `id` into `into`, head COMMIT, with these participants.
fn pr(id: u64, into: &str, participants: Vec<Value>) -> Value {
    json!({
        "type": "pullrequest", "id": id, "title": format!("PR {id}"), "state": "OPEN", "draft": false,
        "links": {"html": {"href": format!("https://bitbucket.org/acme/widget/pull-requests/{id}")}},
        "author": user("Ann Author", "{a-1}"),
        "source": {"branch": {"name": "feature/x"}, "commit": {"hash": COMMIT}},
        "destination": {"branch": {"name": into}},
        "created_on": "2026-11-01T10:00:00.000000+00:00",
        "updated_on": format!("2026-11-02T14:00:{:02}.000000+00:00", id % 60),
        "participants": participants, "task_count": 0, "comment_count": 1
    })
}

/// PR 7 into main, approved by Rita after the last push.
fn pr7() -> Value {
    pr(
        7,
        "main",
        vec![participant(
            "Rita Reviewer",
            "{r-1}",
            Some("approved"),
            Some(AFTER_PUSH),
        )],
    )
}

fn status(key: &str, state: &str) -> Value {
    json!({"type": "build", "key": key, "name": format!("{key} build"), "state": state, "url": format!("https://ci.example/{key}")})
}

/// A branch restriction matched by glob.
fn rule(id: u64, kind: &str, pattern: &str, value: Option<u32>) -> Value {
    let mut r = json!({"type": "branchrestriction", "id": id, "kind": kind, "branch_match_kind": "glob", "pattern": pattern, "users": [], "groups": []});
    if let Some(v) = value {
        r["value"] = json!(v);
    }
    r
}

/// A branch restriction matched by branching-model type.
fn model_rule(id: u64, kind: &str, branch_type: &str, value: Option<u32>) -> Value {
    let mut r = rule(id, kind, "", value);
    r["branch_match_kind"] = json!("branching_model");
    r["branch_type"] = json!(branch_type);
    r
}

/// The commit lookup's two requests: the PRs containing COMMIT and COMMIT's statuses.
fn lookup(s: &mut ServerGuard, prs: Vec<Value>, builds: Vec<Value>) -> (Mock, Mock) {
    let index = ok(
        s.mock("GET", path(&format!("/commit/{COMMIT}/pullrequests")).as_str()),
        cloud_page(prs, None),
    )
    .expect_sent(1)
    .create();
    let st = ok(
        s.mock("GET", path(&format!("/commit/{COMMIT}/statuses")).as_str()),
        cloud_page(builds, None),
    )
    .expect_sent(1)
    .create();
    (index, st)
}

fn restrictions(s: &mut ServerGuard, rules: Vec<Value>) -> Mock {
    ok(
        s.mock("GET", path("/branch-restrictions").as_str()),
        cloud_page(rules, None),
    )
    .expect_sent(1)
    .create()
}

fn head_commit(s: &mut ServerGuard) -> Mock {
    ok(
        s.mock("GET", path(&format!("/commit/{COMMIT}")).as_str()),
        json!({"type": "commit", "hash": COMMIT, "date": HEAD_DATE}).to_string(),
    )
    .expect_sent(1)
    .create()
}

fn refusal(message: &str) -> Value {
    json!({"type": "error", "error": {"message": message}})
}

fn cloud(api: &Api) -> Step {
    step()
        .cloud_via(api)
        .env("DEBUG", "true")
        // Several Prism proxies load a large description at once in a contract run: a slow
        // answer must not be retried, or the request counts below would count the retries.
        .env("HTTP_TIMEOUT", "120")
}

fn never(s: &mut ServerGuard, fragment: &str) -> Mock {
    s.mock("GET", Matcher::Regex(fragment.into())).expect(0).create()
}

/// Every rule kind the verdict evaluates, all on main.
fn every_rule() -> Vec<Value> {
    vec![
        rule(1, "require_approvals_to_merge", "main", Some(1)),
        rule(2, "require_passing_builds_to_merge", "main", Some(1)),
        rule(3, "require_tasks_to_be_completed", "main", None),
        rule(4, "require_no_changes_requested", "main", None),
        rule(5, "reset_pullrequest_approvals_on_change", "main", None),
        // Not conditions on the pull request: never vetoes.
        rule(6, "push", "main", None),
        rule(7, "force", "*", None),
        rule(8, "delete", "main", None),
        rule(9, "restrict_merges", "main", None),
    ]
}

// ---- the common path ----

#[test]
fn without_the_rules_settings_the_request_count_is_unchanged() {
    let mut s = Server::new();
    let (index, st) = lookup(&mut s, vec![pr7()], vec![status("ci", "SUCCESSFUL")]);
    let none = [
        never(&mut s, "branch-restrictions"),
        never(&mut s, "branching-model"),
        never(&mut s, "default-reviewers"),
        never(&mut s, &format!("/commit/{COMMIT}$")),
    ];
    let r = cloud(&Api::cloud(&s))
        .env("REQUIRE", "open,approved,builds-passed")
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    index.assert();
    st.assert();
    none.iter().for_each(Mock::assert);
    assert_eq!(sent(&r), 2, "the index and the commit's statuses, as before");
    let p = &r.summary()["pull_requests"][0];
    assert_eq!(p["mergeable"], Value::Null);
    // The time of the approval comes free with the list; the head it was given at is not known.
    assert_eq!(
        p["reviewers"][0],
        json!({"name": "Rita Reviewer", "state": "approved", "approved_at": AFTER_PUSH, "commit": null, "stale": false})
    );
}

// ---- REQUIRE=mergeable ----

#[test]
fn mergeable_passes_when_every_rule_is_met() {
    let mut s = Server::new();
    let _l = lookup(&mut s, vec![pr7()], vec![status("ci", "SUCCESSFUL")]);
    let br = restrictions(&mut s, every_rule());
    let none = [never(&mut s, "branching-model"), never(&mut s, "default-reviewers")];
    let r = cloud(&Api::cloud(&s)).env("REQUIRE", "open,mergeable").run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    br.assert();
    none.iter().for_each(Mock::assert);
    assert_eq!(sent(&r), 3, "the restrictions beside the lookup");
    let p = &r.summary()["pull_requests"][0];
    assert_eq!(p["mergeable"], true);
    assert_eq!(p["merge_vetoes"], json!([]));
}

/// Runs `REQUIRE=mergeable` on `pr` with `rules` and `builds`.
fn mergeable_run(pr: Value, rules: Vec<Value>, builds: Vec<Value>) -> Ran {
    let mut s = Server::new();
    let _l = lookup(&mut s, vec![pr], builds);
    let _br = restrictions(&mut s, rules);
    cloud(&Api::cloud(&s)).env("REQUIRE", "mergeable").run()
}

#[test]
fn each_rule_fails_with_its_veto() {
    let green = || vec![status("ci", "SUCCESSFUL")];
    let mut tasks = pr7();
    tasks["task_count"] = json!(2);
    let changes = pr(
        7,
        "main",
        vec![
            participant("Rita Reviewer", "{r-1}", Some("approved"), Some(AFTER_PUSH)),
            participant("Carl Critic", "{c-1}", Some("changes_requested"), Some(AFTER_PUSH)),
        ],
    );
    let mut merged = pr7();
    merged["state"] = json!("MERGED");
    let cases: Vec<(Value, Vec<Value>, &str, &str)> = vec![
        (
            pr7(),
            green(),
            "require_approvals_to_merge",
            "2 approval(s) are required to merge into main; it has 1",
        ),
        (
            pr7(),
            vec![status("ci", "SUCCESSFUL"), status("lint", "FAILED")],
            "require_passing_builds_to_merge",
            "builds must pass to merge into main; not passed: lint build",
        ),
        (
            tasks,
            green(),
            "require_tasks_to_be_completed",
            "all tasks must be completed to merge into main; 2 are open",
        ),
        (
            changes,
            green(),
            "require_no_changes_requested",
            "no changes may be requested to merge into main; 1 reviewer(s) requested changes",
        ),
        (
            merged,
            green(),
            "not_open",
            "the pull request is MERGED: only an open pull request can be merged",
        ),
    ];
    for (pr, builds, rule_name, message) in cases {
        let mut rules = every_rule();
        rules[0] = rule(
            1,
            "require_approvals_to_merge",
            "main",
            Some(2 - u32::from(rule_name != "require_approvals_to_merge")),
        );
        let r = mergeable_run(pr, rules, builds);
        assert_eq!(r.code, 1, "{rule_name}: {}", r.stderr);
        let p = &r.summary()["pull_requests"][0];
        assert_eq!(p["mergeable"], false, "{rule_name}");
        assert_eq!(
            p["merge_vetoes"],
            json!([{"rule": rule_name, "message": message}]),
            "{rule_name}"
        );
        assert_eq!(p["unmet"], json!(["mergeable"]));
        assert!(r.stdout.contains(message), "{rule_name}: {}", r.stdout);
    }
}

#[test]
fn passing_builds_not_reported_or_running_are_pending() {
    for builds in [vec![], vec![status("ci", "INPROGRESS")]] {
        let running = builds.len();
        let r = mergeable_run(pr7(), every_rule(), builds);
        assert_eq!(r.code, 8, "{}", r.stderr);
        let sum = r.summary();
        assert_eq!(sum["outcome"], "pending");
        let p = &sum["pull_requests"][0];
        assert_eq!(p["mergeable"], Value::Null);
        assert_eq!(
            p["merge_vetoes"],
            json!([{"rule": "require_passing_builds_to_merge", "message": format!(
                "1 passing build(s) and none running are required to merge into main; 0 passed, {running} running"
            )}])
        );
    }
}

#[test]
fn the_running_pipeline_counts_as_passing() {
    // The step runs in pipeline 41, whose status is still in progress: it is the run judging.
    let mut s = Server::new();
    let own = json!({"type": "build", "key": "pipeline-41", "name": "Pipeline #41 for feature/x", "state": "INPROGRESS",
        "url": "https://bitbucket.org/acme/widget/pipelines/results/41"});
    let _l = lookup(&mut s, vec![pr7()], vec![own]);
    let _br = restrictions(&mut s, every_rule());
    let r = cloud(&Api::cloud(&s))
        .env("REQUIRE", "mergeable")
        .env("BITBUCKET_BUILD_NUMBER", "41")
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.summary()["pull_requests"][0]["mergeable"], true);
}

#[test]
fn merge_checks_the_api_cannot_verify_never_pass() {
    let mut rules = every_rule();
    rules.push(rule(10, "require_all_dependencies_merged", "main", None));
    let r = mergeable_run(pr7(), rules, vec![status("ci", "SUCCESSFUL")]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let p = &r.summary()["pull_requests"][0];
    assert_eq!(p["mergeable"], Value::Null);
    assert_eq!(p["merge_vetoes"][0]["rule"], "require_all_dependencies_merged");
    assert!(
        p["merge_vetoes"][0]["message"]
            .as_str()
            .unwrap()
            .contains("cannot be verified through Bitbucket Cloud's API"),
        "{p}"
    );
}

fn default_reviewers(s: &mut ServerGuard, users: Vec<Value>) -> Mock {
    let values = users
        .into_iter()
        .map(|u| json!({"type": "default_reviewer", "reviewer_type": "repository", "user": u}))
        .collect();
    ok(
        s.mock("GET", path("/effective-default-reviewers").as_str()),
        cloud_page(values, None),
    )
    .expect_sent(1)
    .create()
}

#[test]
fn default_reviewer_approvals_count_only_default_reviewers() {
    // Rita approved; Dora is a default reviewer and did not.
    for (defaults, code) in [
        (vec![user("Rita Reviewer", "{r-1}"), user("Dora Default", "{d-1}")], 0),
        (vec![user("Dora Default", "{d-1}")], 1),
    ] {
        let mut s = Server::new();
        let _l = lookup(&mut s, vec![pr7()], vec![]);
        let _br = restrictions(
            &mut s,
            vec![rule(1, "require_default_reviewer_approvals_to_merge", "main", Some(1))],
        );
        let dr = default_reviewers(&mut s, defaults);
        let r = cloud(&Api::cloud(&s)).env("REQUIRE", "mergeable").run();
        assert_eq!(r.code, code, "{}", r.stderr);
        dr.assert();
        assert_eq!(sent(&r), 4, "the default reviewers only because their rule applies");
        if code == 1 {
            assert_eq!(
                r.summary()["pull_requests"][0]["merge_vetoes"],
                json!([{"rule": "require_default_reviewer_approvals_to_merge",
                    "message": "1 approval(s) from default reviewers are required to merge into main; it has 0"}])
            );
        }
    }
}

#[test]
fn default_reviewers_refused_exits_3() {
    let mut s = Server::new();
    let _l = lookup(&mut s, vec![pr7()], vec![]);
    let _br = restrictions(
        &mut s,
        vec![rule(1, "require_default_reviewer_approvals_to_merge", "main", Some(1))],
    );
    let _dr = answer(
        s.mock("GET", path("/effective-default-reviewers").as_str()),
        403,
        refusal("Your credentials lack one or more required privilege scopes."),
    )
    .create();
    let r = cloud(&Api::cloud(&s)).env("REQUIRE", "mergeable").run();
    assert_eq!(r.code, 3, "{}", r.stderr);
    for w in ["effective-default-reviewers", "pullrequest", "REQUIRE=mergeable"] {
        assert!(r.stderr.contains(w), "{w:?} in {}", r.stderr);
    }
}

#[test]
fn restrictions_refused_exit_3_naming_the_scope() {
    // An access token and an API token: each is told what it needs.
    let forms: [(&[(&str, &str)], &str); 2] = [
        (&[], "repository admin permission"),
        (
            &[
                ("BITBUCKET_ACCESS_TOKEN", ""),
                ("BITBUCKET_EMAIL", "ann@example.com"),
                ("BITBUCKET_API_TOKEN", TOKEN),
            ],
            "admin:repository:bitbucket",
        ),
    ];
    for status in [401, 403] {
        for (vars, scope) in &forms {
            let mut s = Server::new();
            let _l = lookup(&mut s, vec![pr7()], vec![]);
            let _br = answer(
                s.mock("GET", path("/branch-restrictions").as_str()),
                status,
                refusal("Your credentials lack one or more required privilege scopes."),
            )
            .create();
            let r = cloud(&Api::cloud(&s))
                .envs(vars.iter().copied())
                .env("REQUIRE", "mergeable")
                .run();
            assert_eq!(r.code, 3, "{status} {scope}: {}", r.stderr);
            assert_eq!(r.summary()["error"]["kind"], "auth");
            for w in [
                *scope,
                "REQUIRE=mergeable",
                "branch-restrictions",
                "`mergeable` and the auto settings need it",
            ] {
                assert!(r.stderr.contains(w), "{w:?} in {}", r.stderr);
            }
            assert!(!r.everything().contains(TOKEN));
        }
    }
}

// ---- which restrictions apply ----

#[test]
fn glob_patterns_match_the_destination_branch() {
    // Two approvals are required on release/*, none on main.
    for (into, code) in [("main", 0), ("release/1.0", 1), ("release/1.0/rc", 1)] {
        let r = mergeable_run(
            pr(
                7,
                into,
                vec![participant(
                    "Rita Reviewer",
                    "{r-1}",
                    Some("approved"),
                    Some(AFTER_PUSH),
                )],
            ),
            vec![rule(1, "require_approvals_to_merge", "release/*", Some(2))],
            vec![],
        );
        assert_eq!(r.code, code, "{into}: {}", r.stderr);
    }
}

#[test]
fn branching_model_types_match_the_destination_branch() {
    let model = json!({
        "type": "branching_model",
        "development": {"name": "develop", "use_mainbranch": false, "branch": {"type": "branch", "name": "develop"}},
        "production": {"name": "main", "use_mainbranch": true, "branch": {"type": "branch", "name": "main"}},
        "branch_types": [{"kind": "release", "prefix": "release/"}, {"kind": "feature", "prefix": "feature/"}]
    });
    let rules = vec![
        model_rule(1, "require_approvals_to_merge", "production", Some(2)),
        model_rule(2, "require_tasks_to_be_completed", "development", None),
        model_rule(3, "require_no_changes_requested", "release", None),
        model_rule(4, "require_approvals_to_merge", "hotfix", Some(5)),
    ];
    let mut tasks = pr(7, "develop", vec![]);
    tasks["task_count"] = json!(1);
    let critic = participant("Carl Critic", "{c-1}", Some("changes_requested"), Some(AFTER_PUSH));
    for (pr, rule_name) in [
        (pr7(), Some("require_approvals_to_merge")),
        (tasks, Some("require_tasks_to_be_completed")),
        (
            pr(7, "release/2.0", vec![critic.clone()]),
            Some("require_no_changes_requested"),
        ),
        // No type matches: no restriction applies.
        (pr(7, "hotfix/9", vec![critic]), None),
    ] {
        let mut s = Server::new();
        let _l = lookup(&mut s, vec![pr], vec![]);
        let _br = restrictions(&mut s, rules.clone());
        let bm = ok(s.mock("GET", path("/branching-model").as_str()), model.to_string())
            .expect_sent(1)
            .create();
        let r = cloud(&Api::cloud(&s)).env("REQUIRE", "mergeable").run();
        bm.assert();
        assert_eq!(sent(&r), 4, "the branching model only because a restriction uses it");
        let p = &r.summary()["pull_requests"][0];
        match rule_name {
            Some(name) => {
                assert_eq!(r.code, 1, "{name}: {}", r.stderr);
                assert_eq!(p["merge_vetoes"][0]["rule"], name, "{p}");
                assert_eq!(p["merge_vetoes"].as_array().unwrap().len(), 1, "{p}");
            }
            None => assert_eq!((r.code, &p["mergeable"]), (0, &json!(true)), "{}", r.stderr),
        }
    }
}

#[test]
fn every_page_of_restrictions_is_read() {
    let mut s = Server::new();
    let _l = lookup(&mut s, vec![pr7()], vec![status("ci", "SUCCESSFUL")]);
    let next = format!("{}{}?pagelen=100&page=2", s.url(), path("/branch-restrictions"));
    let mut first: Value = serde_json::from_str(&cloud_page(
        vec![rule(1, "require_tasks_to_be_completed", "main", None)],
        Some(next),
    ))
    .unwrap();
    first["size"] = json!(2);
    let p1 = s
        .mock("GET", path("/branch-restrictions").as_str())
        .match_query(Matcher::UrlEncoded("pagelen".into(), "100".into()))
        .with_header("content-type", "application/json")
        .with_body(first.to_string())
        .expect_sent(1)
        .create();
    let mut second: Value = serde_json::from_str(&cloud_page(
        vec![rule(2, "require_approvals_to_merge", "main", Some(3))],
        None,
    ))
    .unwrap();
    second["size"] = json!(2);
    second["page"] = json!(2);
    let p2 = s
        .mock("GET", path("/branch-restrictions").as_str())
        .match_query(Matcher::UrlEncoded("page".into(), "2".into()))
        .with_header("content-type", "application/json")
        .with_body(second.to_string())
        .expect_sent(1)
        .create();
    // Direct: the next link points at the mock, past any proxy.
    let r = cloud(&Api::cloud_direct(&s)).env("REQUIRE", "mergeable").run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    p1.assert();
    p2.assert();
    assert_eq!(sent(&r), 4);
    assert_eq!(
        r.summary()["pull_requests"][0]["merge_vetoes"][0]["message"],
        "3 approval(s) are required to merge into main; it has 1"
    );
}

#[test]
fn a_short_or_missing_list_of_restrictions_is_an_error() {
    let mut short: Value = serde_json::from_str(&cloud_page(
        vec![rule(1, "require_tasks_to_be_completed", "main", None)],
        None,
    ))
    .unwrap();
    short["size"] = json!(3);
    for (body, direct) in [
        (short, false),
        (json!({"pagelen": 10, "page": 1}), false),
        (json!({"type": "error"}), true),
    ] {
        let mut s = Server::new();
        let _l = lookup(&mut s, vec![pr7()], vec![]);
        let _br = ok(s.mock("GET", path("/branch-restrictions").as_str()), body.to_string()).create();
        let api = if direct { Api::cloud_direct(&s) } else { Api::cloud(&s) };
        let r = cloud(&api).env("REQUIRE", "mergeable").run();
        assert_eq!(r.code, 4, "{body}: {}", r.stderr);
        assert_eq!(r.summary()["outcome"], "error");
    }
}

// ---- MIN_APPROVALS=auto, REQUIRED_BUILDS=auto ----

#[test]
fn min_approvals_auto_takes_the_highest_applying_value() {
    for (rules, code, used) in [
        (
            vec![
                rule(1, "require_approvals_to_merge", "main", Some(1)),
                rule(2, "require_approvals_to_merge", "ma*", Some(2)),
            ],
            1,
            2,
        ),
        (vec![rule(1, "require_approvals_to_merge", "main", Some(1))], 0, 1),
        (vec![rule(1, "require_approvals_to_merge", "develop", Some(4))], 0, 0),
    ] {
        let mut s = Server::new();
        let _l = lookup(&mut s, vec![pr7()], vec![]);
        let _br = restrictions(&mut s, rules);
        let r = cloud(&Api::cloud(&s))
            .env("REQUIRE", "approved")
            .env("MIN_APPROVALS", "auto")
            .run();
        assert_eq!(r.code, code, "{used}: {}", r.stderr);
        assert_eq!(sent(&r), 3);
        let sum = r.summary();
        assert_eq!(
            (sum["min_approvals"].as_u64(), sum["min_approvals_source"].as_str()),
            (Some(used), Some("rules"))
        );
    }
}

#[test]
fn min_approvals_auto_refused_exits_3() {
    let mut s = Server::new();
    let _l = lookup(&mut s, vec![pr7()], vec![]);
    let _br = answer(
        s.mock("GET", path("/branch-restrictions").as_str()),
        403,
        refusal("Forbidden"),
    )
    .create();
    let r = cloud(&Api::cloud(&s))
        .env("REQUIRE", "approved")
        .env("MIN_APPROVALS", "auto")
        .run();
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("MIN_APPROVALS=auto") && r.stderr.contains("repository:admin"),
        "{}",
        r.stderr
    );
}

#[test]
fn required_builds_auto_counts_passing_builds() {
    let rules = || vec![rule(1, "require_passing_builds_to_merge", "main", Some(2))];
    for (builds, code) in [
        (vec![status("ci", "SUCCESSFUL"), status("lint", "SUCCESSFUL")], 0),
        // One of the two has not reported yet: pending, not a pass.
        (vec![status("ci", "SUCCESSFUL")], 8),
        (vec![status("ci", "SUCCESSFUL"), status("lint", "FAILED")], 1),
    ] {
        let mut s = Server::new();
        let _l = lookup(&mut s, vec![pr7()], builds);
        let _br = restrictions(&mut s, rules());
        let r = cloud(&Api::cloud(&s))
            .env("REQUIRE", "builds-passed")
            .env("REQUIRED_BUILDS", "auto")
            .run();
        assert_eq!(r.code, code, "{}", r.stderr);
        if code == 8 {
            assert!(
                r.summary()["message"]
                    .as_str()
                    .unwrap()
                    .contains("require_passing_builds_to_merge"),
                "{}",
                r.summary()
            );
        }
    }
}

// ---- fresh approvals ----

/// PR 7 approved by Rita after the last push and by Sam before it.
fn pushed_after_approval() -> Value {
    pr(
        7,
        "main",
        vec![
            participant("Rita Reviewer", "{r-1}", Some("approved"), Some(AFTER_PUSH)),
            participant("Sam Stale", "{s-1}", Some("approved"), Some(BEFORE_PUSH)),
        ],
    )
}

#[test]
fn fresh_approvals_count_only_approvals_after_the_head_commit() {
    for (min, code) in [("1", 0), ("2", 1)] {
        let mut s = Server::new();
        let _l = lookup(&mut s, vec![pushed_after_approval()], vec![]);
        let hc = head_commit(&mut s);
        let none = never(&mut s, "branch-restrictions");
        let r = cloud(&Api::cloud(&s))
            .env("REQUIRE", "approved")
            .env("MIN_APPROVALS", min)
            .env("FRESH_APPROVALS", "true")
            .run();
        assert_eq!(r.code, code, "{min}: {}", r.stderr);
        hc.assert();
        none.assert();
        assert_eq!(sent(&r), 3, "one head commit read");
        let p = &r.summary()["pull_requests"][0];
        assert_eq!(p["approvals"], 2);
        assert_eq!(
            p["reviewers"],
            json!([
                {"name": "Rita Reviewer", "state": "approved", "approved_at": AFTER_PUSH, "commit": COMMIT, "stale": false},
                {"name": "Sam Stale", "state": "approved", "approved_at": BEFORE_PUSH, "commit": null, "stale": true},
            ])
        );
    }
}

#[test]
fn an_approval_without_its_time_is_not_fresh() {
    let mut s = Server::new();
    let _l = lookup(
        &mut s,
        vec![pr(
            7,
            "main",
            vec![participant("Rita Reviewer", "{r-1}", Some("approved"), None)],
        )],
        vec![],
    );
    let _hc = head_commit(&mut s);
    let r = cloud(&Api::cloud(&s))
        .env("REQUIRE", "approved")
        .env("FRESH_APPROVALS", "true")
        .run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(
        r.summary()["pull_requests"][0]["reviewers"][0],
        json!({"name": "Rita Reviewer", "state": "approved", "approved_at": null, "commit": null, "stale": false})
    );
}

#[test]
fn fresh_approvals_auto_follows_reset_on_change() {
    // With the reset rule only Rita's approval counts (2 needed: fail); without it both do
    // and the head commit is not read.
    for (reset, code, requests) in [(true, 1, 4), (false, 0, 3)] {
        let mut s = Server::new();
        let _l = lookup(&mut s, vec![pushed_after_approval()], vec![]);
        let mut rules = vec![rule(1, "require_approvals_to_merge", "main", Some(2))];
        if reset {
            rules.push(rule(2, "reset_pullrequest_approvals_on_change", "main", None));
        }
        let _br = restrictions(&mut s, rules);
        let hc = match reset {
            true => head_commit(&mut s),
            false => never(&mut s, &format!("/commit/{COMMIT}$")),
        };
        let r = cloud(&Api::cloud(&s))
            .env("REQUIRE", "approved")
            .env("MIN_APPROVALS", "auto")
            .env("FRESH_APPROVALS", "auto")
            .run();
        assert_eq!(r.code, code, "reset {reset}: {}", r.stderr);
        hc.assert();
        assert_eq!(sent(&r), requests, "reset {reset}");
    }
}

#[test]
fn mergeable_with_min_approvals_auto_and_fresh_approvals_costs_two_requests_more() {
    let mut s = Server::new();
    let _l = lookup(&mut s, vec![pushed_after_approval()], vec![status("ci", "SUCCESSFUL")]);
    let br = restrictions(&mut s, every_rule());
    let hc = head_commit(&mut s);
    let r = cloud(&Api::cloud(&s))
        .env("REQUIRE", "open,approved,mergeable")
        .env("MIN_APPROVALS", "auto")
        .env("FRESH_APPROVALS", "true")
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    br.assert();
    hc.assert();
    assert_eq!(sent(&r), 4, "index, statuses, restrictions, then the head commit");
    assert_eq!(r.summary()["min_approvals"], 1);
}

#[test]
fn a_head_commit_that_cannot_be_read_is_an_error() {
    let mut s = Server::new();
    let _l = lookup(&mut s, vec![pr7()], vec![]);
    let _hc = answer(
        s.mock("GET", path(&format!("/commit/{COMMIT}")).as_str()),
        404,
        refusal("Commit not found"),
    )
    .create();
    let r = cloud(&Api::cloud(&s))
        .env("REQUIRE", "approved")
        .env("FRESH_APPROVALS", "true")
        .run();
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("FRESH_APPROVALS"), "{}", r.stderr);
}

// ---- round trips ----

fn rules_answer(path: &str) -> (u16, String) {
    let body = if path.contains("/pullrequests") {
        cloud_page(vec![pushed_after_approval()], None)
    } else if path.contains("/statuses") {
        cloud_page(vec![status("ci", "SUCCESSFUL")], None)
    } else if path.contains("/branch-restrictions") {
        cloud_page(every_rule(), None)
    } else if path.contains(&format!("/commit/{COMMIT}")) {
        json!({"type": "commit", "hash": COMMIT, "date": HEAD_DATE}).to_string()
    } else {
        return (404, r#"{"type":"error","error":{"message":"no such path"}}"#.into());
    };
    (200, body)
}

#[test]
fn the_restrictions_are_read_in_the_first_round_trip() {
    // The index is answered only once the statuses and the restrictions were asked for: all
    // three requests are in flight together. The head commit's date needs the index's head,
    // so it is the second round trip.
    let server = Holding::start("/pullrequests", &["/statuses", "/branch-restrictions"], rules_answer);
    let r = step()
        .env("BITBUCKET_API_URL", format!("{}/2.0", server.url))
        .env("BITBUCKET_WORKSPACE", "acme")
        .env("BITBUCKET_REPO_SLUG", "widget")
        .env("BITBUCKET_COMMIT", COMMIT)
        .env("BITBUCKET_ACCESS_TOKEN", TOKEN)
        .env("DEBUG", "true")
        .env("REQUIRE", "open,approved,mergeable")
        .env("MIN_APPROVALS", "auto")
        .env("FRESH_APPROVALS", "auto")
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let paths = server.paths();
    assert_eq!(sent(&r), 4, "{paths:?}");
    assert!(
        paths.last().unwrap().starts_with(&format!("{REPO}/commit/{COMMIT}?")),
        "{paths:?}"
    );
}
