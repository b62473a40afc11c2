//! Property tests (a fuzzer in all but name) for every parser of server answers and of
//! configuration values: none panics on any input, each fails only with the documented error
//! (an API error, exit 4, for answers; a configuration error naming the variable, exit 2, for
//! variables), and well-formed input comes back field for field.
//!
//! Case counts: `PROPTEST_CASES` when set (the long run: see docs/faults.md), else each
//! property's modest default so that `cargo test` stays fast. Every property prints how many
//! cases it ran and how long they took (`cargo test --test properties -- --nocapture`).
//!
//! Adding a provider's parsers is one line each in `server_parsers()`; providers with their own
//! answer shapes add their round-trip properties next to Bitbucket Cloud's.

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use serde_json::{json, Value};

use pr_status::config::{self, Config, HttpSettings, Vars};
use pr_status::credentials::Redactor;
use pr_status::error::{Error, ErrorKind};
use pr_status::gate::Condition;
use pr_status::http::{self, Http};
use pr_status::model::{BuildState, PrState, PullRequest};
use pr_status::provider::bitbucket_cloud::{self, BitbucketCloud};
use pr_status::provider::Provider;

/// A parser of one kind of server answer, reduced to "how many items" for the shared properties.
type Parser = fn(&[u8]) -> Result<usize, Error>;

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
        ("JSON body of any answer", |b| {
            http::parse_json::<Value>("GET /x", Some(200), &Default::default(), b).map(|_| 1)
        }),
    ]
}

// ---- The harness: a runner that counts and times its cases ----

fn config(default_cases: u32) -> ProptestConfig {
    // `ProptestConfig::default()` reads PROPTEST_CASES; only the default is ours.
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = default_cases;
    }
    c.failure_persistence = None;
    c.max_global_rejects = c.cases.saturating_mul(4).max(1024);
    c
}

fn check<S>(name: &str, default_cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S: Strategy,
    S::Value: Debug,
{
    let mut runner = TestRunner::new(config(default_cases));
    let count = AtomicU64::new(0);
    let started = Instant::now();
    let result = runner.run(&strategy, |v| {
        count.fetch_add(1, Ordering::Relaxed);
        test(v)
    });
    eprintln!(
        "property {name}: {} cases in {:.2?}",
        count.load(Ordering::Relaxed),
        started.elapsed()
    );
    if let Err(e) = result {
        panic!("property {name} failed: {e}");
    }
}

/// A failed parse must be the documented malformed-answer error, nothing else.
fn is_api_error(e: &Error) -> Result<(), TestCaseError> {
    prop_assert_eq!(e.kind(), ErrorKind::Api, "{}", e);
    prop_assert_eq!(e.exit_code(), 4);
    prop_assert!(!e.to_string().is_empty());
    Ok(())
}

// ---- Strategies ----

/// Field names the parsers know, mixed with arbitrary ones, so generated objects often hit
/// the fields that matter.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "values", "next", "id", "title", "state", "draft", "links", "html", "href", "author",
            "display_name", "nickname", "uuid", "account_id", "source", "destination", "branch", "name",
            "commit", "hash", "created_on", "updated_on", "participants", "user", "role", "approved",
            "task_count", "comment_count", "key", "url", "error", "message", "detail", "errors",
            "access_token", "pagelen", "size", "page",
        ])
        .prop_map(String::from),
        1 => ".{0,12}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        ".{0,24}".prop_map(Value::String),
        prop::sample::select(vec![
            "OPEN",
            "open",
            "MERGED",
            "DECLINED",
            "SUPERSEDED",
            "SUCCESSFUL",
            "FAILED",
            "INPROGRESS",
            "STOPPED",
            "approved",
            "changes_requested",
            "REVIEWER",
            "",
        ])
        .prop_map(|s| Value::String(s.into())),
    ]
}

