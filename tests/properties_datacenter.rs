//! Bitbucket Data Center's round trips: well-formed pull request and build-status pages come
//! back field for field. The oracles read the values the Data Center 9.2 REST description
//! documents from tables (harness: tests/common/props.rs).

mod common;

use common::props::*;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Value};

use pr_status::model::{Build, BuildState, PrState, PullRequest, ReviewState, Reviewer};
use pr_status::provider::bitbucket_datacenter;

/// `RestPullRequest.state` in Atlassian's Data Center 9.2 OpenAPI description (`DECLINED`,
/// `MERGED`, `OPEN`), read in any case.
const PR_STATES: &[(&str, PrState)] = &[
    ("OPEN", PrState::Open),
    ("MERGED", PrState::Merged),
    ("DECLINED", PrState::Declined),
];

/// `RestPullRequestParticipant.status` in the same description (`UNAPPROVED`, `NEEDS_WORK`,
/// `APPROVED`), read in any case; any other value gives no verdict.
const PARTICIPANT_STATUS: &[(&str, ReviewState)] = &[
    ("APPROVED", ReviewState::Approved),
    ("NEEDS_WORK", ReviewState::ChangesRequested),
    ("UNAPPROVED", ReviewState::Pending),
];

/// `RestBuildStatus.state` in the same description (`CANCELLED`, `FAILED`, `INPROGRESS`,
/// `SUCCESSFUL`, `UNKNOWN`; docs/bitbucket-datacenter.md: CANCELLED and UNKNOWN are STOPPED),
/// read in any case, plus the `IN_PROGRESS` spelling the suite also sends (docs/faults.md);
/// any other value is STOPPED.
const BUILD_STATES: &[(&str, BuildState)] = &[
    ("SUCCESSFUL", BuildState::Successful),
    ("FAILED", BuildState::Failed),
    ("INPROGRESS", BuildState::Inprogress),
    ("IN_PROGRESS", BuildState::Inprogress),
    ("CANCELLED", BuildState::Stopped),
    ("UNKNOWN", BuildState::Stopped),
];

/// The users Data Center answers name. Ids differ, so a user is the same as another exactly
/// when it is the same entry; the labels exercise displayName, name and slug in turn.
fn dc_users() -> Vec<Value> {
    vec![
        json!({"id": 1, "name": "alice", "slug": "alice", "displayName": "Alice Author", "active": true}),
        json!({"id": 2, "name": "bob", "slug": "bob", "displayName": " "}),
        json!({"id": 3, "slug": "carol", "displayName": null}),
        json!({"id": 4, "name": "dave@example.com", "slug": "dave_example.com", "displayName": "Dave D"}),
    ]
}

fn dc_label(u: &Value) -> String {
    ["displayName", "name", "slug"]
        .iter()
        .filter_map(|k| u[*k].as_str())
        .find(|s| !s.trim().is_empty())
        .unwrap_or("unknown")
        .to_string()
}

/// (user, status, approved) of a reviewer or participant.
type DcParticipant = (usize, Option<String>, Option<bool>);

fn dc_participant() -> impl Strategy<Value = DcParticipant> {
    (
        0..4usize,
        prop::option::of(prop_oneof![
            prop::sample::select(vec!["APPROVED", "NEEDS_WORK", "UNAPPROVED", "approved", "Needs_Work"])
                .prop_map(String::from),
            ".{0,8}"
        ]),
        prop::option::of(any::<bool>()),
    )
}

/// (branch, with a ref id, displayId, head) of a fromRef / toRef.
type DcRef = (String, bool, Option<String>, Option<String>);

fn dc_ref() -> impl Strategy<Value = DcRef> {
    (
        "[a-z][a-z0-9/._-]{0,15}",
        any::<bool>(),
        prop::option::of(prop_oneof!["[a-z/]{1,10}", Just(" ".to_string()), Just(String::new())]),
        prop::option::of(hex40()),
    )
}

fn dc_ref_json(r: &DcRef) -> Value {
    json!({"id": r.1.then(|| format!("refs/heads/{}", r.0)), "displayId": r.2, "latestCommit": r.3,
           "repository": {"slug": "widget", "project": {"key": "PROJ"}}})
}

