//! GitLab's round trips: merge requests, approvals, reviewers and commit statuses come back
//! field for field. The oracles read the values GitLab's REST API documents from tables
//! (harness: tests/common/props.rs).

mod common;

use common::props::*;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Value};

use pr_status::model::{Build, BuildState, PrState, PullRequest, ReviewState, Reviewer};
use pr_status::provider::gitlab;

/// A pipeline's `status` (GitLab REST API, Pipelines: `created`, `waiting_for_resource`,
/// `preparing`, `pending`, `running`, `success`, `failed`, `canceled`, `skipped`, `manual`,
/// `scheduled`; newer servers add `canceling` and `waiting_for_callback`), and a commit
/// status's (Commits API: `pending`, `running`, `success`, `failed`, `canceled`, and the job
/// states above), as docs/gitlab.md's table reports them; any other value is STOPPED.
const PIPELINE_STATUS: &[(&str, BuildState)] = &[
    ("success", BuildState::Successful),
    ("skipped", BuildState::Successful),
    ("failed", BuildState::Failed),
    ("created", BuildState::Inprogress),
    ("waiting_for_resource", BuildState::Inprogress),
    ("waiting_for_callback", BuildState::Inprogress),
    ("preparing", BuildState::Inprogress),
    ("pending", BuildState::Inprogress),
    ("running", BuildState::Inprogress),
    ("scheduled", BuildState::Inprogress),
    ("manual", BuildState::Stopped),
    ("canceled", BuildState::Stopped),
    ("canceling", BuildState::Stopped),
];

/// A commit status allowed to fail (`allow_failure: true`) in one of these states is
/// SUCCESSFUL (docs/gitlab.md: GitLab leaves those out of a pipeline's status too).
const ALLOWED_FAILURE_STATES: &[&str] = &["failed", "canceled", "manual"];

/// A merge request's `state` (Merge requests API: `opened`, `closed`, `locked`, `merged`).
const MR_STATES: &[(&str, PrState)] = &[
    ("opened", PrState::Open),
    ("locked", PrState::Open),
    ("merged", PrState::Merged),
    ("closed", PrState::Declined),
];

/// A reviewer's `state` in the merge request reviewers API (`unreviewed`, `reviewed`,
/// `requested_changes`, `approved`, `unapproved`); any other value gives no verdict.
const REVIEWER_STATES: &[(&str, ReviewState)] = &[
    ("approved", ReviewState::Approved),
    ("requested_changes", ReviewState::ChangesRequested),
    ("unreviewed", ReviewState::Pending),
    ("reviewed", ReviewState::Pending),
    ("unapproved", ReviewState::Pending),
];

/// The users GitLab answers name: a user is the same as another exactly when it is the same
/// entry (by id when both have one, else by username); `sam` has no id, user 4 no name.
fn gl_users() -> Vec<Value> {
    vec![
        json!({"id": 1, "name": "Ann Author", "username": "ann", "state": "active"}),
        json!({"id": 2, "name": "Rita Reviewer", "username": "rita"}),
        json!({"username": "sam"}),
        json!({"id": 4, "name": null, "username": "max"}),
        json!({"id": 5, "name": "Zed", "username": "zed", "avatar_url": null}),
    ]
}

fn gl_name(u: &Value) -> String {
    opt_str(&u["name"])
        .or_else(|| opt_str(&u["username"]))
        .unwrap_or_else(|| "unknown".into())
}

/// (id, status, web_url, ref) of a pipeline.
type GlPipeline = (Option<u64>, Option<String>, Option<String>, Option<String>);

/// Pipeline ids: often one of the few the commit statuses below are filed under.
fn gl_pipeline_id() -> impl Strategy<Value = u64> {
    prop_oneof![3 => 500u64..504, 1 => any::<u64>()]
}

