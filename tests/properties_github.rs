//! GitHub's round trips: pull requests, reviews, check runs, combined statuses and event
//! payloads come back field for field. The oracles read the values GitHub's REST reference
//! documents from tables, not from a copy of src/provider/github.rs (harness:
//! tests/common/props.rs).

mod common;

use common::props::*;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Value};

use pr_status::error::ErrorKind;
use pr_status::model::{Build, BuildState, PrState, PullRequest, ReviewState, Reviewer};
use pr_status::provider::github::{self, Target};

/// A check run's `status` (REST reference, "Create a check run": `queued`, `in_progress`,
/// `completed`; "only GitHub can set a status of `waiting`, `requested` or `pending`") that
/// is not `completed`: still running. `completed`, or no status, lets the conclusion decide;
/// any other value is STOPPED (docs/github.md: "anything newer").
const CHECK_RUN_STATUS: &[(&str, BuildState)] = &[
    ("queued", BuildState::Inprogress),
    ("in_progress", BuildState::Inprogress),
    ("waiting", BuildState::Inprogress),
    ("requested", BuildState::Inprogress),
    ("pending", BuildState::Inprogress),
];

/// A completed check run's `conclusion` (REST reference, "Create a check run": `success`,
/// `failure`, `neutral`, `cancelled`, `skipped`, `timed_out`, `action_required`; "only
/// GitHub can change a check run conclusion to `stale`"; `startup_failure` is a workflow
/// run's), as docs/github.md's table reports it; any other value is STOPPED.
const CHECK_RUN_CONCLUSION: &[(&str, BuildState)] = &[
    ("success", BuildState::Successful),
    ("neutral", BuildState::Successful),
    ("skipped", BuildState::Successful),
    ("failure", BuildState::Failed),
    ("timed_out", BuildState::Failed),
    ("action_required", BuildState::Failed),
    ("startup_failure", BuildState::Failed),
    ("cancelled", BuildState::Stopped),
    ("stale", BuildState::Stopped),
];

/// A commit status's `state` (REST reference, "Commit statuses": `error`, `failure`,
/// `pending` or `success`); any other value is STOPPED.
const COMMIT_STATUS_STATE: &[(&str, BuildState)] = &[
    ("success", BuildState::Successful),
    ("failure", BuildState::Failed),
    ("error", BuildState::Failed),
    ("pending", BuildState::Inprogress),
];

/// What a review does to its author's verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Verdict {
    Sets(ReviewState),
    /// Leaves an earlier verdict as it was.
    Keeps,
    /// Not a submitted review: not counted at all.
    Skipped,
}

/// A pull request review's `state` (REST reference, "Reviews for a pull request":
/// `APPROVED`, `CHANGES_REQUESTED`, `COMMENTED`, `DISMISSED`, `PENDING`), read in any case,
/// as docs/github.md describes: DISMISSED withdraws the verdict, COMMENTED leaves it, a
/// PENDING review is not submitted yet.
const REVIEW_STATES: &[(&str, Verdict)] = &[
    ("APPROVED", Verdict::Sets(ReviewState::Approved)),
    ("CHANGES_REQUESTED", Verdict::Sets(ReviewState::ChangesRequested)),
    ("DISMISSED", Verdict::Sets(ReviewState::Pending)),
    ("COMMENTED", Verdict::Keeps),
    ("PENDING", Verdict::Skipped),
];

/// A pull request's `state` (REST reference, "Pulls": `open` or `closed`); a closed one with
/// `merged_at` (or `merged: true`) is MERGED.
const PR_STATES: &[(&str, PrState)] = &[("open", PrState::Open), ("closed", PrState::Declined)];

/// The users GitHub answers name: a user is the same as another exactly when it is the same
/// entry (by id when both have one, else by login); `carol` has no id, user 4 no login.
fn gh_users() -> Vec<Value> {
    vec![
        json!({"login": "ann", "id": 1, "type": "User"}),
        json!({"login": "Bob", "id": 2, "type": "User"}),
        json!({"login": "carol"}),
        json!({"id": 4, "type": "Bot"}),
        json!({"login": "dave", "id": 5, "site_admin": false}),
    ]
}

fn gh_name(u: &Value) -> String {
    opt_str(&u["login"]).unwrap_or_else(|| "unknown".into())
}

/// (user, state, submitted_at) of a review.
type GhReview = (Option<usize>, String, Option<String>);

