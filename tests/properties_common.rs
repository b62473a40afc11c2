//! Property tests (a fuzzer in all but name) shared by every forge: no parser of server
//! answers panics on any input and each fails only with the documented error (an API error,
//! exit 4, for answers; a configuration error naming `GITHUB_EVENT_PATH`, exit 2, for event
//! payloads), recorded answers survive losing any member they do not need, and every
//! configuration value is accepted or refused by name (exit 2). Each forge's round trips are in
//! tests/properties_<forge>.rs; the harness is tests/common/props.rs.
//!
//! Adding a provider's parsers is one line each in `server_parsers()` (and a seed in
//! `seeds_json()` when a recorded answer exists).

mod common;

use std::time::Duration;

use common::props::*;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Value};

use pr_status::config::{self, HttpSettings, Vars};
use pr_status::credentials::Redactor;
use pr_status::error::{Error, ErrorKind};
use pr_status::gate::Condition;
use pr_status::http::{self, Http};
use pr_status::provider::bitbucket_cloud::{self, BitbucketCloud};
use pr_status::provider::github;
use pr_status::provider::{bitbucket_datacenter, gitlab, Provider};

/// A parser of one kind of server answer, reduced to "how many items" for the shared properties.
type Parser = fn(&[u8]) -> Result<usize, Error>;

/// The recorded GitHub pull request and GitLab merge request the review and approval answers
/// are read with (reviews and approvals only mean something next to their pull request).
const GH_PR: &[u8] = include_bytes!("fixtures/real/github/pull-327-danger-js.json");
const GL_MR: &[u8] = include_bytes!("fixtures/real/gitlab/merge-request-14656-go-gitlab.json");

/// Every parser of server answers. One line per parser; providers add theirs here.
fn server_parsers() -> Vec<(&'static str, Parser)> {
    vec![
        ("bitbucket-cloud pull request page", |b| {
            bitbucket_cloud::parse_pull_request_page(b).map(|v| v.len())
        }),
        ("bitbucket-cloud pull request", |b| {
            bitbucket_cloud::parse_pull_request(b).map(|_| 1)
        }),
        ("bitbucket-cloud build status page", |b| {
            bitbucket_cloud::parse_status_page(b).map(|v| v.len())
        }),
        ("bitbucket-datacenter pull request page", |b| {
            bitbucket_datacenter::parse_pull_request_page(b).map(|v| v.len())
        }),
        ("bitbucket-datacenter pull request", |b| {
            bitbucket_datacenter::parse_pull_request(b).map(|_| 1)
        }),
        ("bitbucket-datacenter build status page", |b| {
            bitbucket_datacenter::parse_build_status_page(b).map(|v| v.len())
        }),
        ("github pull request page", |b| {
            github::parse_pull_request_page(b).map(|v| v.len())
        }),
        ("github pull request", |b| github::parse_pull_request(b).map(|_| 1)),
        ("github reviews (of the recorded PR)", |b| {
            github::parse_pull_request_with_reviews(GH_PR, b).map(|p| p.reviewers.len())
        }),
        ("github check runs", |b| github::parse_check_runs(b).map(|v| v.len())),
        ("github combined status", |b| {
            github::parse_combined_status(b).map(|v| v.len())
        }),
        ("gitlab merge request page", |b| {
            gitlab::parse_merge_request_page(b).map(|v| v.len())
        }),
        ("gitlab merge request", |b| gitlab::parse_merge_request(b).map(|_| 1)),
        ("gitlab approvals (of the recorded MR)", |b| {
            gitlab::parse_merge_request_with(GL_MR, Some(b), None, None).map(|p| p.approvals as usize)
        }),
        ("gitlab reviewers (of the recorded MR)", |b| {
            gitlab::parse_merge_request_with(GL_MR, None, Some(b), None).map(|p| p.reviewers.len())
        }),
        ("gitlab commit statuses (of the recorded MR)", |b| {
            gitlab::parse_merge_request_with(GL_MR, None, None, Some(b)).map(|p| p.builds.len())
        }),
        ("gitlab commit status page", |b| {
            gitlab::parse_commit_status_page(b).map(|v| v.len())
        }),
        ("JSON body of any answer", |b| {
            http::parse_json::<Value>("GET /x", Some(200), &Default::default(), b).map(|_| 1)
        }),
    ]
}

