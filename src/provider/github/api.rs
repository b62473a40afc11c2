//! GitHub's JSON, only the fields used (unknown fields are ignored), its normalization, and
//! the parsers of GitHub answers on their own.

use serde::Deserialize;

use super::FORGE;
use crate::error::Result;
use crate::model::{Build, BuildState, PrState, PullRequest, ReviewState, Reviewer};
use crate::provider::parse_body;

#[derive(Debug, Deserialize, Default)]
pub(super) struct ApiUser {
    login: Option<String>,
    id: Option<u64>,
}

impl ApiUser {
    fn name(&self) -> String {
        self.login.clone().unwrap_or_else(|| "unknown".into())
    }

    fn same(&self, other: &ApiUser) -> bool {
        match (self.id, other.id) {
            (Some(a), Some(b)) => a == b,
            _ => self.login.is_some() && self.login == other.login,
        }
    }

    /// A key that tells users apart across reviews.
    fn key(&self) -> String {
        match (self.id, &self.login) {
            (Some(id), _) => format!("id:{id}"),
            (None, Some(login)) => format!("login:{}", login.to_ascii_lowercase()),
            (None, None) => String::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct ApiTeam {
    name: Option<String>,
    slug: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ApiRef {
    #[serde(rename = "ref")]
    name: Option<String>,
    sha: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ApiPr {
    pub(super) number: u64,
    pub(super) title: Option<String>,
    pub(super) state: Option<String>,
    pub(super) merged_at: Option<String>,
    pub(super) merged: Option<bool>,
    pub(super) draft: Option<bool>,
    pub(super) html_url: Option<String>,
    pub(super) user: Option<ApiUser>,
    pub(super) head: Option<ApiRef>,
    pub(super) base: Option<ApiRef>,
    pub(super) created_at: Option<String>,
    pub(super) updated_at: Option<String>,
    /// Only in the single-PR answer, not in lists.
    pub(super) comments: Option<u32>,
    pub(super) review_comments: Option<u32>,
    pub(super) requested_reviewers: Option<Vec<ApiUser>>,
    pub(super) requested_teams: Option<Vec<ApiTeam>>,
    /// Only in the single-PR answer: GitHub's merge verdict, `null` while it is computed.
    pub(super) mergeable: Option<bool>,
    pub(super) mergeable_state: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ApiReview {
    pub(super) user: Option<ApiUser>,
    pub(super) state: Option<String>,
    pub(super) submitted_at: Option<String>,
    /// The PR head the review was given at.
    pub(super) commit_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct CheckRuns {
    /// Required: an answer without its list is malformed, never "no builds".
    pub(super) check_runs: Vec<CheckRun>,
    pub(super) total_count: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub(super) struct CheckRun {
    name: Option<String>,
    status: Option<String>,
    conclusion: Option<String>,
    details_url: Option<String>,
    html_url: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct CombinedStatus {
    /// Required, as for check runs.
    pub(super) statuses: Vec<CommitStatus>,
    pub(super) total_count: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub(super) struct CommitStatus {
    context: Option<String>,
    state: Option<String>,
    target_url: Option<String>,
}

/// A check run's `status`, or its `conclusion` once `completed`, as the four build states (docs/contract.md).
/// Values GitHub may add later count as STOPPED: not running, not a success.
pub(super) fn check_state(status: Option<&str>, conclusion: Option<&str>) -> BuildState {
    match status.unwrap_or("completed") {
        "completed" => match conclusion.unwrap_or("") {
            "success" | "neutral" | "skipped" => BuildState::Successful,
            "failure" | "timed_out" | "action_required" | "startup_failure" => BuildState::Failed,
            _ => BuildState::Stopped,
        },
        "queued" | "in_progress" | "waiting" | "requested" | "pending" => BuildState::Inprogress,
        _ => BuildState::Stopped,
    }
}

/// A commit status's `state`.
pub(super) fn status_state(state: Option<&str>) -> BuildState {
    match state.unwrap_or("") {
        "success" => BuildState::Successful,
        "failure" | "error" => BuildState::Failed,
        "pending" => BuildState::Inprogress,
        _ => BuildState::Stopped,
    }
}

/// A commit's builds: its check runs, then its commit statuses, every page of each.
pub(super) fn to_builds(runs: Vec<CheckRun>, statuses: Vec<CommitStatus>) -> Vec<Build> {
    let mut builds: Vec<Build> = runs.into_iter().map(CheckRun::build).collect();
    builds.extend(statuses.into_iter().map(CommitStatus::build));
    builds
}

impl CheckRun {
    fn build(self) -> Build {
        let name = self.name.unwrap_or_default();
        Build::new(
            name.clone(),
            Some(name),
            check_state(self.status.as_deref(), self.conclusion.as_deref()),
            self.details_url.or(self.html_url),
        )
    }
}

impl CommitStatus {
    fn build(self) -> Build {
        let context = self.context.unwrap_or_default();
        Build::new(
            context.clone(),
            Some(context),
            status_state(self.state.as_deref()),
            self.target_url,
        )
    }
}

/// Each reviewer's standing verdict: the latest APPROVED or CHANGES_REQUESTED decides; a
/// DISMISSED review withdraws it; COMMENTED leaves it as it was (GitHub's own rule). Someone
/// who only commented, or whose verdict was dismissed, is listed as pending. The deciding
/// review's `submitted_at` and `commit_id` are the verdict's evidence: given at `head` or
/// stale.
fn verdicts(mut reviews: Vec<&ApiReview>, author: &ApiUser, head: Option<&str>) -> Vec<(String, Reviewer)> {
    // GitHub lists reviews oldest first; sort anyway (stable) in case a server does not.
    reviews.sort_by(|a, b| a.submitted_at.cmp(&b.submitted_at));
    let mut out: Vec<(String, Reviewer)> = Vec::new();
    for r in reviews {
        let Some(user) = &r.user else { continue };
        if user.same(author) {
            continue;
        }
        let verdict = match r.state.as_deref().map(str::to_ascii_uppercase).as_deref() {
            Some("APPROVED") => Some(ReviewState::Approved),
            Some("CHANGES_REQUESTED") => Some(ReviewState::ChangesRequested),
            Some("DISMISSED") => Some(ReviewState::Pending),
            Some("COMMENTED") => None,
            // PENDING is a draft review only its writer can see; anything else is unknown.
            _ => continue,
        };
        let given = |state: ReviewState| match state {
            ReviewState::Pending => Reviewer::new(user.name(), state),
            _ => Reviewer::new(user.name(), state)
                .given_on(r.submitted_at.as_deref())
                .given_at(r.commit_id.as_deref(), head),
        };
        let key = user.key();
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => {
                if let Some(v) = verdict {
                    entry.1 = given(v);
                }
            }
            None => out.push((key, given(verdict.unwrap_or(ReviewState::Pending)))),
        }
    }
    out
}

impl ApiPr {
    /// The branch it merges into.
    pub(super) fn base_branch(&self) -> Option<&str> {
        self.base.as_ref()?.name.as_deref().filter(|b| !b.is_empty())
    }

    pub(super) fn head_sha(&self) -> Option<&str> {
        self.head.as_ref()?.sha.as_deref()
    }

    pub(super) fn normalize(self, reviews: &[ApiReview], builds: Vec<Build>) -> Result<PullRequest> {
        let merged = self.merged_at.is_some() || self.merged == Some(true);
        let known = [("open", PrState::Open), ("closed", PrState::Declined)];
        let state = match PrState::from_forge(self.state.as_deref(), &known, || {
            format!("{FORGE} sent pull request #{} with state", self.number)
        })? {
            PrState::Declined if merged => PrState::Merged,
            state => state,
        };
        let mut pr = PullRequest::new(self.number, self.title.clone().unwrap_or_default(), state);
        pr.draft = self.draft;
        pr.url = self.html_url.clone();
        pr.author = self.user.as_ref().and_then(|u| u.login.clone());
        pr.source_branch = self.head.as_ref().and_then(|h| h.name.clone());
        pr.destination_branch = self.base.as_ref().and_then(|b| b.name.clone());
        pr.source_commit = self.head_sha().map(String::from);
        pr.created_on = self.created_at.clone();
        pr.updated_on = self.updated_at.clone();
        // GitHub has no tasks; comments come only with the single-PR answer.
        pr.open_tasks = None;
        pr.comment_count = self
            .comments
            .map(|c| c.saturating_add(self.review_comments.unwrap_or(0)));
        let author = self.user.unwrap_or_default();
        let mut reviewers = verdicts(reviews.iter().collect(), &author, pr.source_commit.as_deref());
        for user in self.requested_reviewers.unwrap_or_default() {
            let key = user.key();
            if !user.same(&author) && !reviewers.iter().any(|(k, _)| *k == key) {
                reviewers.push((key, Reviewer::new(user.name(), ReviewState::Pending)));
            }
        }
        for team in self.requested_teams.unwrap_or_default() {
            if let Some(name) = team.name.or(team.slug) {
                reviewers.push((String::new(), Reviewer::new(name, ReviewState::Pending)));
            }
        }
        pr.set_reviews(reviewers.into_iter().map(|(_, r)| r));
        pr.builds = builds;
        Ok(pr)
    }
}

// ---- The parsers of GitHub answers on their own (the event payload's is `event::parse_event`), for property tests
// and fuzzing. They run the same deserialization and normalization as the lookup (`ApiPr`,
// `ApiReview`, `CheckRuns`, `CombinedStatus`, `Event` and `target_of`); only the HTTP, and for
// the event the file, is missing.

/// Parses one page of `/commits/{sha}/pulls` (a JSON array) into normalized pull requests
/// without reviews or builds. Any answer that is not such a page is an `Error::Api`; it never
/// panics, whatever the bytes.
pub fn parse_pull_request_page(body: &[u8]) -> Result<Vec<PullRequest>> {
    let page: Vec<ApiPr> = parse_body("a page of pull requests", body)?;
    page.into_iter().map(|p| p.normalize(&[], Vec::new())).collect()
}

/// Parses one pull request (`/pulls/{number}`) into a normalized pull request without reviews
/// or builds (requested reviewers and teams are listed as pending).
pub fn parse_pull_request(body: &[u8]) -> Result<PullRequest> {
    parse_body::<ApiPr>("a pull request", body)?.normalize(&[], Vec::new())
}

/// Parses a pull request and one page of its reviews (`/pulls/{number}/reviews`, a JSON array)
/// into the normalized pull request with each reviewer's standing verdict, as the lookup
/// combines them.
pub fn parse_pull_request_with_reviews(pr: &[u8], reviews: &[u8]) -> Result<PullRequest> {
    let pr: ApiPr = parse_body("a pull request", pr)?;
    let reviews: Vec<ApiReview> = parse_body("a page of reviews", reviews)?;
    pr.normalize(&reviews, Vec::new())
}

/// Parses one page of `/commits/{ref}/check-runs` into builds.
pub fn parse_check_runs(body: &[u8]) -> Result<Vec<Build>> {
    let page: CheckRuns = parse_body("a page of check runs", body)?;
    Ok(to_builds(page.check_runs, Vec::new()))
}

/// Parses one page of `/commits/{ref}/status` (the combined status) into builds.
pub fn parse_combined_status(body: &[u8]) -> Result<Vec<Build>> {
    let page: CombinedStatus = parse_body("a combined status", body)?;
    Ok(to_builds(Vec::new(), page.statuses))
}
