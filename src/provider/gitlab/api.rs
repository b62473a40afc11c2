//! GitLab's JSON, only the fields used (unknown fields are ignored), and its normalization;
//! and the parsers of GitLab answers on their own, for property tests and fuzzing.

use serde::Deserialize;

use super::rules::rfc3339;
use super::FORGE;
use crate::error::Result;
use crate::model::{Build, BuildState, PrState, PullRequest, ReviewState, Reviewer};
use crate::provider::parse_body;

#[derive(Debug, Deserialize, Default, Clone)]
pub(super) struct ApiUser {
    pub(super) id: Option<u64>,
    pub(super) name: Option<String>,
    pub(super) username: Option<String>,
}

impl ApiUser {
    pub(super) fn display(&self) -> String {
        self.name
            .clone()
            .or_else(|| self.username.clone())
            .unwrap_or_else(|| "unknown".into())
    }

    pub(super) fn same(&self, other: &ApiUser) -> bool {
        match (self.id, other.id) {
            (Some(a), Some(b)) => a == b,
            _ => self.username.is_some() && self.username == other.username,
        }
    }
}

#[derive(Debug, Deserialize, Clone)]
pub(super) struct ApiPipeline {
    pub(super) id: Option<u64>,
    pub(super) status: Option<String>,
    pub(super) web_url: Option<String>,
    #[serde(rename = "ref")]
    pub(super) name: Option<String>,
}