/// Parsers of the GitHub event payload (a file, so a configuration error naming
/// `GITHUB_EVENT_PATH`, exit 2, when it is not the event's). One line per event kind read.
fn event_parsers() -> Vec<(&'static str, Parser)> {
    vec![
        ("github pull_request event", |b| {
            github::parse_event("pull_request", b, Some(SHA)).map(|_| 1)
        }),
        ("github pull_request_target event", |b| {
            github::parse_event("pull_request_target", b, None).map(|_| 1)
        }),
        ("github merge_group event", |b| {
            github::parse_event("merge_group", b, Some(SHA)).map(|_| 1)
        }),
    ]
}

/// Runs every parser of both tables on `bytes`: each reads them or fails with its documented
/// error.
fn every_parser(bytes: &[u8]) -> Result<(), TestCaseError> {
    for (_, parse) in server_parsers() {
        if let Err(e) = parse(bytes) {
            is_api_error(&e)?;
        }
    }
    for (_, parse) in event_parsers() {
        if let Err(e) = parse(bytes) {
            is_event_error(&e)?;
        }
    }
    Ok(())
}

// ---- Server answers ----

#[test]
fn server_parsers_never_panic_on_arbitrary_bytes() {
    check(
        "arbitrary bytes",
        1000,
        prop::collection::vec(any::<u8>(), 0..2048),
        |bytes| every_parser(&bytes),
    );
}

#[test]
fn server_parsers_never_panic_on_arbitrary_json() {
    check("arbitrary JSON", 800, arb_json(), |v| {
        every_parser(&serde_json::to_vec(&v).unwrap())
    });
}

#[test]
fn server_parsers_never_panic_on_mutated_real_answers() {
    // Byte-level mutations (flip, insert, delete, truncate) of well-formed pages: close to
    // valid, so they reach deeper than random bytes do. Every recorded answer of every
    // provider, verbatim where it is one answer as recorded.
    let mut seeds: Vec<Vec<u8>> = vec![
        include_bytes!("fixtures/real/bitbucket-cloud/pullrequest-324-danger-js.json").to_vec(),
        include_bytes!("fixtures/real/bitbucket-cloud/pullrequest-2-jenkins.json").to_vec(),
        include_bytes!("fixtures/real/bitbucket-cloud/pullrequests-page-jenkins.json").to_vec(),
        include_bytes!("fixtures/real/bitbucket-datacenter/pull-request-1-danger-js.json").to_vec(),
        include_bytes!("fixtures/real/bitbucket-datacenter/pull-requests-page-jenkins.json").to_vec(),
        GH_PR.to_vec(),
        include_bytes!("fixtures/real/github/reviews-327-danger-js.json").to_vec(),
        include_bytes!("fixtures/real/github/combined-status-octokit.json").to_vec(),
        GL_MR.to_vec(),
    ];
    // And the ones served in an envelope (see SOURCES.md), and the event payloads.
    seeds.extend(seeds_json().into_iter().map(|s| serde_json::to_vec(&s.json).unwrap()));
    let mutation = (
        0..seeds.len(),
        prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<u8>()), 1..8),
    );
    check("mutated real answers", 1000, mutation, |(seed, edits)| {
        let mut bytes = seeds[seed].clone();
        for (at, kind, byte) in edits {
            if bytes.is_empty() {
                break;
            }
            let i = at.index(bytes.len());
            match kind {
                0 => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                2 => {
                    bytes.remove(i);
                }
                _ => bytes.truncate(i),
            }
        }
        every_parser(&bytes)
    });
}