/// Arbitrary JSON documents, up to 6 levels deep.
fn arb_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(6, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..8).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A value of the right shape (`good`) most of the time, anything at all otherwise; the bool
/// says which.
fn sometimes_wrong(good: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<(Value, bool)> {
    prop_oneof![4 => good.prop_map(|v| (v, true)), 1 => arb_json().prop_map(|v| (v, false))].boxed()
}

fn opt_string() -> impl Strategy<Value = Option<String>> {
    prop::option::of(".{0,40}")
}

fn any_case(word: &'static str) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<bool>(), word.len()).prop_map(move |upper| {
        word.chars()
            .zip(upper)
            .map(|(c, u)| {
                if u {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    })
}

/// (uuid, role, approved, state) of a generated participant.
type Participant = (String, Option<String>, Option<bool>, Option<String>);

/// A well-formed Bitbucket Cloud pull request (fields optional as the API allows) and the
/// normalized pull request it must become.
#[derive(Debug, Clone)]
struct CloudPr {
    json: Value,
    participants: Option<Vec<Participant>>,
    author_uuid: String,
}

fn cloud_pr() -> impl Strategy<Value = CloudPr> {
    let participant = (
        prop::sample::select(vec!["{author}", "{r1}", "{r2}", "{r3}"]).prop_map(String::from),
        prop::option::of(prop_oneof![
            Just("REVIEWER".to_string()),
            Just("PARTICIPANT".to_string()),
            ".{0,8}"
        ]),
        prop::option::of(any::<bool>()),
        prop::option::of(prop_oneof![
            Just("approved".to_string()),
            Just("changes_requested".to_string()),
            ".{0,8}"
        ]),
    );
    (
        (
            any::<u64>(),
            opt_string(),
            prop_oneof![
                any_case("OPEN"),
                any_case("MERGED"),
                any_case("DECLINED"),
                any_case("SUPERSEDED")
            ],
            prop::option::of(any::<bool>()),
            opt_string(),
            (opt_string(), opt_string(), opt_string()),
        ),
        (
            opt_string(),
            opt_string(),
            opt_string(),
            opt_string(),
            prop::option::of(any::<u32>()),
            prop::option::of(any::<u32>()),
            prop::option::of(prop::collection::vec(participant, 0..6)),
        ),
    )
        .prop_map(
            |(
                (id, title, state, draft, href, (author_name, nickname, source_branch)),
                (commit, destination, created, updated, tasks, comments, participants),
            )| {
                let json = json!({
                    "type": "pullrequest",
                    "id": id,
                    "title": title,
                    "state": state,
                    "draft": draft,
                    "links": {"html": {"href": href}, "self": {"href": "https://x"}},
                    "author": {"display_name": author_name, "nickname": nickname, "uuid": "{author}"},
                    "source": {"branch": {"name": source_branch}, "commit": {"hash": commit}},
                    "destination": {"branch": {"name": destination}},
                    "created_on": created,
                    "updated_on": updated,
                    "task_count": tasks,
                    "comment_count": comments,
                    "participants": participants.as_ref().map(|ps| ps.iter().map(|(uuid, role, approved, st)| json!({
                        "type": "participant",
                        "user": {"display_name": format!("user {uuid}"), "uuid": uuid},
                        "role": role, "approved": approved, "state": st
                    })).collect::<Vec<_>>()),
                });
                CloudPr {
                    json,
                    participants,
                    author_uuid: "{author}".into(),
                }
            },
        )
}

/// Checks a normalized pull request against the JSON it came from.
fn same_pr(pr: &PullRequest, src: &CloudPr) -> Result<(), TestCaseError> {
    let j = &src.json;
    let s = |v: &Value| v.as_str().map(String::from);
    prop_assert_eq!(pr.id, j["id"].as_u64().unwrap());
    prop_assert_eq!(&pr.title, &s(&j["title"]).unwrap_or_default());
    let state = match j["state"].as_str().unwrap().to_ascii_uppercase().as_str() {
        "OPEN" => PrState::Open,
        "MERGED" => PrState::Merged,
        "DECLINED" => PrState::Declined,
        _ => PrState::Superseded,
    };
    prop_assert_eq!(pr.state, state);
    prop_assert_eq!(pr.draft, j["draft"].as_bool());
    prop_assert_eq!(&pr.url, &s(&j["links"]["html"]["href"]));
    let author = s(&j["author"]["display_name"])
        .or_else(|| s(&j["author"]["nickname"]))
        .unwrap_or_else(|| src.author_uuid.clone());
    prop_assert_eq!(pr.author.as_deref(), Some(author.as_str()));
    prop_assert_eq!(&pr.source_branch, &s(&j["source"]["branch"]["name"]));
    prop_assert_eq!(&pr.source_commit, &s(&j["source"]["commit"]["hash"]));
    prop_assert_eq!(&pr.destination_branch, &s(&j["destination"]["branch"]["name"]));
    prop_assert_eq!(&pr.created_on, &s(&j["created_on"]));
    prop_assert_eq!(&pr.updated_on, &s(&j["updated_on"]));
    prop_assert_eq!(pr.open_tasks, j["task_count"].as_u64().map(|n| n as u32));
    prop_assert_eq!(pr.comment_count, j["comment_count"].as_u64().map(|n| n as u32));
    prop_assert!(pr.builds.is_empty());
    // Reviews: the author's own participation never counts; an approval is state "approved",
    // or approved=true unless the state says changes were requested.
    let (mut approvals, mut changes, mut listed) = (0u32, 0u32, 0usize);
    for (uuid, role, approved, st) in src.participants.iter().flatten() {
        if *uuid == src.author_uuid {
            continue;
        }
        let is_changes = st.as_deref() == Some("changes_requested");
        let is_approved = st.as_deref() == Some("approved") || (!is_changes && *approved == Some(true));
        approvals += is_approved as u32;
        changes += is_changes as u32;
        listed += (role.as_deref() == Some("REVIEWER") || is_approved || is_changes) as usize;
    }
    prop_assert_eq!(pr.approvals, approvals);
    prop_assert_eq!(pr.changes_requested, changes);
    prop_assert_eq!(pr.reviewers.len(), listed);
    Ok(())
}

// ---- Server answers ----

#[test]
fn server_parsers_never_panic_on_arbitrary_bytes() {
    let parsers = server_parsers();
    check(
        "arbitrary bytes",
        1000,
        prop::collection::vec(any::<u8>(), 0..2048),
        |bytes| {
            for (_, parse) in &parsers {
                if let Err(e) = parse(&bytes) {
                    is_api_error(&e)?;
                }
            }
            Ok(())
        },
    );
}

#[test]
fn server_parsers_never_panic_on_arbitrary_json() {
    let parsers = server_parsers();
    check("arbitrary JSON", 800, arb_json(), |v| {
        let bytes = serde_json::to_vec(&v).unwrap();
        for (_, parse) in &parsers {
            if let Err(e) = parse(&bytes) {
                is_api_error(&e)?;
            }
        }
        Ok(())
    });
}

#[test]
fn server_parsers_never_panic_on_mutated_real_answers() {
    // Byte-level mutations (flip, insert, delete, truncate) of well-formed pages: close to
    // valid, so they reach deeper than random bytes do.
    let parsers = server_parsers();
    let seeds: Vec<Vec<u8>> = vec![
        include_bytes!("fixtures/real/bitbucket-cloud/pullrequest-324-danger-js.json").to_vec(),
        include_bytes!("fixtures/real/bitbucket-cloud/pullrequest-2-jenkins.json").to_vec(),
        json!({"values": [serde_json::from_str::<Value>(include_str!(
            "fixtures/real/bitbucket-cloud/buildstatus-atlassian-example-pybitbucket.json"
        ))
        .unwrap()]})
        .to_string()
        .into_bytes(),
    ];
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
        for (_, parse) in &parsers {
            if let Err(e) = parse(&bytes) {
                is_api_error(&e)?;
            }
        }
        Ok(())
    });
}

