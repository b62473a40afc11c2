//! Bitbucket Cloud's round trips: well-formed pull requests and build statuses come back
//! field for field, and fields of any type never make a parser panic. The oracles read the
//! values Atlassian documents from tables (`shared` harness: tests/common/props.rs).

mod common;

use common::props::*;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Value};

use pr_status::model::{BuildState, PrState, PullRequest};
use pr_status::provider::bitbucket_cloud;

/// `pullrequest.state` in Atlassian's Bitbucket Cloud OpenAPI description
/// (`components.schemas.pullrequest.properties.state.enum`), read in any case.
const PR_STATES: &[(&str, PrState)] = &[
    ("OPEN", PrState::Open),
    ("MERGED", PrState::Merged),
    ("DECLINED", PrState::Declined),
    ("SUPERSEDED", PrState::Superseded),
];

/// `commitstatus.state` in the same description (`FAILED`, `INPROGRESS`, `STOPPED`,
/// `SUCCESSFUL`), read in any case; any other value is STOPPED (docs/bitbucket-cloud.md).
const BUILD_STATES: &[(&str, BuildState)] = &[
    ("SUCCESSFUL", BuildState::Successful),
    ("FAILED", BuildState::Failed),
    ("INPROGRESS", BuildState::Inprogress),
    ("STOPPED", BuildState::Stopped),
];

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
    // The generator sends only documented states: `otherwise` is never reached.
    let state = documented_any_case(PR_STATES, j["state"].as_str(), PrState::Superseded);
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
    // Reviews (`participant.state`: `approved`, `changes_requested` or null; `approved` a
    // boolean): the author's own participation never counts; an approval is state "approved",
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
                let want = documented_any_case(BUILD_STATES, s.as_deref(), BuildState::Stopped);
                prop_assert_eq!(b.state, want);
                prop_assert!(!b.ignored);
            }
            Ok(())
        },
    );
}
