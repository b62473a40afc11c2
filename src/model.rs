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
    /// Everything but tasks (GitHub, GitLab, Azure Repos): `no-open-tasks` is refused there.
    pub const NO_TASKS: Capabilities = Capabilities { tasks: false };
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

/// The four pull-request states (docs/contract.md). GitHub/GitLab closed-unmerged map to `Declined`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum PrState {
    Open,
    Merged,
    Declined,
    Superseded,
}

impl PrState {
    /// A forge's state word, matched without regard to case against the words its API documents
    /// (`known`, in the forge's spelling). Anything else is an `Error::Api`: `sent_with` names
    /// what sent it ("GitHub sent pull request #7 with state"), and the words expected follow.
    pub(crate) fn from_forge(
        sent: Option<&str>,
        known: &[(&str, PrState)],
        sent_with: impl FnOnce() -> String,
    ) -> crate::error::Result<PrState> {
        if let Some(&(_, state)) = known
            .iter()
            .find(|(w, _)| sent.is_some_and(|s| s.eq_ignore_ascii_case(w)))
        {
            return Ok(state);
        }
        let words: Vec<&str> = known.iter().map(|(w, _)| *w).collect();
        let expected = match words.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => words.concat(),
        };
        Err(crate::error::Error::api(
            None,
            format!("{} {:?}; expected {expected}", sent_with(), sent.unwrap_or("(none)")),
        ))
    }

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

/// One reviewer's verdict, with the evidence of what was approved and when: the summary is an
/// audit record of who approved which code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reviewer {
    pub name: String,
    pub state: ReviewState,
    /// When the verdict was given (RFC 3339), when the forge says.
    pub approved_at: Option<String>,
    /// The PR head the verdict was given at, when the forge says (or, on Bitbucket Cloud, when
    /// it follows from the dates: given after the head commit, so at the head).
    pub commit: Option<String>,
    /// The verdict was given at an older head than the PR's current one.
    pub stale: bool,
}

impl Reviewer {
    /// A verdict with no evidence yet (no time, no commit, not stale).
    pub fn new(name: impl Into<String>, state: ReviewState) -> Self {
        Reviewer {
            name: name.into(),
            state,
            approved_at: None,
            commit: None,
            stale: false,
        }
    }

    /// The same verdict, given at `commit` of a PR whose head is now `head`: `stale` when they
    /// differ (abbreviated ids match their full form).
    pub fn given_at(mut self, commit: Option<&str>, head: Option<&str>) -> Self {
        self.commit = commit.map(str::to_string);
        self.stale = match (commit, head) {
            (Some(c), Some(h)) => !same_commit(c, h),
            _ => false,
        };
        self
    }

    /// The same verdict, given at `time` (RFC 3339).
    pub fn given_on(mut self, time: Option<&str>) -> Self {
        self.approved_at = time.map(str::to_string);
        self
    }

    /// Whether the verdict is known to be given at the PR's current head: what
    /// `FRESH_APPROVALS` requires of an approval. Unknown is not fresh (fail closed).
    pub fn is_fresh(&self) -> bool {
        self.commit.is_some() && !self.stale
    }
}

/// One rule of the forge that blocks the merge, and why (`merge_vetoes` in the summary).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergeVeto {
    /// The rule's name as the forge calls it (for example `require_approvals_to_merge`,
    /// `blocked`, `not_approved`, or a Data Center veto's summary).
    pub rule: String,
    pub message: String,
}

impl MergeVeto {
    pub fn new(rule: impl Into<String>, message: impl Into<String>) -> Self {
        MergeVeto {
            rule: rule.into(),
            message: message.into(),
        }
    }
}

/// A forge's own verdict on one PR (Data Center's `.../merge`, GitHub's `mergeable_state`), as
/// the PR is normalized with it. `Default`: no verdict, which `mergeable` never passes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MergeVerdict {
    pub mergeable: Option<bool>,
    pub vetoes: Vec<MergeVeto>,
    /// The forge has not finished computing it (when the wait for it ran out): pending, never
    /// a pass or a failure.
    pub pending: bool,
}

impl MergeVerdict {
    /// Not mergeable, for the one reason given.
    pub fn blocked(rule: &str, message: String) -> MergeVerdict {
        MergeVerdict {
            mergeable: Some(false),
            vetoes: vec![MergeVeto::new(rule, message)],
            pending: false,
        }
    }

    /// Sets the PR's `mergeable`, `merge_vetoes` and `merge_pending`.
    pub fn apply(self, pr: &mut PullRequest) {
        pr.mergeable = self.mergeable;
        pr.merge_vetoes = self.vetoes;
        pr.merge_pending = self.pending;
    }
}

/// The repository's own merge rules that apply to one PR's destination branch, as far as the
/// forge says them. Read only when `MIN_APPROVALS=auto`, `REQUIRED_BUILDS=auto`,
/// `FRESH_APPROVALS=auto` or `REQUIRE=mergeable` asks for them (`Wants::rules`). A rule the
/// repository does not set is `None`/empty: no minimum, no required build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    /// The fewest approvals the rules require (GitHub `required_approving_review_count`,
    /// Cloud `require_approvals_to_merge`, GitLab `approvals_required`, ...).
    pub min_approvals: Option<u32>,
    /// Build keys or names (contexts) that must report success.
    pub required_builds: Vec<String>,
    /// Bitbucket Cloud's `require_passing_builds_to_merge`: how many builds must pass, not
    /// which.
    pub required_build_count: Option<u32>,
    /// GitLab's "pipelines must succeed": at least one build must be reported, all successful.
    pub builds_must_succeed: bool,
    /// Whether approvals reset on push (GitHub `dismiss_stale_reviews_on_push` or
    /// `require_last_push_approval`, Cloud `reset_pullrequest_approvals_on_change`, GitLab
    /// `reset_approvals_on_push`): what `FRESH_APPROVALS=auto` follows.
    pub fresh_approvals: Option<bool>,
}

