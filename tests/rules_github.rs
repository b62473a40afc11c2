//! GitHub's own merge rules, end to end (docs/rules-github.md): `REQUIRE=mergeable` (the single
//! PR's `mergeable` and `mergeable_state`), `MIN_APPROVALS=auto`, `REQUIRED_BUILDS=auto` and
//! `FRESH_APPROVALS=auto` (`/rules/branches/{branch}`, the classic `/branches/{branch}/protection`
//! and `/branches/{branch}`), and the reviews' evidence (`commit_id`, `submitted_at`).
//!
//! The answers start from tests/fixtures/github/, the smallest answers GitHub's OpenAPI
//! description allows (scripts/github-fixtures.py). With `PR_STATUS_CONTRACT=1` every request
//! and answer goes through `prism proxy --errors` with that description (`Api::github`); the
//! few answers it does not describe go direct (`Api::github_direct`, each with its reason).
//!
//! Request counts come from the binary itself (`DEBUG=true` prints "N HTTP request(s) so
//! far").

mod common;

use common::*;
use mockito::{Matcher, Mock, Server};
use serde_json::{json, Value};

const REPO: &str = "/repos/acme/widget";
/// The head before the last push: a review given there is stale.
const OLD: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

fn gh_fixture(name: &str) -> Value {
    serde_json::from_str(&fixture(&format!("github/{name}.json"))).unwrap()
}

fn user(login: &str, id: u64) -> Value {
    let mut u = gh_fixture("pull-request")["user"].clone();
    u["login"] = json!(login);
    u["id"] = json!(id);
    u["type"] = json!("User");
    u
}

/// Fills the members the lookup reads into a pull request fixture.
fn pr_members(mut p: Value, number: u64, base: &str) -> Value {
    p["number"] = json!(number);
    p["title"] = json!(format!("PR {number}"));
    p["state"] = json!("open");
    p["draft"] = json!(false);
    p["merged_at"] = Value::Null;
    p["html_url"] = json!(format!("https://github.com/acme/widget/pull/{number}"));
    p["user"] = user("ann", 1);
    p["head"]["ref"] = json!("feature/x");
    p["head"]["sha"] = json!(COMMIT);
    p["head"]["user"] = user("ann", 1);
    p["base"]["ref"] = json!(base);
    p["base"]["sha"] = json!("1111111111111111111111111111111111111111");
    p["base"]["user"] = user("acme", 9);
    p["requested_reviewers"] = json!([]);
    p["requested_teams"] = json!([]);
    p
}

/// A PR as `/commits/{sha}/pulls` lists it (no verdict there).
fn listed(number: u64, base: &str) -> Value {
    pr_members(gh_fixture("pull-request-simple"), number, base)
}

/// The single PR (`/pulls/{n}`) with GitHub's verdict.
fn single(number: u64, base: &str, mergeable: Option<bool>, state: &str) -> Value {
    let mut p = pr_members(gh_fixture("pull-request"), number, base);
    p["mergeable"] = json!(mergeable);
    p["mergeable_state"] = json!(state);
    p["merged"] = json!(false);
    p
}

fn review(login: &str, id: u64, state: &str, commit: &str, minute: u32) -> Value {
    let mut r = gh_fixture("pull-request-review");
    r["id"] = json!(minute);
    r["user"] = user(login, id);
    r["state"] = json!(state);
    r["commit_id"] = json!(commit);
    r["submitted_at"] = json!(format!("2026-11-01T11:{minute:02}:00Z"));
    r
}

fn check_run(name: &str, conclusion: &str) -> Value {
    let mut c = gh_fixture("check-run");
    c["name"] = json!(name);
    c["status"] = json!("completed");
    c["conclusion"] = json!(conclusion);
    c["head_sha"] = json!(COMMIT);
    c["details_url"] = json!(format!("https://ci.example/{name}"));
    c
}

fn ok(server: &mut Server, path: &str, body: Value) -> Mock {
    server
        .mock("GET", path)
        .match_query(Matcher::Any)
        .with_header("content-type", "application/json; charset=utf-8")
        .with_body(body.to_string())
}