fn gh_review() -> impl Strategy<Value = GhReview> {
    (
        prop::option::of(0..5usize),
        prop_oneof![
            prop::sample::select(vec![
                "APPROVED",
                "CHANGES_REQUESTED",
                "DISMISSED",
                "COMMENTED",
                "PENDING",
                "approved",
                "Changes_Requested"
            ])
            .prop_map(String::from),
            ".{0,8}"
        ],
        prop::option::of("2026-01-01T00:00:0[0-9]Z"),
    )
}

#[derive(Debug, Clone)]
struct GhPr {
    json: Value,
    number: u64,
    state: String,
    merged: bool,
    author: Option<usize>,
    requested: Option<Vec<usize>>,
    teams: Option<Vec<(Option<String>, Option<String>)>>,
    comments: Option<(u32, Option<u32>)>,
}

fn gh_pr() -> impl Strategy<Value = GhPr> {
    (
        (
            any::<u64>(),
            opt_string(),
            prop_oneof![any_case("open"), any_case("closed")],
            prop::option::of(Just("2026-01-03T00:00:00Z".to_string())),
            prop::option::of(any::<bool>()),
            prop::option::of(any::<bool>()),
            opt_string(),
            prop::option::of(0..5usize),
        ),
        (
            (opt_string(), prop::option::of(hex40()), opt_string()),
            (opt_string(), opt_string()),
            prop::option::of((any::<u32>(), prop::option::of(any::<u32>()))),
            prop::option::of(prop::collection::vec(0..5usize, 0..4)),
            prop::option::of(prop::collection::vec((opt_string(), opt_string()), 0..3)),
        ),
    )
        .prop_map(
            |(
                (number, title, state, merged_at, merged, draft, html_url, author),
                ((head_ref, head_sha, base_ref), (created, updated), comments, requested, teams),
            )| {
                let users = gh_users();
                let mut json = json!({
                    "url": "https://api.github.com/repos/acme/widget/pulls/1", "id": 99, "number": number,
                    "title": title, "state": state, "locked": false, "merged_at": merged_at, "draft": draft,
                    "html_url": html_url, "user": author.map(|a| users[a].clone()),
                    "head": {"ref": head_ref, "sha": head_sha, "label": "acme:x", "repo": null},
                    "base": {"ref": base_ref, "sha": "1111111111111111111111111111111111111111"},
                    "created_at": created, "updated_at": updated,
                    "requested_reviewers": requested.as_ref().map(|r| r.iter().map(|u| users[*u].clone()).collect::<Vec<_>>()),
                    "requested_teams": teams.as_ref().map(|t| t.iter().map(|(n, s)| json!({"name": n, "slug": s, "id": 3})).collect::<Vec<_>>()),
                });
                if let Some(m) = merged {
                    json["merged"] = m.into();
                }
                if let Some((c, rc)) = comments {
                    json["comments"] = c.into();
                    if let Some(rc) = rc {
                        json["review_comments"] = rc.into();
                    }
                }
                GhPr {
                    json,
                    number,
                    state,
                    merged: merged_at.is_some() || merged == Some(true),
                    author,
                    requested,
                    teams,
                    comments,
                }
            },
        )
}