#[test]
fn error_reasons_and_retry_after_never_panic_and_stay_short() {
    check(
        "server reasons",
        600,
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..4096),
            arb_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        ],
        |body| {
            let reason = http::server_reason(&body);
            prop_assert!(reason.chars().count() <= 301, "{} chars", reason.chars().count());
            prop_assert!(!reason.chars().any(char::is_control), "{:?}", reason);
            Ok(())
        },
    );
    check(
        "Retry-After",
        2000,
        prop_oneof![
            ".{0,40}",
            "[0-9]{1,25}",
            "[A-Za-z]{3}, [0-9]{2} [A-Za-z]{3} [0-9]{4} [0-9:]{8} GMT"
        ],
        |v| {
            let parsed = http::parse_retry_after(&v);
            if let Ok(secs) = v.trim().parse::<u64>() {
                prop_assert_eq!(parsed, Some(Duration::from_secs(secs)));
            }
            Ok(())
        },
    );
}

// ---- Recorded answers, mutated member by member ----

/// A recorded answer as it is served (verbatim, or in its endpoint's envelope: see
/// tests/fixtures/real/SOURCES.md), the parser it feeds, how that parser refuses, and the
/// members (dotted keys, array positions left out) whose absence or `null` it may refuse.
/// Any other member may be dropped or nulled and the answer is still read: a field the
/// server does not send is reported as null, it does not fail the step.
struct Seed {
    name: &'static str,
    json: Value,
    parse: Parser,
    refused: fn(&Error) -> Result<(), TestCaseError>,
    required: &'static [&'static str],
}

fn real(rel: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn seeds_json() -> Vec<Seed> {
    let answer = |name, json, parse: Parser, required| Seed {
        name,
        json,
        parse,
        refused: is_api_error,
        required,
    };
    let gh_pr: Value = serde_json::from_slice(GH_PR).unwrap();
    let gl_mr: Value = serde_json::from_slice(GL_MR).unwrap();
    let head = gh_pr["head"]["sha"].as_str().unwrap().to_string();
    vec![
        answer(
            "cloud PR 324",
            real("real/bitbucket-cloud/pullrequest-324-danger-js.json"),
            |b| bitbucket_cloud::parse_pull_request(b).map(|_| 1),
            &["id", "state"],
        ),
        answer(
            "cloud PR 2",
            real("real/bitbucket-cloud/pullrequest-2-jenkins.json"),
            |b| bitbucket_cloud::parse_pull_request(b).map(|_| 1),
            &["id", "state"],
        ),
        answer(
            "cloud PR page",
            real("real/bitbucket-cloud/pullrequests-page-jenkins.json"),
            |b| bitbucket_cloud::parse_pull_request_page(b).map(|v| v.len()),
            &["values", "values.id", "values.state"],
        ),
        answer(
            "cloud build status page",
            json!({"values": [real("real/bitbucket-cloud/buildstatus-atlassian-example-pybitbucket.json")]}),
            |b| bitbucket_cloud::parse_status_page(b).map(|v| v.len()),
            &["values"],
        ),
        answer(
            "datacenter PR 1",
            real("real/bitbucket-datacenter/pull-request-1-danger-js.json"),
            |b| bitbucket_datacenter::parse_pull_request(b).map(|_| 1),
            &["id", "state"],
        ),
        answer(
            "datacenter PR page",
            real("real/bitbucket-datacenter/pull-requests-page-jenkins.json"),
            |b| bitbucket_datacenter::parse_pull_request_page(b).map(|v| v.len()),
            &["values", "values.id", "values.state"],
        ),
        // Not a recording (none exists): the suites' own build-status page.
        answer(
            "datacenter build status page (suite fake)",
            real("datacenter/build-statuses.json"),
            |b| bitbucket_datacenter::parse_build_status_page(b).map(|v| v.len()),
            &["values"],
        ),
        answer(
            "github PR 327",
            gh_pr.clone(),
            |b| github::parse_pull_request(b).map(|_| 1),
            &["number", "state"],
        ),
        answer(
            "github PR page",
            json!([gh_pr.clone()]),
            |b| github::parse_pull_request_page(b).map(|v| v.len()),
            &["number", "state"],
        ),
        answer(
            "github reviews of PR 327",
            real("real/github/reviews-327-danger-js.json"),
            |b| github::parse_pull_request_with_reviews(GH_PR, b).map(|p| p.reviewers.len()),
            &[],
        ),
        answer(
            "github combined status",
            real("real/github/combined-status-octokit.json"),
            |b| github::parse_combined_status(b).map(|v| v.len()),
            &["statuses"],
        ),
        // The event payloads around the recorded PR, as GitHub Actions writes them.
        Seed {
            name: "github pull_request event",
            json: json!({"action": "closed", "number": 327, "pull_request": gh_pr.clone()}),
            parse: |b| github::parse_event("pull_request", b, Some(SHA)).map(|_| 1),
            refused: is_event_error,
            required: &["pull_request", "pull_request.number"],
        },
        Seed {
            name: "github merge_group event",
            json: json!({"action": "checks_requested", "merge_group": {
                "head_sha": head,
                "head_ref": format!("refs/heads/gh-readonly-queue/master/pr-327-{head}"),
                "base_sha": gh_pr["base"]["sha"], "base_ref": "refs/heads/master",
                "head_commit": {"id": head, "message": "Merge pull request #327"}
            }}),
            parse: |b| github::parse_event("merge_group", b, Some(SHA)).map(|_| 1),
            refused: is_event_error,
            required: &["merge_group"],
        },
        answer(
            "gitlab MR 14656",
            gl_mr.clone(),
            |b| gitlab::parse_merge_request(b).map(|_| 1),
            &["iid", "state"],
        ),
        answer(
            "gitlab MR page",
            json!([gl_mr]),
            |b| gitlab::parse_merge_request_page(b).map(|v| v.len()),
            &["iid"],
        ),
    ]
}

#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    At(usize),
}