#[test]
fn cloud_pages_with_fields_of_random_types_never_panic() {
    // Every field of a well-formed PR either keeps its type or becomes any JSON value.
    let fields = vec![
        ("id", sometimes_wrong(any::<u64>().prop_map(Value::from))),
        ("title", sometimes_wrong(".{0,20}".prop_map(Value::String))),
        ("state", sometimes_wrong(any_case("OPEN").prop_map(Value::String))),
        ("draft", sometimes_wrong(any::<bool>().prop_map(Value::Bool))),
        ("links", sometimes_wrong(Just(json!({"html": {"href": "https://x"}})))),
        (
            "author",
            sometimes_wrong(Just(json!({"display_name": "A", "uuid": "{a}"}))),
        ),
        (
            "source",
            sometimes_wrong(Just(json!({"branch": {"name": "f"}, "commit": {"hash": "abcdef1"}}))),
        ),
        (
            "destination",
            sometimes_wrong(Just(json!({"branch": {"name": "main"}}))),
        ),
        ("created_on", sometimes_wrong(Just(json!("2026-01-01T00:00:00Z")))),
        (
            "participants",
            sometimes_wrong(Just(json!([{"user": {"uuid": "{b}"}, "approved": true}]))),
        ),
        ("task_count", sometimes_wrong(any::<u32>().prop_map(Value::from))),
        ("comment_count", sometimes_wrong(any::<u32>().prop_map(Value::from))),
    ];
    let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
    let strategies: Vec<BoxedStrategy<(Value, bool)>> = fields.into_iter().map(|(_, s)| s).collect();
    let extra = prop::collection::btree_map(".{1,10}", arb_json(), 0..3);
    check(
        "Cloud PRs with random field types",
        500,
        (strategies, extra),
        |(values, extra)| {
            let mut pr = serde_json::Map::new();
            for (name, (v, _)) in names.iter().zip(&values) {
                pr.insert(name.to_string(), v.clone());
            }
            for (k, v) in extra {
                if !names.contains(&k.as_str()) {
                    pr.insert(k, v);
                }
            }
            let all_good = values.iter().all(|(_, good)| *good);
            let page = serde_json::to_vec(&json!({"values": [Value::Object(pr.clone())]})).unwrap();
            match bitbucket_cloud::parse_pull_request_page(&page) {
                Ok(prs) => {
                    prop_assert_eq!(prs.len(), 1);
                    prop_assert_eq!(prs[0].id, pr["id"].as_u64().unwrap());
                }
                Err(e) => {
                    is_api_error(&e)?;
                    prop_assert!(!all_good, "a well-formed PR was refused: {}", e);
                }
            }
            let single = serde_json::to_vec(&Value::Object(pr)).unwrap();
            if let Err(e) = bitbucket_cloud::parse_pull_request(&single) {
                is_api_error(&e)?;
            }
            Ok(())
        },
    );
}