fn same_gh_pr(pr: &PullRequest, src: &GhPr, reviews: &[GhReview]) -> Result<(), TestCaseError> {
    let users = gh_users();
    let j = &src.json;
    prop_assert_eq!(pr.id, src.number);
    prop_assert_eq!(&pr.title, &opt_str(&j["title"]).unwrap_or_default());
    let state = match documented_any_case(PR_STATES, Some(&src.state), PrState::Declined) {
        PrState::Declined if src.merged => PrState::Merged,
        state => state,
    };
    prop_assert_eq!(pr.state, state);
    prop_assert_eq!(pr.draft, j["draft"].as_bool());
    prop_assert_eq!(&pr.url, &opt_str(&j["html_url"]));
    prop_assert_eq!(&pr.author, &src.author.and_then(|a| opt_str(&users[a]["login"])));
    prop_assert_eq!(&pr.source_branch, &opt_str(&j["head"]["ref"]));
    prop_assert_eq!(&pr.source_commit, &opt_str(&j["head"]["sha"]));
    prop_assert_eq!(&pr.destination_branch, &opt_str(&j["base"]["ref"]));
    prop_assert_eq!(&pr.created_on, &opt_str(&j["created_at"]));
    prop_assert_eq!(&pr.updated_on, &opt_str(&j["updated_at"]));
    prop_assert_eq!(pr.open_tasks, None);
    prop_assert_eq!(
        pr.comment_count,
        src.comments.map(|(c, rc)| c.saturating_add(rc.unwrap_or(0)))
    );
    // Each reviewer's latest APPROVED / CHANGES_REQUESTED decides, DISMISSED withdraws it,
    // COMMENTED leaves it, other states are skipped; in submission order; not the author.
    let mut sorted: Vec<&GhReview> = reviews.iter().collect();
    sorted.sort_by(|a, b| a.2.cmp(&b.2));
    let mut want: Vec<(usize, Reviewer)> = Vec::new();
    // A verdict's evidence is its review's submitted_at and commit_id (every review here was
    // given at SHA): stale when the PR's head is another commit; a withdrawn one has none.
    let head = opt_str(&j["head"]["sha"]);
    let given = |name: String, state: ReviewState, at: &Option<String>| {
        let mut r = reviewer(name, state);
        if state != ReviewState::Pending {
            r.approved_at = at.clone();
            r.commit = Some(SHA.to_string());
            r.stale = head.as_deref().is_some_and(|h| !h.eq_ignore_ascii_case(SHA));
        }
        r
    };
    for (user, state, at) in sorted {
        let Some(user) = *user else { continue };
        if Some(user) == src.author {
            continue;
        }
        let verdict = match documented_any_case(REVIEW_STATES, Some(state), Verdict::Skipped) {
            Verdict::Sets(s) => Some(s),
            Verdict::Keeps => None,
            Verdict::Skipped => continue,
        };
        match want.iter_mut().find(|(u, _)| *u == user) {
            Some((_, r)) => {
                if let Some(v) = verdict {
                    *r = given(r.name.clone(), v, at);
                }
            }
            None => want.push((
                user,
                given(gh_name(&users[user]), verdict.unwrap_or(ReviewState::Pending), at),
            )),
        }
    }
    for &user in src.requested.iter().flatten() {
        if Some(user) != src.author && !want.iter().any(|(u, _)| *u == user) {
            want.push((user, reviewer(gh_name(&users[user]), ReviewState::Pending)));
        }
    }
    let mut want: Vec<Reviewer> = want.into_iter().map(|(_, r)| r).collect();
    for (name, slug) in src.teams.iter().flatten() {
        if let Some(n) = name.clone().or(slug.clone()) {
            want.push(reviewer(n, ReviewState::Pending));
        }
    }
    same_reviews(pr, &want)?;
    prop_assert!(pr.builds.is_empty());
    Ok(())
}

#[test]
fn well_formed_github_pull_requests_and_reviews_round_trip() {
    let case = (
        prop::collection::vec((gh_pr(), prop::collection::vec(gh_review(), 0..8)), 0..4),
        arb_json(),
    );
    check("GitHub PRs and reviews round trip", 500, case, |(prs, unknown)| {
        let mut page: Vec<Value> = prs.iter().map(|(p, _)| p.json.clone()).collect();
        if let Some(first) = page.first_mut() {
            first["some_future_field"] = unknown;
        }
        let parsed = ok(github::parse_pull_request_page(&serde_json::to_vec(&page).unwrap()))?;
        prop_assert_eq!(parsed.len(), prs.len());
        for (got, (src, _)) in parsed.iter().zip(&prs) {
            same_gh_pr(got, src, &[])?;
        }
        let users = gh_users();
        for (src, reviews) in &prs {
            let pr = serde_json::to_vec(&src.json).unwrap();
            same_gh_pr(&ok(github::parse_pull_request(&pr))?, src, &[])?;
            let body = json!(reviews
                .iter()
                .enumerate()
                .map(|(i, (u, state, at))| json!({
                    "id": i, "user": u.map(|u| users[u].clone()), "state": state, "submitted_at": at,
                    "body": "", "commit_id": SHA, "author_association": "MEMBER"
                }))
                .collect::<Vec<_>>());
            let with = ok(github::parse_pull_request_with_reviews(
                &pr,
                &serde_json::to_vec(&body).unwrap(),
            ))?;
            same_gh_pr(&with, src, reviews)?;
        }
        Ok(())
    });
}

/// A check run's four-state build state, from the two tables.
fn check_run_state(status: Option<&str>, conclusion: Option<&str>) -> BuildState {
    match status {
        None | Some("completed") => documented(CHECK_RUN_CONCLUSION, conclusion, BuildState::Stopped),
        running => documented(CHECK_RUN_STATUS, running, BuildState::Stopped),
    }
}