/// The path of every object member in `v`, depth first.
fn members(v: &Value, path: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                path.push(Seg::Key(k.clone()));
                out.push(path.clone());
                members(x, path, out);
                path.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                path.push(Seg::At(i));
                members(x, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn dotted(path: &[Seg]) -> String {
    let keys: Vec<&str> = path
        .iter()
        .filter_map(|s| match s {
            Seg::Key(k) => Some(k.as_str()),
            Seg::At(_) => None,
        })
        .collect();
    keys.join(".")
}

fn at_mut<'a>(v: &'a mut Value, path: &[Seg]) -> &'a mut Value {
    path.iter().fold(v, |v, s| match s {
        Seg::Key(k) => &mut v[k.as_str()],
        Seg::At(i) => &mut v[*i],
    })
}

#[test]
fn recorded_answers_with_a_member_dropped_nulled_or_retyped() {
    let seeds = seeds_json();
    let mut paths: Vec<Vec<Vec<Seg>>> = Vec::new();
    for seed in &seeds {
        // The unmutated answer is read, or the property would prove nothing.
        let bytes = serde_json::to_vec(&seed.json).unwrap();
        if let Err(e) = (seed.parse)(&bytes) {
            panic!("{}: the recorded answer itself is refused: {e}", seed.name);
        }
        let mut out = Vec::new();
        members(&seed.json, &mut Vec::new(), &mut out);
        paths.push(out);
    }
    let mutation = (0..seeds.len(), any::<prop::sample::Index>(), 0u8..3, arb_json());
    check(
        "recorded answers, one member dropped, nulled or retyped",
        1000,
        mutation,
        |(i, at, mode, other)| {
            let seed = &seeds[i];
            let path = &paths[i][at.index(paths[i].len())];
            let Some(Seg::Key(key)) = path.last() else {
                unreachable!("members are object keys")
            };
            let mut v = seed.json.clone();
            let parent = at_mut(&mut v, &path[..path.len() - 1]).as_object_mut().unwrap();
            match mode {
                0 => drop(parent.remove(key)),
                1 => drop(parent.insert(key.clone(), Value::Null)),
                _ => drop(parent.insert(key.clone(), other)),
            }
            if let Err(e) = (seed.parse)(&serde_json::to_vec(&v).unwrap()) {
                (seed.refused)(&e)?;
                let member = dotted(path);
                prop_assert!(
                    mode == 2 || seed.required.contains(&member.as_str()),
                    "{}: refused once {} was {}: {}",
                    seed.name,
                    member,
                    if mode == 0 { "dropped" } else { "null" },
                    e
                );
            }
            Ok(())
        },
    );
}