fn error(server: &mut Server, path: &str, status: usize, message: &str) -> Mock {
    let mut e = gh_fixture("basic-error");
    e["message"] = json!(message);
    e["documentation_url"] = json!("https://docs.github.com/rest");
    server
        .mock("GET", path)
        .match_query(Matcher::Any)
        .with_status(status)
        .with_header("content-type", "application/json; charset=utf-8")
        .with_body(e.to_string())
}

/// The common lookup of one PR (7, into `base`): the list, its reviews and COMMIT's builds.
fn lookup(server: &mut Server, base: &str, reviews: Vec<Value>, runs: Vec<Value>) -> Vec<Mock> {
    let mut status = gh_fixture("combined-commit-status");
    status["sha"] = json!(COMMIT);
    status["state"] = json!("success");
    status["total_count"] = json!(0);
    status["statuses"] = json!([]);
    let runs = json!({"total_count": runs.len(), "check_runs": runs});
    vec![
        ok(
            server,
            &format!("{REPO}/commits/{COMMIT}/pulls"),
            json!([listed(7, base)]),
        )
        .expect_sent(1)
        .create(),
        ok(server, &format!("{REPO}/pulls/7/reviews"), Value::Array(reviews))
            .expect_sent(1)
            .create(),
        ok(server, &format!("{REPO}/commits/{COMMIT}/check-runs"), runs)
            .expect_sent(1)
            .create(),
        ok(server, &format!("{REPO}/commits/{COMMIT}/status"), status)
            .expect_sent(1)
            .create(),
    ]
}

fn approved_at_head() -> Vec<Value> {
    vec![review("rita", 2, "APPROVED", COMMIT, 1)]
}

fn passing() -> Vec<Value> {
    vec![check_run("ci", "success")]
}

/// A ruleset's `pull_request` rule.
fn pr_rule(count: u32, dismiss_stale: bool, last_push: bool) -> Value {
    json!({"type": "pull_request", "ruleset_source_type": "Repository", "ruleset_source": "acme/widget", "ruleset_id": 1,
           "parameters": {"required_approving_review_count": count, "dismiss_stale_reviews_on_push": dismiss_stale,
                          "require_last_push_approval": last_push, "require_code_owner_review": false,
                          "required_review_thread_resolution": false}})
}

fn checks_rule(contexts: &[&str]) -> Value {
    let checks: Vec<Value> = contexts.iter().map(|c| json!({"context": c})).collect();
    json!({"type": "required_status_checks", "ruleset_source_type": "Repository", "ruleset_source": "acme/widget", "ruleset_id": 2,
           "parameters": {"required_status_checks": checks, "strict_required_status_checks_policy": false}})
}

fn branch(name: &str, protected: bool) -> Value {
    let mut b = gh_fixture("branch-with-protection");
    b["name"] = json!(name);
    b["protected"] = json!(protected);
    b
}

/// The classic protection as an administrator reads it.
fn protection(count: u32, dismiss_stale: bool, contexts: &[&str]) -> Value {
    let checks: Vec<Value> = contexts.iter().map(|c| json!({"context": c, "app_id": null})).collect();
    json!({"url": "https://api.github.com/repos/acme/widget/branches/main/protection",
           "required_pull_request_reviews": {"required_approving_review_count": count, "dismiss_stale_reviews": dismiss_stale,
                                             "require_code_owner_reviews": false, "require_last_push_approval": false},
           "required_status_checks": {"strict": false, "contexts": contexts, "checks": checks}})
}

/// The three rules requests of branch main: the rulesets' rules, the classic protection (an
/// answer or a refusal) and the branch.
fn rules(server: &mut Server, rules: Vec<Value>, classic: Result<Value, (usize, &str)>, protected: bool) -> Vec<Mock> {
    let classic = match classic {
        Ok(p) => ok(server, &format!("{REPO}/branches/main/protection"), p),
        Err((status, message)) => error(server, &format!("{REPO}/branches/main/protection"), status, message),
    };
    vec![
        ok(server, &format!("{REPO}/rules/branches/main"), Value::Array(rules))
            .expect_sent(1)
            .create(),
        classic.expect_sent(1).create(),
        ok(server, &format!("{REPO}/branches/main"), branch("main", protected))
            .expect_sent(1)
            .create(),
    ]
}