fn gl_pipeline() -> impl Strategy<Value = GlPipeline> {
    (
        prop::option::of(gl_pipeline_id()),
        prop::option::of(prop_oneof![
            4 => prop::sample::select(vec![
                "success", "skipped", "failed", "created", "waiting_for_resource", "waiting_for_callback",
                "preparing", "pending", "running", "scheduled", "canceled", "canceling", "manual",
            ])
            .prop_map(String::from),
            1 => ".{0,10}"
        ]),
        opt_string(),
        opt_string(),
    )
}

fn gl_pipeline_json(p: &GlPipeline) -> Value {
    json!({"id": p.0, "iid": 3, "project_id": 9, "sha": SHA, "status": p.1, "web_url": p.2, "ref": p.3, "source": "push"})
}

fn gl_build(p: &GlPipeline) -> Build {
    let name = match (p.0, &p.3) {
        (Some(id), Some(r)) => format!("Pipeline #{id} for {r}"),
        (Some(id), None) => format!("Pipeline #{id}"),
        (None, _) => "Pipeline".to_string(),
    };
    let build = Build::new("pipeline", Some(name), gl_state(p.1.as_deref()), p.2.clone());
    match p.0 {
        Some(id) => build.in_run(id.to_string()),
        None => build,
    }
}

fn gl_state(status: Option<&str>) -> BuildState {
    documented(PIPELINE_STATUS, status, BuildState::Stopped)
}

/// (id, name, status, target_url, pipeline_id, allow_failure) of a commit status.
type GlStatus = (
    Option<u64>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<u64>,
    Option<bool>,
);

fn gl_status() -> impl Strategy<Value = GlStatus> {
    (
        prop::option::of(0u64..20),
        prop::option::of(prop_oneof![
            4 => prop::sample::select(vec!["lint", "test", "sonar"]).prop_map(String::from),
            1 => ".{0,6}"
        ]),
        prop::option::of(prop_oneof![
            4 => prop::sample::select(vec!["success", "failed", "canceled", "manual", "running", "pending", "skipped"])
                .prop_map(String::from),
            1 => ".{0,8}"
        ]),
        opt_string(),
        prop::option::of(gl_pipeline_id()),
        prop::option::of(any::<bool>()),
    )
}

fn gl_status_json(s: &GlStatus) -> Value {
    json!({"id": s.0, "sha": SHA, "ref": "feature/x", "name": s.1, "status": s.2, "target_url": s.3,
           "pipeline_id": s.4, "allow_failure": s.5, "stage": "test", "author": {"id": 1}})
}

/// The builds commit statuses add beside the head pipeline (`head`): of those filed under a
/// pipeline, the newest (highest id) of each name, unless filed under the head pipeline.
/// Allowed failures, cancellations and manual jobs are SUCCESSFUL.
fn gl_status_builds(statuses: &[GlStatus], head: Option<u64>) -> Vec<Build> {
    let mut newest: Vec<&GlStatus> = Vec::new();
    for st in statuses.iter().filter(|st| st.4.is_some()) {
        match newest.iter_mut().find(|n| n.1 == st.1) {
            Some(n) if n.0 <= st.0 => *n = st,
            Some(_) => {}
            None => newest.push(st),
        }
    }
    newest
        .into_iter()
        .filter(|st| st.4 != head)
        .map(|(_, name, status, url, pipeline, allow)| {
            let name = name.clone().unwrap_or_else(|| "default".into());
            let state = match status.as_deref() {
                Some(s) if ALLOWED_FAILURE_STATES.contains(&s) && *allow == Some(true) => BuildState::Successful,
                other => gl_state(other),
            };
            Build::new(name.clone(), Some(name), state, url.clone()).in_run(pipeline.unwrap().to_string())
        })
        .collect()
}

#[derive(Debug, Clone)]
struct GlMr {
    json: Value,
    iid: u64,
    state: String,
    author: Option<usize>,
    head_pipeline: Option<GlPipeline>,
    pipeline: Option<GlPipeline>,
    reviewers: Option<Vec<usize>>,
}