fn dc_branch(r: &DcRef) -> Option<String> {
    r.2.clone()
        .filter(|d| !d.trim().is_empty())
        .or_else(|| r.1.then(|| r.0.clone()))
}

/// Epoch milliseconds, mostly plausible, sometimes anything.
fn epoch() -> impl Strategy<Value = Option<i64>> {
    prop::option::of(prop_oneof![4 => 0i64..4_102_444_800_000, 1 => any::<i64>()])
}

/// A date the server gave in epoch milliseconds comes back as RFC 3339 of the same instant;
/// only one outside years 1 to 9999 may be left out.
fn same_instant(got: &Option<String>, ms: Option<i64>) -> Result<(), TestCaseError> {
    use time::format_description::well_known::Rfc3339;
    match (got, ms) {
        (None, None) => {}
        (Some(text), Some(ms)) => {
            let t =
                time::OffsetDateTime::parse(text, &Rfc3339).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
            prop_assert_eq!(t.unix_timestamp_nanos(), i128::from(ms) * 1_000_000, "{}", text);
        }
        (None, Some(ms)) => prop_assert!(
            !(-62_135_596_800_000..=253_402_300_799_999).contains(&ms),
            "{} ms left out",
            ms
        ),
        (Some(text), None) => prop_assert!(false, "invented date {}", text),
    }
    Ok(())
}

#[derive(Debug, Clone)]
struct DcPr {
    json: Value,
    id: u64,
    state: String,
    created: Option<i64>,
    updated: Option<i64>,
    from: DcRef,
    to: DcRef,
    author: Option<usize>,
    reviewers: Vec<DcParticipant>,
    participants: Vec<DcParticipant>,
    tasks: Option<(Option<u32>, Option<u32>)>,
}

fn dc_pr() -> impl Strategy<Value = DcPr> {
    (
        (
            any::<u64>(),
            opt_string(),
            prop_oneof![any_case("OPEN"), any_case("MERGED"), any_case("DECLINED")],
            prop::option::of(any::<bool>()),
            epoch(),
            epoch(),
            opt_string(),
        ),
        (
            dc_ref(),
            dc_ref(),
            prop::option::of(0..4usize),
            prop::collection::vec(dc_participant(), 0..5),
            prop::collection::vec(dc_participant(), 0..5),
            prop::option::of((prop::option::of(any::<u32>()), prop::option::of(any::<u32>()))),
        ),
    )
        .prop_map(
            |((id, title, state, draft, created, updated, href), (from, to, author, reviewers, participants, tasks))| {
                let users = dc_users();
                let part = |(u, status, approved): &DcParticipant, role: &str| {
                    json!({"user": users[*u], "role": role, "status": status, "approved": approved})
                };
                let json = json!({
                    "id": id, "version": 3, "title": title, "state": state, "open": state == "OPEN", "draft": draft,
                    "createdDate": created, "updatedDate": updated,
                    "fromRef": dc_ref_json(&from), "toRef": dc_ref_json(&to),
                    "author": author.map(|a| json!({"user": users[a], "role": "AUTHOR", "approved": false, "status": "UNAPPROVED"})),
                    "reviewers": reviewers.iter().map(|p| part(p, "REVIEWER")).collect::<Vec<_>>(),
                    "participants": participants.iter().map(|p| part(p, "PARTICIPANT")).collect::<Vec<_>>(),
                    "properties": tasks.map(|(t, c)| json!({"openTaskCount": t, "commentCount": c, "mergeResult": {"outcome": "CLEAN"}})),
                    "links": {"self": [{"href": href}]},
                });
                DcPr {
                    json,
                    id,
                    state,
                    created,
                    updated,
                    from,
                    to,
                    author,
                    reviewers,
                    participants,
                    tasks,
                }
            },
        )
}