fn no_rules_requests(server: &mut Server) -> Vec<Mock> {
    let mut out: Vec<Mock> = [format!("{REPO}/pulls/7"), format!("{REPO}/rules/branches/main")]
        .iter()
        .map(|p| {
            server
                .mock("GET", p.as_str())
                .match_query(Matcher::Any)
                .expect(0)
                .create()
        })
        .collect();
    out.push(
        server
            .mock("GET", Matcher::Regex(format!("^{REPO}/branches/")))
            .expect(0)
            .create(),
    );
    out
}

fn github(api: &Api) -> Step {
    step()
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_API_URL", api.url())
        .env("GITHUB_REPOSITORY", "acme/widget")
        .env("GITHUB_SHA", COMMIT)
        .env("GITHUB_TOKEN", TOKEN)
        .env("DEBUG", "true")
        // Prism proxies loading at once in a contract run: a slow answer must not be retried,
        // or the request counts would count the retries.
        .env("HTTP_TIMEOUT", "120")
}

const EVERY_AUTO: [(&str, &str); 3] = [
    ("MIN_APPROVALS", "auto"),
    ("REQUIRED_BUILDS", "auto"),
    ("FRESH_APPROVALS", "auto"),
];

// ---- the common path ----

#[test]
fn without_the_rules_settings_the_request_count_is_unchanged() {
    let mut s = Server::new();
    let common = lookup(&mut s, "main", approved_at_head(), passing());
    let none = no_rules_requests(&mut s);
    let r = github(&Api::github(&s))
        .env("REQUIRE", "open,approved,builds-passed")
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    common.iter().chain(&none).for_each(Mock::assert);
    assert_eq!(
        sent(&r),
        4,
        "the list, the reviews, the check runs and the statuses, as before"
    );
    let p = &r.summary()["pull_requests"][0];
    assert_eq!(p["mergeable"], Value::Null);
    // The evidence comes free with the reviews.
    assert_eq!(
        p["reviewers"][0],
        json!({"name": "rita", "state": "approved", "approved_at": "2026-11-01T11:01:00Z", "commit": COMMIT, "stale": false})
    );
}

// ---- REQUIRE=mergeable ----

#[test]
fn mergeable_passes_when_github_says_clean() {
    for state in ["clean", "has_hooks", "unstable"] {
        let mut s = Server::new();
        let common = lookup(&mut s, "main", approved_at_head(), passing());
        let one = ok(&mut s, &format!("{REPO}/pulls/7"), single(7, "main", Some(true), state))
            .expect_sent(1)
            .create();
        let r = github(&Api::github(&s)).env("REQUIRE", "open,mergeable").run();
        assert_eq!(r.code, 0, "{state}: {}", r.stderr);
        common.iter().for_each(Mock::assert);
        one.assert();
        assert_eq!(sent(&r), 5, "{state}: one request more, the single PR");
        let p = &r.summary()["pull_requests"][0];
        assert_eq!(
            (&p["mergeable"], &p["merge_vetoes"]),
            (&json!(true), &json!([])),
            "{state}"
        );
        assert_valid(r.summary());
    }
}