#[test]
fn well_formed_cloud_pages_round_trip() {
    let page = (prop::collection::vec(cloud_pr(), 0..5), opt_string(), arb_json());
    check("Cloud page round trip", 500, page, |(prs, next, unknown)| {
        let body = json!({
            "pagelen": 50,
            "values": prs.iter().map(|p| p.json.clone()).collect::<Vec<_>>(),
            "next": next,
            "some_future_field": unknown,
        });
        let parsed = bitbucket_cloud::parse_pull_request_page(&serde_json::to_vec(&body).unwrap())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(parsed.len(), prs.len());
        for (got, src) in parsed.iter().zip(&prs) {
            same_pr(got, src)?;
        }
        for src in &prs {
            let one = bitbucket_cloud::parse_pull_request(&serde_json::to_vec(&src.json).unwrap())
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            same_pr(&one, src)?;
        }
        Ok(())
    });
}

#[test]
fn well_formed_status_pages_round_trip() {
    let state = prop_oneof![
        any_case("SUCCESSFUL"),
        any_case("FAILED"),
        any_case("INPROGRESS"),
        any_case("STOPPED"),
        ".{0,10}"
    ];
    let status = (opt_string(), opt_string(), prop::option::of(state), opt_string());
    check(
        "Cloud status round trip",
        800,
        prop::collection::vec(status, 0..8),
        |statuses| {
            let body = json!({"values": statuses.iter().map(|(k, n, s, u)| json!({
                "type": "build", "key": k, "name": n, "state": s, "url": u, "refname": null
            })).collect::<Vec<_>>()});
            let builds = bitbucket_cloud::parse_status_page(&serde_json::to_vec(&body).unwrap())
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(builds.len(), statuses.len());
            for (b, (k, n, s, u)) in builds.iter().zip(&statuses) {
                prop_assert_eq!(&b.key, &k.clone().unwrap_or_default());
                prop_assert_eq!(&b.name, n);
                prop_assert_eq!(&b.url, u);
                let want = match s.as_deref().map(str::to_ascii_uppercase).as_deref() {
                    Some("SUCCESSFUL") => BuildState::Successful,
                    Some("FAILED") => BuildState::Failed,
                    Some("INPROGRESS") => BuildState::Inprogress,
                    _ => BuildState::Stopped,
                };
                prop_assert_eq!(b.state, want);
                prop_assert!(!b.ignored);
            }
            Ok(())
        },
    );
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
    use config::ProviderKind as P;
    let cfg = Config::from_vars(vars, false)?;
    match cfg.provider {
        P::BitbucketCloud => return BitbucketCloud::from_config(&cfg).map(Some),
        P::Github => drop(pr_status::provider::github::Github::from_config(&cfg)?),
        P::Gitlab => drop(pr_status::provider::gitlab::Gitlab::from_config(&cfg)?),
        P::BitbucketDatacenter => {
            drop(pr_status::provider::bitbucket_datacenter::BitbucketDatacenter::from_config(&cfg)?)
        }
        P::Demo => {}
    }
    Ok(None)
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
                Config::from_vars(Vars::from_pairs(pairs.to_vec()), false)
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