fn same_dc_pr(pr: &PullRequest, src: &DcPr) -> Result<(), TestCaseError> {
    let users = dc_users();
    let j = &src.json;
    prop_assert_eq!(pr.id, src.id);
    prop_assert_eq!(&pr.title, &opt_str(&j["title"]).unwrap_or_default());
    // The generator sends only documented states: `otherwise` is never reached.
    let state = documented_any_case(PR_STATES, Some(&src.state), PrState::Declined);
    prop_assert_eq!(pr.state, state);
    prop_assert_eq!(pr.draft, j["draft"].as_bool());
    prop_assert_eq!(&pr.url, &opt_str(&j["links"]["self"][0]["href"]));
    prop_assert_eq!(&pr.source_branch, &dc_branch(&src.from));
    prop_assert_eq!(&pr.destination_branch, &dc_branch(&src.to));
    prop_assert_eq!(&pr.source_commit, &src.from.3);
    same_instant(&pr.created_on, src.created)?;
    same_instant(&pr.updated_on, src.updated)?;
    prop_assert_eq!(pr.open_tasks, src.tasks.and_then(|t| t.0));
    prop_assert_eq!(pr.comment_count, src.tasks.and_then(|t| t.1));
    prop_assert_eq!(pr.author.clone(), src.author.map(|a| dc_label(&users[a])));
    // Reviewers with any verdict, then participants with one (approved or needs work); the
    // author never, nobody twice. `status` decides; without it `approved: true` approves.
    let mut seen: Vec<usize> = Vec::new();
    let mut want: Vec<Reviewer> = Vec::new();
    let all = src.reviewers.iter().map(|p| (p, true));
    for ((user, status, approved), is_reviewer) in all.chain(src.participants.iter().map(|p| (p, false))) {
        let state = match status.as_deref() {
            Some(s) => documented_any_case(PARTICIPANT_STATUS, Some(s), ReviewState::Pending),
            None if *approved == Some(true) => ReviewState::Approved,
            None => ReviewState::Pending,
        };
        if Some(*user) == src.author || seen.contains(user) || (!is_reviewer && state == ReviewState::Pending) {
            continue;
        }
        seen.push(*user);
        want.push(reviewer(dc_label(&users[*user]), state));
    }
    same_reviews(pr, &want)?;
    prop_assert!(pr.builds.is_empty());
    Ok(())
}

#[test]
fn well_formed_datacenter_pages_round_trip() {
    let page = (prop::collection::vec(dc_pr(), 0..4), any::<bool>(), arb_json());
    check("Data Center page round trip", 500, page, |(prs, last, unknown)| {
        let body = json!({
            "size": prs.len(), "limit": 100, "start": 0, "isLastPage": last,
            "nextPageStart": (!last).then_some(100),
            "values": prs.iter().map(|p| p.json.clone()).collect::<Vec<_>>(),
            "someFutureField": unknown,
        });
        let parsed = ok(bitbucket_datacenter::parse_pull_request_page(
            &serde_json::to_vec(&body).unwrap(),
        ))?;
        prop_assert_eq!(parsed.len(), prs.len());
        for (got, src) in parsed.iter().zip(&prs) {
            same_dc_pr(got, src)?;
        }
        for src in &prs {
            let one = ok(bitbucket_datacenter::parse_pull_request(
                &serde_json::to_vec(&src.json).unwrap(),
            ))?;
            same_dc_pr(&one, src)?;
        }
        Ok(())
    });
}

#[test]
fn well_formed_datacenter_build_status_pages_round_trip() {
    let state = prop_oneof![
        any_case("SUCCESSFUL"),
        any_case("FAILED"),
        any_case("INPROGRESS"),
        any_case("IN_PROGRESS"),
        any_case("CANCELLED"),
        ".{0,10}"
    ];
    let status = (opt_string(), opt_string(), prop::option::of(state), opt_string());
    check(
        "Data Center build status round trip",
        800,
        prop::collection::vec(status, 0..8),
        |statuses| {
            let body = json!({"size": statuses.len(), "limit": 100, "start": 0, "isLastPage": true,
                "values": statuses.iter().map(|(k, n, s, u)| json!({
                    "key": k, "name": n, "state": s, "url": u, "dateAdded": 1_700_000_000_000u64, "description": "d"
                })).collect::<Vec<_>>()});
            let builds = ok(bitbucket_datacenter::parse_build_status_page(
                &serde_json::to_vec(&body).unwrap(),
            ))?;
            let want: Vec<Build> = statuses
                .iter()
                .map(|(k, n, s, u)| {
                    Build::new(
                        k.clone().unwrap_or_default(),
                        n.clone(),
                        documented_any_case(BUILD_STATES, s.as_deref(), BuildState::Stopped),
                        u.clone(),
                    )
                })
                .collect();
            prop_assert_eq!(builds, want);
            Ok(())
        },
    );
}