#[test]
fn mergeable_fails_with_a_veto_named_after_the_state() {
    for (mergeable, state, says) in [
        (false, "dirty", "merge conflicts"),
        (true, "behind", "out of date"),
        (true, "blocked", "required approving reviews, required status checks"),
        (true, "draft", "is a draft"),
        (false, "clean", "not mergeable"),
        (true, "something_new", "does not know"),
    ] {
        let mut s = Server::new();
        let _common = lookup(&mut s, "main", approved_at_head(), passing());
        let api = Api::github(&s);
        let _one = ok(
            &mut s,
            &format!("{REPO}/pulls/7"),
            single(7, "main", Some(mergeable), state),
        )
        .create();
        let r = github(&api).env("REQUIRE", "open,mergeable").run();
        assert_eq!(r.code, 1, "{state}: {}{}", r.stdout, r.stderr);
        let sum = r.summary();
        let p = &sum["pull_requests"][0];
        assert_eq!(p["mergeable"], false, "{state}");
        let rule = if state == "clean" { "clean" } else { state };
        assert_eq!(p["merge_vetoes"][0]["rule"], rule, "{state}");
        let message = p["merge_vetoes"][0]["message"].as_str().unwrap();
        assert!(message.contains(says), "{state}: {message}");
        assert!(sum["message"].as_str().unwrap().contains(says), "{state}: {sum}");
        assert!(r.stdout.contains(says), "{state}: stdout shows the veto: {}", r.stdout);
    }
}

#[test]
fn a_verdict_still_being_computed_is_asked_again_until_it_is_known() {
    let mut s = Server::new();
    let _common = lookup(&mut s, "main", approved_at_head(), passing());
    let computing = ok(&mut s, &format!("{REPO}/pulls/7"), single(7, "main", None, "unknown"))
        .expect_sent(2)
        .create();
    let computed = ok(
        &mut s,
        &format!("{REPO}/pulls/7"),
        single(7, "main", Some(true), "clean"),
    )
    .expect_sent(1)
    .create();
    let r = github(&Api::github(&s))
        .env("REQUIRE", "mergeable")
        .env("INDEX_WAIT", "60")
        .env("HTTP_RETRY_DELAY_MS", "50")
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    computing.assert();
    computed.assert();
    assert!(r.stderr.contains("GitHub is computing mergeable"), "{}", r.stderr);
    assert_eq!(sent(&r), 7, "the single PR twice more; nothing else again");
    assert_eq!(r.summary()["pull_requests"][0]["mergeable"], true);
}

#[test]
fn a_verdict_never_computed_is_pending_not_a_pass() {
    let mut s = Server::new();
    let _common = lookup(&mut s, "main", approved_at_head(), passing());
    let _computing = ok(&mut s, &format!("{REPO}/pulls/7"), single(7, "main", None, "unknown")).create();
    let r = github(&Api::github(&s))
        .env("REQUIRE", "mergeable")
        .env("INDEX_WAIT", "1")
        .env("HTTP_RETRY_DELAY_MS", "50")
        .run();
    assert_eq!(r.code, 8, "{}{}", r.stdout, r.stderr);
    let sum = r.summary();
    assert_eq!(sum["outcome"], "pending");
    assert_eq!(sum["pull_requests"][0]["mergeable"], Value::Null);
    assert!(sum["message"].as_str().unwrap().contains("merge verdict"), "{sum}");
    assert!(sent(&r) >= 6, "asked again at least once: {}", r.stderr);
}

#[test]
fn with_the_event_the_verdict_comes_with_the_pull_request() {
    let mut s = Server::new();
    let one = ok(
        &mut s,
        &format!("{REPO}/pulls/7"),
        single(7, "main", Some(true), "clean"),
    )
    .expect_sent(1)
    .create();
    let mut common = lookup(&mut s, "main", approved_at_head(), passing());
    let list = common.remove(0);
    let api = Api::github(&s);
    let st = github(&api);
    let event = st.path("event.json");
    std::fs::write(
        &event,
        json!({"pull_request": {"number": 7, "head": {"sha": COMMIT}, "base": {"ref": "main"}}}).to_string(),
    )
    .unwrap();
    let r = st
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_EVENT_PATH", &event)
        .env("REQUIRE", "mergeable")
        .envs(EVERY_AUTO)
        .run_with_rules(&mut s);
    assert_eq!(r.code, 0, "{}", r.stderr);
    one.assert();
    common.iter().for_each(Mock::assert);
    assert!(!list.matched(), "no commit lookup for a pull_request event");
    assert_eq!(
        sent(&r),
        7,
        "the PR, its reviews, two build lists and the three rules requests"
    );
}

