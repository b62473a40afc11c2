//! The normalized pull-request model. Providers translate their JSON into these types at the
//! edge; the gate and the summary writers only ever see this.

use serde::Serialize;

use crate::exit::ExitCode;

/// True when a (possibly abbreviated) commit id names the same commit as another.
pub fn same_commit(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    a.len().min(b.len()) >= 7 && (a.starts_with(&b) || b.starts_with(&a))
}

/// The repository a lookup is about, as the summaries name it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Repository {
    pub full_name: String,
    pub url: Option<String>,
}

/// What a forge can report at all. The gate refuses, before any request, the `REQUIRE`
/// conditions a forge without the capability could never answer (`gate::refuse_unanswerable`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Pull requests have tasks (Bitbucket), so `open_tasks` can be counted.
    pub tasks: bool,
}

impl Capabilities {
    /// Everything the model holds.
    pub const ALL: Capabilities = Capabilities { tasks: true };
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities::ALL
    }
}

/// The gate's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    Pending,
    Error,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Pending => "pending",
            Outcome::Error => "error",
        }
    }

    /// The exit code of a finished lookup (errors carry their own, see `Error::exit_code`).
    pub fn exit_code(self) -> ExitCode {
        match self {
            Outcome::Pass => ExitCode::Pass,
            Outcome::Fail => ExitCode::Fail,
            Outcome::Pending => ExitCode::Pending,
            Outcome::Error => ExitCode::Api,
        }
    }
}

/// SPEC's four pull-request states. GitHub/GitLab closed-unmerged map to `Declined`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum PrState {
    Open,
    Merged,
    Declined,
    Superseded,
}

impl PrState {
    pub fn as_str(self) -> &'static str {
        match self {
            PrState::Open => "OPEN",
            PrState::Merged => "MERGED",
            PrState::Declined => "DECLINED",
            PrState::Superseded => "SUPERSEDED",
        }
    }
}

/// A reviewer's current verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    Approved,
    ChangesRequested,
    Pending,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reviewer {
    pub name: String,
    pub state: ReviewState,
}

/// SPEC's four build states; providers map everything else onto these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum BuildState {
    Successful,
    Failed,
    Inprogress,
    Stopped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Build {
    pub key: String,
    pub name: Option<String>,
    pub state: BuildState,
    pub url: Option<String>,
    /// Left out of `builds-passed`: listed in `IGNORE_BUILDS`, or the status of the running
    /// pipeline itself. Set by the gate, not by providers. (An addition to SPEC's fields.)
    pub ignored: bool,
    /// Named in `REQUIRED_BUILDS`. Set by the gate, not by providers.
    pub required: bool,
    /// The CI run (pipeline) this status belongs to, when the forge says: how the running
    /// pipeline's own statuses are recognised (`ci::CurrentRun::is_own`). Not in the summaries.
    #[serde(skip)]
    pub run: Option<String>,
}

impl Build {
    pub fn new(key: impl Into<String>, name: Option<String>, state: BuildState, url: Option<String>) -> Self {
        Build {
            key: key.into(),
            name,
            state,
            url,
            ignored: false,
            required: false,
            run: None,
        }
    }

    /// The same build, as part of CI run `run` (for GitLab the pipeline id).
    pub fn in_run(mut self, run: impl Into<String>) -> Self {
        self.run = Some(run.into());
        self
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BuildSummary {
    pub successful: u32,
    pub failed: u32,
    pub in_progress: u32,
    pub stopped: u32,
}

impl BuildSummary {
    pub fn of(builds: &[Build]) -> Self {
        let mut s = BuildSummary::default();
        for b in builds {
            match b.state {
                BuildState::Successful => s.successful += 1,
                BuildState::Failed => s.failed += 1,
                BuildState::Inprogress => s.in_progress += 1,
                BuildState::Stopped => s.stopped += 1,
            }
        }
        s
    }
}

/// One pull (merge) request as every provider reports it. A field the provider does not
/// offer is `None` (JSON `null`), never a made-up value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PullRequest {
    pub id: u64,
    pub title: String,
    pub state: PrState,
    pub draft: Option<bool>,
    pub url: Option<String>,
    pub author: Option<String>,
    pub source_branch: Option<String>,
    pub destination_branch: Option<String>,
    pub source_commit: Option<String>,
    pub created_on: Option<String>,
    pub updated_on: Option<String>,
    /// Approvals by anyone but the author.
    pub approvals: u32,
    pub changes_requested: u32,
    pub reviewers: Vec<Reviewer>,
    pub open_tasks: Option<u32>,
    pub comment_count: Option<u32>,
    pub builds: Vec<Build>,
    /// The forge did not say which commit is the PR's head, so its builds could not be read:
    /// `builds-passed` is never met. Not in the summaries (the builds list is empty there).
    #[serde(skip)]
    pub builds_unknown: bool,
    /// The forge sent no reviewer verdicts at all (the list was left out, or its API is
    /// missing on an older server): `no-changes-requested` is never met. Not in the summaries.
    #[serde(skip)]
    pub reviews_unknown: bool,
}

impl PullRequest {
    /// A pull request with only the required fields set; providers fill in the rest.
    pub fn new(id: u64, title: impl Into<String>, state: PrState) -> Self {
        PullRequest {
            id,
            title: title.into(),
            state,
            draft: None,
            url: None,
            author: None,
            source_branch: None,
            destination_branch: None,
            source_commit: None,
            created_on: None,
            updated_on: None,
            approvals: 0,
            changes_requested: 0,
            reviewers: Vec::new(),
            open_tasks: None,
            comment_count: None,
            builds: Vec::new(),
            builds_unknown: false,
            reviews_unknown: false,
        }
    }

    /// Fills `reviewers`, `approvals` and `changes_requested` from each participant's verdict.
    /// Providers leave the author out first (they know the author's account id, which names
    /// alone cannot tell apart): SPEC counts no self-approval.
    pub fn set_reviews(&mut self, reviews: impl IntoIterator<Item = Reviewer>) {
        self.reviewers.clear();
        self.approvals = 0;
        self.changes_requested = 0;
        for r in reviews {
            match r.state {
                ReviewState::Approved => self.approvals += 1,
                ReviewState::ChangesRequested => self.changes_requested += 1,
                ReviewState::Pending => {}
            }
            self.reviewers.push(r);
        }
    }
}

/// How the pull requests were found (the summary's `lookup` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LookupKind {
    /// The commit index: every PR containing the commit.
    Commit,
    /// A PR id given by the CI (`BITBUCKET_PR_ID`, the GitHub event, `CI_MERGE_REQUEST_IID`).
    PrId,
    /// Fallback: the open PRs of `BITBUCKET_BRANCH` whose head is the commit.
    Branch,
}

/// What a provider found.
#[derive(Debug, Clone, PartialEq)]
pub struct Lookup {
    pub kind: LookupKind,
    pub pull_requests: Vec<PullRequest>,
}

impl BuildState {
    /// Bitbucket's names (Cloud and Data Center). Data Center's `CANCELLED` and `UNKNOWN`, and
    /// any state a newer server invents, count as `STOPPED`: not running, not a success.
    pub fn from_bitbucket(state: &str) -> BuildState {
        match state.to_ascii_uppercase().as_str() {
            "SUCCESSFUL" => BuildState::Successful,
            "FAILED" => BuildState::Failed,
            "INPROGRESS" | "IN_PROGRESS" => BuildState::Inprogress,
            _ => BuildState::Stopped,
        }
    }
}