/// `FRESH_APPROVALS`: whether an approval counts only when given at the PR's current head.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Freshness {
    /// Every current approval counts (the default).
    #[default]
    Any,
    /// Only approvals given at the current head count.
    Fresh,
    /// As the repository's own rules say (approvals reset on push).
    Auto,
}

/// What this run needs from the forge beyond the common lookup: a forge reads these only when
/// asked, so that the common path stays as cheap as before (two requests for a one-PR Cloud
/// commit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wants {
    /// `REQUIRE=mergeable`: the forge's own merge verdict (`PullRequest::mergeable`).
    pub verdict: bool,
    /// `MIN_APPROVALS=auto`, `REQUIRED_BUILDS=auto` or `FRESH_APPROVALS=auto`: the
    /// repository's rules for each destination branch (`PullRequest::rules`).
    pub rules: bool,
    /// `FRESH_APPROVALS` is not `false`: at which head each approval was given, where that costs
    /// extra requests (Bitbucket Cloud reads each distinct head commit's date).
    pub freshness: bool,
}

/// Which of the gate's settings are `auto`, so that the repository's rules decide them
/// (`Config::auto`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AutoSettings {
    /// `MIN_APPROVALS=auto`.
    pub min_approvals: bool,
    /// `FRESH_APPROVALS=auto`.
    pub fresh: bool,
    /// `REQUIRED_BUILDS=auto`.
    pub builds: bool,
}

impl AutoSettings {
    /// Whether any setting is `auto`.
    pub fn any(self) -> bool {
        self.min_approvals || self.fresh || self.builds
    }

    /// Whether an approvals setting (`MIN_APPROVALS`, `FRESH_APPROVALS`) is `auto`.
    pub fn approvals(self) -> bool {
        self.min_approvals || self.fresh
    }

    /// The settings that are `auto`, for messages: "MIN_APPROVALS=auto, REQUIRED_BUILDS=auto".
    pub fn names(self) -> String {
        let mut out = Vec::new();
        for (on, name) in [
            (self.min_approvals, "MIN_APPROVALS=auto"),
            (self.builds, "REQUIRED_BUILDS=auto"),
            (self.fresh, "FRESH_APPROVALS=auto"),
        ] {
            if on {
                out.push(name);
            }
        }
        out.join(", ")
    }
}

/// The four build states (docs/contract.md); providers map everything else onto these.
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
    /// pipeline itself. Set by the gate, not by providers. (An addition to the contract's fields.)
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
    /// The forge's own merge verdict (`REQUIRE=mergeable`): `None` when unknown or not asked.
    pub mergeable: Option<bool>,
    /// The rules that block the merge, and why.
    pub merge_vetoes: Vec<MergeVeto>,
    /// The forge is still computing its verdict (GitHub `mergeable: null` after polling,
    /// GitLab `checking`): `mergeable` is pending, not failed. Not in the summaries.
    #[serde(skip)]
    pub merge_pending: bool,
    /// The repository's rules for this PR's destination branch, when they were read
    /// (`Wants::rules`). Not in the summaries (the gate reports the values it used).
    #[serde(skip)]
    pub rules: Option<Rules>,
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
            mergeable: None,
            merge_vetoes: Vec::new(),
            merge_pending: false,
            rules: None,
        }
    }

    /// Fills `reviewers`, `approvals` and `changes_requested` from each participant's verdict.
    /// Providers leave the author out first (they know the author's account id, which names
    /// alone cannot tell apart): the contract counts no self-approval.
    /// Approvals that `FRESH_APPROVALS` counts: those known to be given at the current head.
    pub fn fresh_approvals(&self) -> u32 {
        self.reviewers
            .iter()
            .filter(|r| r.state == ReviewState::Approved && r.is_fresh())
            .count() as u32
    }

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

#[cfg(test)]
mod tests {
    use super::PrState;

    #[test]
    fn a_forge_state_word_is_matched_without_case_and_an_unknown_one_names_the_expected_words() {
        let known = [
            ("OPEN", PrState::Open),
            ("MERGED", PrState::Merged),
            ("DECLINED", PrState::Declined),
        ];
        let sent = || "X sent pull request #7 with state".to_string();
        assert_eq!(
            PrState::from_forge(Some("merged"), &known, sent).unwrap(),
            PrState::Merged
        );
        assert_eq!(PrState::from_forge(Some("Open"), &known, sent).unwrap(), PrState::Open);
        let e = PrState::from_forge(Some("MERGING"), &known, sent)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(r#"X sent pull request #7 with state "MERGING"; expected OPEN, MERGED or DECLINED"#),
            "{e}"
        );
        let e = PrState::from_forge(None, &known[..2], sent).unwrap_err().to_string();
        assert!(e.contains(r#"with state "(none)"; expected OPEN or MERGED"#), "{e}");
        let e = PrState::from_forge(Some(""), &known[..1], sent)
            .unwrap_err()
            .to_string();
        assert!(e.contains(r#"with state ""; expected OPEN"#), "{e}");
    }
}