/// Runs with branch main's rules: one approval, check `ci`, nothing classic.
trait WithRules {
    fn run_with_rules(self, s: &mut Server) -> Ran;
}

impl WithRules for Step {
    fn run_with_rules(self, s: &mut Server) -> Ran {
        let m = rules(
            s,
            vec![pr_rule(1, false, false), checks_rule(&["ci"])],
            Ok(protection(0, false, &[])),
            true,
        );
        let r = self.run();
        m.iter().for_each(Mock::assert);
        r
    }
}

// ---- the rules ----

#[test]
fn every_auto_reads_the_branch_rules_once_beside_the_reviews() {
    let mut s = Server::new();
    let common = lookup(&mut s, "main", approved_at_head(), passing());
    let one = ok(
        &mut s,
        &format!("{REPO}/pulls/7"),
        single(7, "main", Some(true), "clean"),
    )
    .expect_sent(1)
    .create();
    let r = github(&Api::github(&s))
        .env("REQUIRE", "open,approved,builds-passed,mergeable")
        .envs(EVERY_AUTO)
        .run_with_rules(&mut s);
    assert_eq!(r.code, 0, "{}", r.stderr);
    common.iter().for_each(Mock::assert);
    one.assert();
    assert_eq!(sent(&r), 8, "4 common + the single PR + rules, protection and branch");
    let sum = r.summary();
    assert_eq!(sum["min_approvals"], 1);
    assert_eq!(sum["min_approvals_source"], "rules");
    assert_valid(sum);
}

#[test]
fn min_approvals_auto_fails_below_the_rules_count() {
    let mut s = Server::new();
    let _common = lookup(&mut s, "main", approved_at_head(), passing());
    let _rules = rules(
        &mut s,
        vec![pr_rule(2, false, false)],
        Ok(protection(1, false, &[])),
        true,
    );
    let r = github(&Api::github(&s))
        .env("REQUIRE", "approved")
        .env("MIN_APPROVALS", "auto")
        .run();
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert_eq!(sent(&r), 7, "4 common + 3 rules requests");
    assert_eq!(
        r.summary()["min_approvals"],
        2,
        "the higher of the ruleset's and the protection's"
    );
}

#[test]
fn required_builds_auto_waits_for_a_required_check_that_has_not_reported() {
    let mut s = Server::new();
    let _common = lookup(&mut s, "main", approved_at_head(), passing());
    let _rules = rules(
        &mut s,
        vec![checks_rule(&["ci"])],
        Ok(protection(0, false, &["deploy-preview"])),
        true,
    );
    let r = github(&Api::github(&s))
        .env("REQUIRE", "builds-passed")
        .env("REQUIRED_BUILDS", "auto")
        .run();
    assert_eq!(
        r.code, 8,
        "deploy-preview is required by the protection: {}{}",
        r.stdout, r.stderr
    );
    assert!(
        r.summary()["message"].as_str().unwrap().contains("deploy-preview"),
        "{}",
        r.stdout
    );
}

#[test]
fn required_builds_auto_passes_and_fails_on_the_required_check() {
    for (conclusion, code) in [("success", 0), ("failure", 1)] {
        let mut s = Server::new();
        let _common = lookup(&mut s, "main", approved_at_head(), vec![check_run("ci", conclusion)]);
        // An administrator's token: the unprotected branch's protection is a 404.
        let _rules = rules(
            &mut s,
            vec![checks_rule(&["ci"])],
            Err((404, "Branch not protected")),
            false,
        );
        let r = github(&Api::github(&s))
            .env("REQUIRE", "builds-passed")
            .env("REQUIRED_BUILDS", "auto")
            .run();
        assert_eq!(r.code, code, "{conclusion}: {}{}", r.stdout, r.stderr);
        let p = &r.summary()["pull_requests"][0];
        assert_eq!(p["builds"][0]["required"], true, "{conclusion}: {p}");
    }
}