// ---- Configuration values ----

/// Every variable the configuration reads, with what else must be set for it to be read.
fn variables() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    let cloud = vec![
        ("BITBUCKET_WORKSPACE", "acme"),
        ("BITBUCKET_REPO_SLUG", "widget"),
        ("BITBUCKET_COMMIT", "0123456789abcdef0123456789abcdef01234567"),
    ];
    let token = [cloud.clone(), vec![("BITBUCKET_ACCESS_TOKEN", "tok-123456")]].concat();
    let oauth = [
        cloud.clone(),
        vec![
            ("BITBUCKET_OAUTH_CLIENT_ID", "client"),
            ("BITBUCKET_OAUTH_CLIENT_SECRET", "secret-1234"),
        ],
    ]
    .concat();
    let mut all: Vec<(&'static str, Vec<(&'static str, &'static str)>)> = [
        "PROVIDER",
        "REQUIRE",
        "MIN_APPROVALS",
        "DESTINATION_BRANCH",
        "IGNORE_BUILDS",
        "WAIT_FOR_BUILDS",
        "POLL_INTERVAL",
        "HTTP_TIMEOUT",
        "HTTP_RETRY_DELAY_MS",
        "INDEX_WAIT",
        "DEBUG",
        "SSL_CERT_FILE",
        "BITBUCKET_BUILD_NUMBER",
        "GITHUB_ACTIONS",
        "GITLAB_CI",
        "BITBUCKET_API_URL",
        "BITBUCKET_WORKSPACE",
        "BITBUCKET_REPO_SLUG",
        "BITBUCKET_COMMIT",
        "BITBUCKET_PR_ID",
        "BITBUCKET_BRANCH",
        "BITBUCKET_ACCESS_TOKEN",
    ]
    .into_iter()
    .map(|v| (v, token.clone()))
    .collect();
    all.push((
        "BITBUCKET_API_TOKEN",
        [cloud.clone(), vec![("BITBUCKET_EMAIL", "dev@example.com")]].concat(),
    ));
    all.push((
        "BITBUCKET_EMAIL",
        [cloud.clone(), vec![("BITBUCKET_API_TOKEN", "tok-123456")]].concat(),
    ));
    all.push(("BITBUCKET_OAUTH_TOKEN_URL", oauth.clone()));
    all.push((
        "BITBUCKET_OAUTH_CLIENT_SECRET",
        [cloud.clone(), vec![("BITBUCKET_OAUTH_CLIENT_ID", "client")]].concat(),
    ));
    all.push((
        "BITBUCKET_APP_PASSWORD",
        [cloud.clone(), vec![("BITBUCKET_USERNAME", "bob")]].concat(),
    ));
    let datacenter = vec![
        ("BITBUCKET_SERVER_URL", "https://bitbucket.example.com"),
        ("BITBUCKET_PROJECT_KEY", "PROJ"),
        ("BITBUCKET_REPO_SLUG", "widget"),
        ("BITBUCKET_COMMIT", "0123456789abcdef0123456789abcdef01234567"),
        ("BITBUCKET_ACCESS_TOKEN", "dc-token-123456"),
    ];
    for v in [
        "BITBUCKET_SERVER_URL",
        "BITBUCKET_PROJECT_KEY",
        "BITBUCKET_REPO_SLUG",
        "BITBUCKET_COMMIT",
        "GIT_COMMIT",
        "BITBUCKET_PR_ID",
        "BITBUCKET_ACCESS_TOKEN",
    ] {
        all.push((v, datacenter.clone()));
    }
    all.push((
        "BITBUCKET_PASSWORD",
        [&datacenter[..4], &[("BITBUCKET_USERNAME", "bob")]].concat(),
    ));
    let github = vec![
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_REPOSITORY", "octo/widget"),
        ("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567"),
        ("GITHUB_TOKEN", "ghs_123456"),
    ];
    for v in [
        "GITHUB_REPOSITORY",
        "GITHUB_API_URL",
        "GITHUB_SERVER_URL",
        "GITHUB_SHA",
        "GITHUB_EVENT_NAME",
        "GITHUB_EVENT_PATH",
        "GITHUB_TOKEN",
    ] {
        all.push((v, github.clone()));
    }
    let gitlab = vec![
        ("GITLAB_CI", "true"),
        ("CI_API_V4_URL", "https://gitlab.example.com/api/v4"),
        ("CI_PROJECT_ID", "278964"),
        ("CI_COMMIT_SHA", "0123456789abcdef0123456789abcdef01234567"),
        ("GITLAB_TOKEN", "glpat-123456"),
    ];
    for v in [
        "CI_API_V4_URL",
        "CI_PROJECT_ID",
        "CI_PROJECT_PATH",
        "CI_PROJECT_URL",
        "CI_COMMIT_SHA",
        "CI_MERGE_REQUEST_IID",
        "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA",
        "GITLAB_TOKEN",
    ] {
        all.push((v, gitlab.clone()));
    }
    all
}