fn gl_mr() -> impl Strategy<Value = GlMr> {
    (
        (
            any::<u64>(),
            opt_string(),
            prop_oneof![
                any_case("opened"),
                any_case("locked"),
                any_case("merged"),
                any_case("closed")
            ],
            prop::option::of(any::<bool>()),
            prop::option::of(any::<bool>()),
            opt_string(),
            prop::option::of(0..5usize),
        ),
        (
            (opt_string(), opt_string(), prop::option::of(hex40())),
            (opt_string(), opt_string(), prop::option::of(any::<u32>())),
            prop::option::of(gl_pipeline()),
            prop::option::of(gl_pipeline()),
            prop::option::of(prop::collection::vec(0..5usize, 0..4)),
        ),
    )
        .prop_map(
            |(
                (iid, title, state, draft, wip, web_url, author),
                ((source, target, sha), (created, updated, notes), head_pipeline, pipeline, reviewers),
            )| {
                let users = gl_users();
                let json = json!({
                    "id": 1000, "iid": iid, "project_id": 9, "title": title, "state": state, "draft": draft,
                    "work_in_progress": wip, "web_url": web_url, "author": author.map(|a| users[a].clone()),
                    "source_branch": source, "target_branch": target, "sha": sha,
                    "created_at": created, "updated_at": updated, "user_notes_count": notes,
                    "head_pipeline": head_pipeline.as_ref().map(gl_pipeline_json),
                    "pipeline": pipeline.as_ref().map(gl_pipeline_json),
                    "reviewers": reviewers.as_ref().map(|r| r.iter().map(|u| users[*u].clone()).collect::<Vec<_>>()),
                    "labels": [], "merge_status": "can_be_merged",
                });
                GlMr {
                    json,
                    iid,
                    state,
                    author,
                    head_pipeline,
                    pipeline,
                    reviewers,
                }
            },
        )
}

/// (user, state) of an entry of the reviewers API.
type GlReviewer = (Option<usize>, Option<String>);

fn same_gl_mr(
    pr: &PullRequest,
    src: &GlMr,
    approvers: Option<&[Option<usize>]>,
    reviewers: Option<&[GlReviewer]>,
    statuses: &[GlStatus],
) -> Result<(), TestCaseError> {
    let users = gl_users();
    let j = &src.json;
    prop_assert_eq!(pr.id, src.iid);
    prop_assert_eq!(&pr.title, &opt_str(&j["title"]).unwrap_or_default());
    // The generator sends only documented states: `otherwise` is never reached.
    let state = documented_any_case(MR_STATES, Some(&src.state), PrState::Declined);
    prop_assert_eq!(pr.state, state);
    prop_assert_eq!(pr.draft, j["draft"].as_bool().or(j["work_in_progress"].as_bool()));
    prop_assert_eq!(&pr.url, &opt_str(&j["web_url"]));
    prop_assert_eq!(&pr.author, &src.author.map(|a| gl_name(&users[a])));
    prop_assert_eq!(&pr.source_branch, &opt_str(&j["source_branch"]));
    prop_assert_eq!(&pr.destination_branch, &opt_str(&j["target_branch"]));
    prop_assert_eq!(&pr.source_commit, &opt_str(&j["sha"]));
    prop_assert_eq!(&pr.created_on, &opt_str(&j["created_at"]));
    prop_assert_eq!(&pr.updated_on, &opt_str(&j["updated_at"]));
    prop_assert_eq!(pr.open_tasks, None);
    prop_assert_eq!(pr.comment_count, j["user_notes_count"].as_u64().map(|n| n as u32));
    let pipeline = src.head_pipeline.as_ref().or(src.pipeline.as_ref());
    let mut want_builds: Vec<Build> = pipeline.map(gl_build).into_iter().collect();
    want_builds.extend(gl_status_builds(statuses, pipeline.and_then(|p| p.0)));
    prop_assert_eq!(&pr.builds, &want_builds);
    // Reviewers (from the reviewers API when the server has it, else the MR's own list) with
    // their state, approved when they approved; then every other approver; never the author.
    let approvers: Vec<usize> = approvers.unwrap_or_default().iter().flatten().copied().collect();
    let listed: Vec<(usize, Option<String>)> = match reviewers {
        Some(r) => r.iter().filter_map(|(u, s)| Some(((*u)?, s.clone()))).collect(),
        None => src.reviewers.iter().flatten().map(|u| (*u, None)).collect(),
    };
    let mut want: Vec<(usize, ReviewState)> = Vec::new();
    for (user, state) in listed {
        let verdict = match documented(REVIEWER_STATES, state.as_deref(), ReviewState::Pending) {
            _ if approvers.contains(&user) => ReviewState::Approved,
            verdict => verdict,
        };
        if !want.iter().any(|(u, _)| *u == user) {
            want.push((user, verdict));
        }
    }
    for user in approvers {
        if !want.iter().any(|(u, _)| *u == user) {
            want.push((user, ReviewState::Approved));
        }
    }
    let want: Vec<Reviewer> = want
        .into_iter()
        .filter(|(u, _)| Some(*u) != src.author)
        .map(|(u, s)| reviewer(gl_name(&users[u]), s))
        .collect();
    same_reviews(pr, &want)
}