#[test]
fn an_unprotected_branch_whose_protection_is_refused_has_only_its_rulesets() {
    // The workflow token: the classic protection is refused, but the branch is not protected,
    // so the rulesets are all there is.
    let mut s = Server::new();
    let _common = lookup(&mut s, "main", approved_at_head(), passing());
    let _rules = rules(
        &mut s,
        vec![pr_rule(1, false, false)],
        Err((403, "Resource not accessible by integration")),
        false,
    );
    let r = github(&Api::github_direct(
        &s,
        "403 is not a documented answer of the protection endpoint",
    ))
    .env("REQUIRE", "approved")
    .env("MIN_APPROVALS", "auto")
    .run();
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.summary()["min_approvals"], 1);
}

#[test]
fn a_protected_branch_whose_protection_is_refused_exits_3_naming_the_permission() {
    for (status, api_direct) in [(403, true), (404, false)] {
        for (name, value) in EVERY_AUTO {
            let mut s = Server::new();
            let _common = lookup(&mut s, "main", approved_at_head(), passing());
            let _rules = rules(
                &mut s,
                vec![pr_rule(0, false, false)],
                Err((status, "Resource not accessible by integration")),
                true,
            );
            let api = match api_direct {
                true => Api::github_direct(&s, "403 is not a documented answer of the protection endpoint"),
                false => Api::github(&s),
            };
            let r = github(&api).env("REQUIRE", "approved").env(name, value).run();
            assert_eq!(r.code, 3, "{status} {name}: {}{}", r.stdout, r.stderr);
            let message = r.summary()["error"]["message"].as_str().unwrap().to_string();
            for says in [name, "Administration: read", "is protected"] {
                assert!(message.contains(says), "{status} {name}: {message}");
            }
            assert!(!r.everything().contains(TOKEN), "token leaked");
        }
    }
}

#[test]
fn refused_rules_exit_3() {
    let mut s = Server::new();
    let _common = lookup(&mut s, "main", approved_at_head(), passing());
    let _r = error(
        &mut s,
        &format!("{REPO}/rules/branches/main"),
        403,
        "Resource not accessible by integration",
    )
    .create();
    let _p = ok(
        &mut s,
        &format!("{REPO}/branches/main/protection"),
        protection(1, false, &[]),
    )
    .create();
    let _b = ok(&mut s, &format!("{REPO}/branches/main"), branch("main", true)).create();
    let r = github(&Api::github_direct(
        &s,
        "403 is not a documented answer of the rules endpoint",
    ))
    .env("REQUIRE", "approved")
    .env("MIN_APPROVALS", "auto")
    .run();
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("MIN_APPROVALS=auto reads the branch's rules"),
        "{}",
        r.stderr
    );
}

// ---- fresh approvals ----

/// rita approved the old head, then the branch was pushed (the head is now COMMIT); sam
/// approved after the push.
fn pushed_after_approval() -> Vec<Value> {
    vec![
        review("rita", 2, "APPROVED", OLD, 1),
        review("sam", 3, "APPROVED", COMMIT, 5),
    ]
}