/// Text that is sometimes valid for some variable and often almost so.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => ".{0,30}",
        2 => "[a-zA-Z0-9 ._/%{}\\-\t\n:,;=+@é?#]{0,24}",
        1 => "[0-9]{1,8}",
        1 => "[0-9a-fA-F]{5,66}",
        1 => prop::sample::select(vec![
            "true", "FALSE", " yes ", "0", "1", "open, approved", "OPEN,open", "https://api.example.com/2.0",
            "http://127.0.0.1:1/2.0", "http://localhost/", "http://example.com/", "..", ".", "../x", "%2e%2e",
            "bitbucket-cloud", "github", "{uuid}", "acme", "a b", "",
        ])
        .prop_map(String::from),
    ]
}

/// Validates like the step does: the shared configuration, then the provider's own variables
/// (one line per provider). Returns the Cloud provider, for the segment property.
fn validate(vars: Vars) -> Result<Option<BitbucketCloud>, Error> {
    let cfg = pr_status::provider::registry::configure(vars, false)?;
    if cfg.provider == "bitbucket-cloud" {
        return BitbucketCloud::from_config(&cfg).map(Some);
    }
    pr_status::provider::registry::problems(&cfg).map_or(Ok(None), Err)
}

#[test]
fn every_variable_accepts_or_refuses_by_name() {
    let vars = variables();
    let credentials = [
        "BITBUCKET_ACCESS_TOKEN",
        "BITBUCKET_API_TOKEN",
        "BITBUCKET_EMAIL",
        "BITBUCKET_OAUTH_CLIENT_SECRET",
        "BITBUCKET_APP_PASSWORD",
        "GITHUB_TOKEN",
        "GITLAB_TOKEN",
        "BITBUCKET_PASSWORD",
    ];
    check(
        "every variable, any value",
        300,
        (0..vars.len(), value()),
        |(i, text)| {
            let (name, base) = &vars[i];
            let mut pairs: Vec<(String, String)> = base
                .iter()
                .filter(|(k, _)| k != name)
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let provider_of = |pairs: &[(String, String)]| {
                pr_status::provider::registry::configure(Vars::from_pairs(pairs.to_vec()), false)
                    .map(|c| c.provider)
                    .ok()
            };
            let base_pairs: Vec<(String, String)> = base.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            let base_provider = provider_of(&base_pairs);
            pairs.push((name.to_string(), text.clone()));
            // A value that selects another provider (PROVIDER, or BITBUCKET_SERVER_URL,
            // GITHUB_ACTIONS, GITLAB_CI in detection) makes that provider's variables required.
            let other_provider = provider_of(&pairs).is_some_and(|p| Some(p) != base_provider);
            match validate(Vars::from_pairs(pairs)) {
                Ok(_) => {}
                Err(e) => {
                    prop_assert_eq!(e.exit_code(), 2, "{}", e);
                    prop_assert_eq!(e.kind(), ErrorKind::Config);
                    let msg = e.to_string();
                    let no_credentials = credentials.contains(name) && msg.starts_with("no Bitbucket");
                    prop_assert!(
                        msg.contains(name) || no_credentials || other_provider,
                        "{}={:?}: {}",
                        name,
                        text,
                        msg
                    );
                    if msg.contains("cannot be sent in an HTTP header") && text.trim().len() >= 8 {
                        prop_assert!(!msg.contains(text.trim()), "the credential is echoed: {}", msg);
                    }
                }
            }
            Ok(())
        },
    );
}