/// A commit status: a CI job, or a status an external service posted (filed by GitLab, stage
/// `external`, under the pipeline it names, else the commit's newest pipeline on its ref, else
/// a new pipeline of its own).
#[derive(Debug, Deserialize)]
pub(crate) struct ApiStatus {
    pub(super) id: Option<u64>,
    pub(super) name: Option<String>,
    pub(super) status: Option<String>,
    pub(super) target_url: Option<String>,
    /// Since GitLab 16.3.
    pub(super) pipeline_id: Option<u64>,
    pub(super) allow_failure: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ApiMr {
    pub(super) iid: u64,
    pub(super) title: Option<String>,
    pub(super) state: Option<String>,
    pub(super) draft: Option<bool>,
    /// Before GitLab 14.0 (and still sent next to `draft` until 16.0).
    pub(super) work_in_progress: Option<bool>,
    pub(super) web_url: Option<String>,
    pub(super) author: Option<ApiUser>,
    pub(super) source_branch: Option<String>,
    pub(super) target_branch: Option<String>,
    pub(super) sha: Option<String>,
    pub(super) created_at: Option<String>,
    pub(super) updated_at: Option<String>,
    pub(super) user_notes_count: Option<u32>,
    pub(super) head_pipeline: Option<ApiPipeline>,
    /// The older name of the MR's latest pipeline.
    pub(super) pipeline: Option<ApiPipeline>,
    /// Reviewers without their state (in the MR itself since GitLab 13.8).
    pub(super) reviewers: Option<Vec<ApiUser>>,
    /// GitLab's own merge verdict (since GitLab 15.6): `mergeable`, a check still being
    /// computed, or the first check that blocks the merge (`REQUIRE=mergeable`).
    pub(super) detailed_merge_status: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ApiApprovals {
    #[serde(default)]
    pub(super) approved_by: Vec<ApiApprover>,
    /// How many approvals the MR's approval rules require (Premium and Ultimate; the
    /// Community Edition's answer has no such field).
    pub(super) approvals_required: Option<u32>,
    /// How many of them are still missing, by GitLab's count (which knows who is eligible).
    pub(super) approvals_left: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ApiApprover {
    pub(super) user: Option<ApiUser>,
    /// When the approval was given (newer servers only).
    pub(super) approved_at: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ApiReviewer {
    pub(super) user: Option<ApiUser>,
    pub(super) state: Option<String>,
}

/// A pipeline's status as the four build states (docs/contract.md).
///
/// `manual` means the pipeline is blocked on a manual job that is not allowed to fail: it
/// will not finish by itself and GitLab does not count it as succeeded, so it is STOPPED (the
/// gate fails rather than waiting for a click). `scheduled` (a delayed job) will run by
/// itself, so it is INPROGRESS. `skipped` is SUCCESSFUL, as GitHub's skipped checks are.
/// Statuses GitLab may add later count as STOPPED: not running, not a success.
pub(super) fn pipeline_state(status: &str) -> BuildState {
    match status {
        "success" | "skipped" => BuildState::Successful,
        "failed" => BuildState::Failed,
        "created"
        | "waiting_for_resource"
        | "waiting_for_callback"
        | "preparing"
        | "pending"
        | "running"
        | "scheduled" => BuildState::Inprogress,
        _ => BuildState::Stopped,
    }
}

/// A commit status's `status` as the four build states (docs/contract.md): the pipeline's mapping, except that a job
/// allowed to fail which failed, was canceled or waits for a manual start is SUCCESSFUL.
/// GitLab leaves exactly these out of a pipeline's own status (the pipeline "passed with
/// warnings"; its manual jobs are optional), so they must not fail `builds-passed` either.
pub(super) fn status_state(status: &str, allow_failure: bool) -> BuildState {
    match status {
        "failed" | "canceled" | "manual" if allow_failure => BuildState::Successful,
        other => pipeline_state(other),
    }
}

impl ApiStatus {
    pub(super) fn build(&self) -> Build {
        let name = self.name.clone().unwrap_or_else(|| "default".into());
        let state = self
            .status
            .as_deref()
            .map(|s| status_state(s, self.allow_failure == Some(true)))
            .unwrap_or(BuildState::Stopped);
        let build = Build::new(name.clone(), Some(name), state, self.target_url.clone());
        match self.pipeline_id {
            Some(id) => build.in_run(id.to_string()),
            None => build,
        }
    }
}

/// The builds beside the head pipeline: statuses of other pipelines, the newest of each name
/// (an older pipeline's verdict on the same commit is out of date). Statuses without
/// `pipeline_id` (servers before 16.3) could be the running pipeline's own jobs: left out.
pub(super) fn other_pipelines(statuses: &[ApiStatus], head_pipeline: Option<u64>) -> Vec<Build> {
    let mut newest: Vec<&ApiStatus> = Vec::new();
    for s in statuses.iter().filter(|s| s.pipeline_id.is_some()) {
        match newest.iter_mut().find(|n| n.name == s.name) {
            // Answers come oldest first; a higher id is newer whatever the order.
            Some(n) if n.id <= s.id => *n = s,
            Some(_) => {}
            None => newest.push(s),
        }
    }
    newest
        .into_iter()
        .filter(|s| s.pipeline_id != head_pipeline)
        .map(ApiStatus::build)
        .collect()
}

impl ApiPipeline {
    pub(super) fn build(self) -> Build {
        let name = match (self.id, &self.name) {
            (Some(id), Some(r)) => format!("Pipeline #{id} for {r}"),
            (Some(id), None) => format!("Pipeline #{id}"),
            (None, _) => "Pipeline".to_string(),
        };
        let build = Build::new(
            "pipeline",
            Some(name),
            self.status
                .as_deref()
                .map(pipeline_state)
                .unwrap_or(BuildState::Stopped),
            self.web_url,
        );
        match self.id {
            Some(id) => build.in_run(id.to_string()),
            None => build,
        }
    }
}

impl ApiMr {
    pub(super) fn normalize(
        self,
        approvals: Option<ApiApprovals>,
        reviewers: Option<Vec<ApiReviewer>>,
        statuses: &[ApiStatus],
    ) -> Result<PullRequest> {
        let known = [
            ("opened", PrState::Open),
            ("merged", PrState::Merged),
            ("closed", PrState::Declined),
            ("locked", PrState::Open),
        ];
        let state = PrState::from_forge(self.state.as_deref(), &known, || {
            format!("{FORGE} sent merge request !{} with state", self.iid)
        })?;
        let mut pr = PullRequest::new(self.iid, self.title.clone().unwrap_or_default(), state);
        pr.draft = self.draft.or(self.work_in_progress);
        pr.url = self.web_url.clone();
        pr.author = self.author.as_ref().map(ApiUser::display);
        pr.source_branch = self.source_branch.clone();
        pr.destination_branch = self.target_branch.clone();
        pr.source_commit = self.sha.clone();
        pr.created_on = self.created_at.clone();
        pr.updated_on = self.updated_at.clone();
        // GitLab has no tasks; user_notes_count is the discussion's comments.
        pr.open_tasks = None;
        pr.comment_count = self.user_notes_count;
        let author = self.author.clone().unwrap_or_default();
        // Each approver with the time of the approval, when the server says (RFC 3339 only:
        // the summary promises that form).
        let approvers: Vec<(ApiUser, Option<String>)> = approvals
            .map(|a| {
                a.approved_by
                    .into_iter()
                    .filter_map(|x| Some((x.user?, x.approved_at.filter(|t| rfc3339(t).is_some()))))
                    .collect()
            })
            .unwrap_or_default();
        let approved_at = |user: &ApiUser| {
            approvers
                .iter()
                .find(|(a, _)| a.same(user))
                .and_then(|(_, t)| t.clone())
        };
        // The reviewers API has each reviewer's state; older servers list reviewers only, and
        // then nobody's "changes requested" can be known.
        pr.reviews_unknown = reviewers.is_none();
        let listed: Vec<(ApiUser, Option<String>)> = match reviewers {
            Some(r) => r.into_iter().filter_map(|x| Some((x.user?, x.state))).collect(),
            None => self
                .reviewers
                .unwrap_or_default()
                .into_iter()
                .map(|u| (u, None))
                .collect(),
        };
        let mut out: Vec<(ApiUser, ReviewState)> = Vec::new();
        for (user, state) in listed {
            let verdict = if approvers.iter().any(|(a, _)| a.same(&user)) || state.as_deref() == Some("approved") {
                ReviewState::Approved
            } else if state.as_deref() == Some("requested_changes") {
                ReviewState::ChangesRequested
            } else {
                ReviewState::Pending
            };
            if !out.iter().any(|(u, _)| u.same(&user)) {
                out.push((user, verdict));
            }
        }
        // Anyone may approve, reviewer or not (docs/contract.md: every participant's approval counts).
        for (user, _) in &approvers {
            if !out.iter().any(|(u, _)| u.same(user)) {
                out.push((user.clone(), ReviewState::Approved));
            }
        }
        pr.set_reviews(out.into_iter().filter(|(u, _)| !u.same(&author)).map(|(u, state)| {
            let at = match state {
                ReviewState::Approved => approved_at(&u),
                _ => None,
            };
            Reviewer::new(u.display(), state).given_on(at.as_deref())
        }));
        let pipeline = self.head_pipeline.or(self.pipeline);
        let head_id = pipeline.as_ref().and_then(|p| p.id);
        pr.builds = pipeline.map(ApiPipeline::build).into_iter().collect();
        pr.builds.extend(other_pipelines(statuses, head_id));
        Ok(pr)
    }
}

// ---- The parsers of GitLab answers on their own, for property tests and fuzzing. They run
// the same deserialization (`ApiMr`, `ApiApprovals`, `ApiReviewer`, `ApiStatus`) and
// normalization as the lookup; only the HTTP is missing.

/// Parses one page of `/repository/commits/{sha}/merge_requests` (a JSON array) into the MR
/// numbers (iids) the lookup then fetches in full, each once. Any answer that is not such a
/// page is an `Error::Api`; it never panics, whatever the bytes.
pub fn parse_merge_request_page(body: &[u8]) -> Result<Vec<u64>> {
    let mrs: Vec<ApiMr> = parse_body("a page of merge requests", body)?;
    let mut iids: Vec<u64> = Vec::new();
    for mr in mrs {
        if !iids.contains(&mr.iid) {
            iids.push(mr.iid);
        }
    }
    Ok(iids)
}

/// Parses one merge request (`/merge_requests/{iid}`) into a normalized pull request, as when
/// the server has neither the approvals nor the reviewers API (its `reviewers` are pending)
/// and no commit statuses: its builds are its head pipeline.
pub fn parse_merge_request(body: &[u8]) -> Result<PullRequest> {
    parse_merge_request_with(body, None, None, None)
}

/// Parses a merge request with its approvals (`/merge_requests/{iid}/approvals`), one page of
/// its reviewers (`/merge_requests/{iid}/reviewers`, a JSON array) and one page of its head's
/// commit statuses (`/repository/commits/{sha}/statuses`, a JSON array) into the normalized
/// pull request, as the lookup combines them; `None` stands for an API the server does not
/// have (or, for the statuses, a head without them).
pub fn parse_merge_request_with(
    mr: &[u8],
    approvals: Option<&[u8]>,
    reviewers: Option<&[u8]>,
    statuses: Option<&[u8]>,
) -> Result<PullRequest> {
    let mr: ApiMr = parse_body("a merge request", mr)?;
    let approvals: Option<ApiApprovals> = approvals.map(|b| parse_body("the approvals", b)).transpose()?;
    let reviewers: Option<Vec<ApiReviewer>> = reviewers.map(|b| parse_body("a page of reviewers", b)).transpose()?;
    let statuses: Vec<ApiStatus> = statuses
        .map(|b| parse_body("a page of commit statuses", b))
        .transpose()?
        .unwrap_or_default();
    mr.normalize(approvals, reviewers, &statuses)
}

/// Parses one page of commit statuses (`/repository/commits/{sha}/statuses`, a JSON array)
/// into the builds they add next to an MR whose head pipeline is not among them: the newest
/// status of each name filed under a pipeline.
pub fn parse_commit_status_page(body: &[u8]) -> Result<Vec<Build>> {
    let page: Vec<ApiStatus> = parse_body("a page of commit statuses", body)?;
    Ok(other_pipelines(&page, None))
}