#[test]
fn an_approval_followed_by_a_push_is_stale() {
    let mut s = Server::new();
    let _common = lookup(&mut s, "main", pushed_after_approval(), passing());
    let r = github(&Api::github(&s))
        .env("REQUIRE", "approved")
        .env("MIN_APPROVALS", "2")
        .env("FRESH_APPROVALS", "true")
        .run();
    assert_eq!(
        r.code, 1,
        "only sam's approval is at the head: {}{}",
        r.stdout, r.stderr
    );
    assert_eq!(sent(&r), 4, "the evidence costs nothing");
    let p = &r.summary()["pull_requests"][0];
    assert_eq!(
        p["reviewers"],
        json!([
            {"name": "rita", "state": "approved", "approved_at": "2026-11-01T11:01:00Z", "commit": OLD, "stale": true},
            {"name": "sam", "state": "approved", "approved_at": "2026-11-01T11:05:00Z", "commit": COMMIT, "stale": false}
        ])
    );
    // Without FRESH_APPROVALS both count.
    let mut s = Server::new();
    let _common = lookup(&mut s, "main", pushed_after_approval(), passing());
    let r = github(&Api::github(&s))
        .env("REQUIRE", "approved")
        .env("MIN_APPROVALS", "2")
        .run();
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

#[test]
fn fresh_approvals_auto_follows_the_rules() {
    for (dismiss_stale, last_push, code) in [(true, false, 1), (false, true, 1), (false, false, 0)] {
        let mut s = Server::new();
        let _common = lookup(&mut s, "main", pushed_after_approval(), passing());
        let _rules = rules(
            &mut s,
            vec![pr_rule(2, dismiss_stale, last_push)],
            Ok(protection(0, false, &[])),
            true,
        );
        let r = github(&Api::github(&s))
            .env("REQUIRE", "approved")
            .env("MIN_APPROVALS", "auto")
            .env("FRESH_APPROVALS", "auto")
            .run();
        assert_eq!(r.code, code, "{dismiss_stale} {last_push}: {}{}", r.stdout, r.stderr);
    }
    // The classic protection's dismiss_stale_reviews counts too.
    let mut s = Server::new();
    let _common = lookup(&mut s, "main", pushed_after_approval(), passing());
    let _rules = rules(&mut s, vec![], Ok(protection(2, true, &[])), true);
    let r = github(&Api::github(&s))
        .env("REQUIRE", "approved")
        .env("MIN_APPROVALS", "auto")
        .env("FRESH_APPROVALS", "auto")
        .run();
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
}

#[test]
fn the_rules_are_read_once_per_destination_branch() {
    // PRs 7 and 8 merge into main, PR 9 into release: two reads of the rules, not three.
    let mut s = Server::new();
    let prs = json!([listed(7, "main"), listed(8, "main"), listed(9, "release")]);
    let list = ok(&mut s, &format!("{REPO}/commits/{COMMIT}/pulls"), prs)
        .expect_sent(1)
        .create();
    let regex = |path: &str| Matcher::Regex(format!("^{REPO}{path}$"));
    let json_mock = |s: &mut Server, path: &str, body: Value, n: usize| {
        s.mock("GET", regex(path))
            .match_query(Matcher::Any)
            .with_header("content-type", "application/json; charset=utf-8")
            .with_body(body.to_string())
            .expect_sent(n)
            .create()
    };
    let mut status = gh_fixture("combined-commit-status");
    status["statuses"] = json!([]);
    status["total_count"] = json!(0);
    let mocks = [
        list,
        json_mock(&mut s, r"/pulls/\d+/reviews", json!(approved_at_head()), 3),
        json_mock(
            &mut s,
            "/commits/[0-9a-f]+/check-runs",
            json!({"total_count": 1, "check_runs": passing()}),
            1,
        ),
        json_mock(&mut s, "/commits/[0-9a-f]+/status", status, 1),
        json_mock(&mut s, "/rules/branches/main", json!([pr_rule(1, false, false)]), 1),
        json_mock(&mut s, "/rules/branches/release", json!([pr_rule(2, false, false)]), 1),
        json_mock(&mut s, "/branches/main/protection", protection(0, false, &[]), 1),
        json_mock(&mut s, "/branches/release/protection", protection(0, false, &[]), 1),
        json_mock(&mut s, "/branches/main", branch("main", true), 1),
        json_mock(&mut s, "/branches/release", branch("release", true), 1),
    ];
    let r = github(&Api::github(&s))
        .env("REQUIRE", "approved")
        .env("MIN_APPROVALS", "auto")
        .run();
    mocks.iter().for_each(Mock::assert);
    assert_eq!(
        sent(&r),
        1 + 3 + 2 + 6,
        "the list, 3 reviews, 2 build lists, 3 rules requests per branch"
    );
    assert!(
        matches!(r.code, 0 | 1),
        "a gate verdict, not an error: {}{}",
        r.stdout,
        r.stderr
    );
    assert_eq!(
        r.summary()["pull_requests"].as_array().unwrap().len(),
        3,
        "{}",
        r.stdout
    );
}