#[test]
fn accepted_workspaces_and_slugs_are_single_clean_segments() {
    check("workspace and slug", 300, (value(), value()), |(ws, slug)| {
        let vars = Vars::from_pairs([
            ("BITBUCKET_WORKSPACE".to_string(), ws.clone()),
            ("BITBUCKET_REPO_SLUG".to_string(), slug.clone()),
            ("BITBUCKET_COMMIT".to_string(), "0123456".to_string()),
            ("BITBUCKET_ACCESS_TOKEN".to_string(), "tok-123456".to_string()),
        ]);
        match validate(vars) {
            Ok(Some(p)) => {
                let name = p.repository().full_name;
                let parts: Vec<&str> = name.split('/').collect();
                prop_assert_eq!(parts.len(), 2, "{}", name);
                for part in parts {
                    prop_assert!(!part.is_empty() && part != "." && part != "..", "{:?}", part);
                    prop_assert!(!part.contains('%') && !part.contains('\\'), "{:?}", part);
                    prop_assert!(!part.chars().any(char::is_whitespace), "{:?}", part);
                    prop_assert!(part.is_ascii(), "{:?}", part);
                }
            }
            Ok(None) => prop_assert!(false, "provider changed"),
            Err(e) => {
                let m = e.to_string();
                prop_assert!(
                    m.contains("BITBUCKET_WORKSPACE") || m.contains("BITBUCKET_REPO_SLUG"),
                    "{}",
                    m
                );
            }
        }
        Ok(())
    });
}

#[test]
fn commits_pr_ids_urls_numbers_and_booleans_accept_only_their_forms() {
    check("commit ids", 2000, value(), |text| {
        match config::commit("C", &text) {
            Ok(c) => {
                prop_assert!((7..=64).contains(&c.len()));
                prop_assert!(
                    c.chars().all(|ch| ch.is_ascii_digit() || ('a'..='f').contains(&ch)),
                    "{}",
                    c
                );
                prop_assert_eq!(c, text.trim().to_ascii_lowercase());
            }
            Err(e) => prop_assert!(e.to_string().starts_with("C=")),
        }
        Ok(())
    });
    check("any hex commit is accepted", 1000, "[0-9a-fA-F]{7,64}", |hex| {
        prop_assert_eq!(config::commit("C", &hex).unwrap(), hex.to_ascii_lowercase());
        Ok(())
    });
    check("PR ids", 2000, value(), |text| {
        match config::pr_id("P", &text) {
            Ok(n) => {
                prop_assert!((1..(1 << 53)).contains(&n));
                prop_assert_eq!(Some(n), text.trim().parse::<u64>().ok());
            }
            Err(e) => prop_assert!(e.to_string().starts_with("P=")),
        }
        Ok(())
    });
    check(
        "numbers",
        2000,
        (value(), 0u64..100, 0u64..100_000),
        |(text, min, span)| {
            let max = min + span;
            match config::parse_number("N", Some(&text), 7, min, max) {
                Ok(n) => {
                    prop_assert!((min..=max).contains(&n));
                    prop_assert_eq!(Some(n), text.trim().parse::<u64>().ok());
                }
                Err(e) => prop_assert!(e.to_string().starts_with("N=") && e.to_string().contains(&max.to_string())),
            }
            Ok(())
        },
    );
    check("booleans", 2000, value(), |text| {
        let want = match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => None,
        };
        match config::parse_bool("B", Some(&text), false) {
            Ok(b) => prop_assert_eq!(Some(b), want),
            Err(e) => {
                prop_assert!(want.is_none());
                prop_assert!(e.to_string().starts_with("B="));
            }
        }
        Ok(())
    });
    check("base URLs", 2000, value(), |text| {
        if let Ok(url) = config::parse_base_url("U", &text) {
            prop_assert!(url.username().is_empty() && url.password().is_none());
            prop_assert!(url.query().is_none() && url.fragment().is_none());
            match url.scheme() {
                "https" => {}
                "http" => {
                    let host = url.host_str().unwrap_or("");
                    prop_assert!(
                        host == "localhost" || host.starts_with("127.") || host == "[::1]",
                        "plain http to {}",
                        host
                    );
                }
                other => prop_assert!(false, "scheme {}", other),
            }
        }
        Ok(())
    });
}