#[test]
fn well_formed_check_runs_and_combined_statuses_round_trip() {
    let word = |words: Vec<&'static str>| {
        prop::option::of(prop_oneof![4 => prop::sample::select(words).prop_map(String::from), 1 => ".{0,10}"])
    };
    let run = (
        opt_string(),
        word(vec![
            "queued",
            "in_progress",
            "completed",
            "waiting",
            "requested",
            "pending",
        ]),
        word(vec![
            "success",
            "neutral",
            "skipped",
            "failure",
            "timed_out",
            "action_required",
            "startup_failure",
            "cancelled",
            "stale",
        ]),
        opt_string(),
        opt_string(),
    );
    let status = (
        opt_string(),
        word(vec!["success", "failure", "error", "pending"]),
        opt_string(),
    );
    let case = (prop::collection::vec(run, 0..6), prop::collection::vec(status, 0..6));
    check(
        "GitHub check runs and statuses round trip",
        800,
        case,
        |(runs, statuses)| {
            let body = json!({"total_count": runs.len(), "check_runs": runs.iter().map(|(n, s, c, d, h)| json!({
            "id": 1, "name": n, "status": s, "conclusion": c, "details_url": d, "html_url": h,
            "app": {"slug": "github-actions"}
        })).collect::<Vec<_>>()});
            let got = ok(github::parse_check_runs(&serde_json::to_vec(&body).unwrap()))?;
            let want: Vec<Build> = runs
                .iter()
                .map(|(n, s, c, d, h)| {
                    let name = n.clone().unwrap_or_default();
                    Build::new(
                        name.clone(),
                        Some(name),
                        check_run_state(s.as_deref(), c.as_deref()),
                        d.clone().or(h.clone()),
                    )
                })
                .collect();
            prop_assert_eq!(got, want);
            let body = json!({"state": "pending", "sha": SHA, "total_count": statuses.len(),
            "statuses": statuses.iter().map(|(c, s, u)| json!({"context": c, "state": s, "target_url": u, "id": 5})).collect::<Vec<_>>()});
            let got = ok(github::parse_combined_status(&serde_json::to_vec(&body).unwrap()))?;
            let want: Vec<Build> = statuses
                .iter()
                .map(|(c, s, u)| {
                    let context = c.clone().unwrap_or_default();
                    let state = documented(COMMIT_STATUS_STATE, s.as_deref(), BuildState::Stopped);
                    Build::new(context.clone(), Some(context), state, u.clone())
                })
                .collect();
            prop_assert_eq!(got, want);
            Ok(())
        },
    );
}

#[test]
fn well_formed_github_events_name_the_right_target() {
    let event = prop::sample::select(vec![
        "pull_request",
        "pull_request_target",
        "pull_request_review",
        "pull_request_review_comment",
        "merge_group",
        "push",
        "workflow_dispatch",
        "",
    ]);
    let case = (
        event,
        1u64..10_000_000,
        prop::option::of(hex40()),
        prop::option::of(hex40()),
        any::<bool>(),
        arb_json(),
    );
    check(
        "GitHub event payloads",
        2000,
        case,
        |(name, number, head, sha, queue, unknown)| {
            let payload = match name {
                "merge_group" => json!({"action": "checks_requested", "merge_group": {
                "head_sha": head,
                "head_ref": if queue { format!("refs/heads/gh-readonly-queue/main/pr-{number}-{}", head.as_deref().unwrap_or("abc123")) }
                           else { "refs/heads/feature/x".to_string() },
                "base_ref": "refs/heads/main"
            }, "sender": unknown}),
                n if n.starts_with("pull_request") => json!({"action": "synchronize", "number": number,
                "pull_request": {"number": number, "head": {"sha": head, "ref": "x"}, "title": unknown}}),
                _ => json!({"ref": "refs/heads/main", "after": sha, "x": unknown}),
            };
            let got = github::parse_event(name, &serde_json::to_vec(&payload).unwrap(), sha.as_deref());
            let lower = |s: &Option<String>| s.as_ref().map(|s| s.to_ascii_lowercase());
            let want = match name {
                n if n.starts_with("pull_request") => Some(Target::Pr {
                    number,
                    commit: lower(&head).or(lower(&sha)),
                    base: None,
                }),
                "merge_group" => lower(&head).or(lower(&sha)).map(|commit| match queue {
                    true => Target::Pr {
                        number,
                        commit: Some(commit),
                        base: Some("main".into()),
                    },
                    false => Target::Commit(commit),
                }),
                _ => lower(&sha).map(Target::Commit),
            };
            match (got, want) {
                (Ok(got), Some(want)) => prop_assert_eq!(got, want),
                (Err(e), None) => {
                    prop_assert_eq!(e.kind(), ErrorKind::Config);
                    prop_assert!(e.to_string().starts_with("GITHUB_SHA is not set"), "{}", e);
                }
                (got, want) => prop_assert!(false, "{} gave {:?}, expected {:?}", name, got, want),
            }
            Ok(())
        },
    );
}