#[test]
fn well_formed_gitlab_merge_requests_round_trip() {
    let reviewer_state = prop::option::of(prop_oneof![
        4 => prop::sample::select(vec!["unreviewed", "reviewed", "approved", "requested_changes", "unapproved"])
            .prop_map(String::from),
        1 => ".{0,10}"
    ]);
    let case = (
        prop::collection::vec(
            (
                gl_mr(),
                prop::option::of(prop::collection::vec(prop::option::of(0..5usize), 0..4)),
                prop::option::of(prop::collection::vec(
                    (prop::option::of(0..5usize), reviewer_state),
                    0..5,
                )),
                prop::collection::vec(gl_status(), 0..8),
            ),
            0..4,
        ),
        arb_json(),
    );
    check(
        "GitLab MRs, approvals, reviewers and statuses round trip",
        500,
        case,
        |(mrs, unknown)| {
            let users = gl_users();
            let mut page: Vec<Value> = mrs.iter().map(|(m, _, _, _)| m.json.clone()).collect();
            if let Some(first) = page.first_mut() {
                first["some_future_field"] = unknown;
            }
            let iids = ok(gitlab::parse_merge_request_page(&serde_json::to_vec(&page).unwrap()))?;
            let mut want: Vec<u64> = Vec::new();
            for (m, _, _, _) in &mrs {
                if !want.contains(&m.iid) {
                    want.push(m.iid);
                }
            }
            prop_assert_eq!(iids, want);
            for (src, approvers, reviewers, statuses) in &mrs {
                let mr = serde_json::to_vec(&src.json).unwrap();
                same_gl_mr(&ok(gitlab::parse_merge_request(&mr))?, src, None, None, &[])?;
                let status_page =
                    serde_json::to_vec(&Value::Array(statuses.iter().map(gl_status_json).collect())).unwrap();
                prop_assert_eq!(
                    ok(gitlab::parse_commit_status_page(&status_page))?,
                    gl_status_builds(statuses, None)
                );
                let approvals = approvers.as_ref().map(|a| {
                    serde_json::to_vec(&json!({
                    "approved": !a.is_empty(), "approvals_required": 1,
                    "approved_by": a.iter().map(|u| json!({"user": u.map(|u| users[u].clone())})).collect::<Vec<_>>()
                }))
                .unwrap()
                });
                let listed = reviewers.as_ref().map(|r| {
                serde_json::to_vec(&json!(r
                    .iter()
                    .map(|(u, s)| json!({"user": u.map(|u| users[u].clone()), "state": s, "created_at": "2026-01-01T00:00:00Z"}))
                    .collect::<Vec<_>>()))
                .unwrap()
            });
                let with = ok(gitlab::parse_merge_request_with(
                    &mr,
                    approvals.as_deref(),
                    listed.as_deref(),
                    Some(&status_page),
                ))?;
                same_gl_mr(&with, src, approvers.as_deref(), reviewers.as_deref(), statuses)?;
            }
            Ok(())
        },
    );
}