#[test]
fn require_lists_parse_to_their_conditions_or_name_require() {
    check("REQUIRE, any text", 2000, value(), |text| {
        if let Err(e) = Condition::parse_list(&text) {
            prop_assert!(e.to_string().starts_with("REQUIRE "), "{}", e);
            prop_assert_eq!(e.exit_code(), 2);
        }
        Ok(())
    });
    let item = prop_oneof![
        4 => prop::sample::select(Condition::ALL.to_vec()).prop_flat_map(|c| any_case(c.as_str()).prop_map(move |t| (Some(c), t))),
        1 => Just((None, String::new())),
    ];
    check(
        "REQUIRE, valid lists",
        2000,
        prop::collection::vec((item, "[ \t]{0,2}", "[ \t]{0,2}"), 0..10),
        |items| {
            let text = items
                .iter()
                .map(|((_, t), pre, post)| format!("{pre}{t}{post}"))
                .collect::<Vec<_>>()
                .join(",");
            let mut want: Vec<Condition> = Vec::new();
            for ((c, _), _, _) in &items {
                if let Some(c) = c {
                    if !want.contains(c) {
                        want.push(*c);
                    }
                }
            }
            prop_assert_eq!(Condition::parse_list(&text).unwrap(), want);
            Ok(())
        },
    );
}

#[test]
fn built_urls_keep_every_segment_inside_the_api_path() {
    let settings = HttpSettings {
        timeout: Duration::from_secs(5),
        retry_delay: Duration::from_millis(10),
        max_attempts: 4,
        index_wait: Duration::from_secs(1),
        ssl_cert_file: None,
        debug: false,
        proxy: Default::default(),
    };
    let base = reqwest::Url::parse("https://api.example.com/2.0").unwrap();
    let http = Http::new(
        "Test",
        base,
        None,
        &settings,
        Redactor::default(),
        Box::new(|_, _| String::new()),
    )
    .unwrap();
    let segment = prop_oneof![
        value(),
        ".{0,16}",
        prop::sample::select(vec!["..", ".", "", "%2e%2e", "a/b", "%2F"]).prop_map(String::from)
    ];
    check("URL segments", 2000, prop::collection::vec(segment, 1..5), |segments| {
        let refs: Vec<&str> = segments.iter().map(String::as_str).collect();
        let url = http.url(&refs);
        prop_assert_eq!(url.host_str(), Some("api.example.com"));
        let invalid = segments.iter().any(|s| s.is_empty() || s == "." || s == "..");
        if invalid {
            prop_assert!(
                url.fragment().is_some(),
                "a dot or empty segment must mark the URL unsendable: {}",
                url
            );
            return Ok(());
        }
        let got: Vec<String> = url
            .path_segments()
            .unwrap()
            .map(|s| {
                url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
                    .next()
                    .unwrap()
                    .1
                    .into_owned()
            })
            .collect();
        let mut want = vec!["2.0".to_string()];
        want.extend(segments.iter().cloned());
        prop_assert_eq!(got, want, "{}", url);
        Ok(())
    });
}
