//! Azure DevOps' JSON, only the fields used (unknown fields are ignored), and its
//! normalization into the model.

use serde::Deserialize;
use serde_json::Value;

use super::FORGE;
use crate::error::Result;
use crate::model::{Build, BuildState, PrState, PullRequest, ReviewState, Reviewer};

/// The type of the build policy ("Build validation").
pub(super) const BUILD_POLICY: &str = "0609b952-1397-4640-95ec-e00a01b2c241";
/// The type of the minimum-reviewer policy ("Minimum number of reviewers").
pub(super) const MIN_REVIEWERS_POLICY: &str = "fa4e907d-c16b-4a4c-9dfa-4906e5d171dd";

/// A list answer: `{"count": n, "value": [...]}`. A list without `value` is malformed.
#[derive(Debug, Deserialize)]
pub(super) struct ApiList<T> {
    pub(super) value: Option<Vec<T>>,
}

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase")]
pub(super) struct ApiIdentity {
    pub(super) id: Option<String>,
    pub(super) display_name: Option<String>,
    pub(super) unique_name: Option<String>,
}

impl ApiIdentity {
    fn display(&self) -> String {
        self.display_name
            .clone()
            .or_else(|| self.unique_name.clone())
            .unwrap_or_else(|| "unknown".into())
    }

    pub(super) fn same(&self, other_id: Option<&str>) -> bool {
        matches!((self.id.as_deref(), other_id), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))
    }
}

/// A reviewer with their vote: 10 approved, 5 approved with suggestions, 0 no vote, -5 waiting
/// for the author, -10 rejected.
#[derive(Debug, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(super) struct ApiReviewer {
    #[serde(flatten)]
    pub(super) who: ApiIdentity,
    pub(super) vote: Option<i64>,
    /// A group or team: its vote is its members' (who are listed themselves when they vote).
    pub(super) is_container: Option<bool>,
}

/// A reviewer's vote as the model's verdict (docs/azure-devops.md).
pub(super) fn vote_state(vote: Option<i64>) -> ReviewState {
    match vote {
        Some(10) | Some(5) => ReviewState::Approved,
        Some(-10) | Some(-5) => ReviewState::ChangesRequested,
        _ => ReviewState::Pending,
    }
}

#[derive(Debug, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(super) struct ApiCommitRef {
    pub(super) commit_id: Option<String>,
}

#[derive(Debug, Deserialize, Clone)]
pub(super) struct ApiProjectRef {
    pub(super) id: Option<String>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(super) struct ApiRepoRef {
    pub(super) web_url: Option<String>,
    pub(super) project: Option<ApiProjectRef>,
}

/// A pull request (`GitPullRequest`), as the query, the list and the PR itself send it.
#[derive(Debug, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApiPr {
    pub(super) pull_request_id: u64,
    pub(super) status: Option<String>,
    pub(super) is_draft: Option<bool>,
    pub(super) title: Option<String>,
    pub(super) created_by: Option<ApiIdentity>,
    pub(super) creation_date: Option<String>,
    pub(super) closed_date: Option<String>,
    pub(super) source_ref_name: Option<String>,
    pub(super) target_ref_name: Option<String>,
    /// The PR's head: the source branch's commit Azure last merged.
    pub(super) last_merge_source_commit: Option<ApiCommitRef>,
    /// The merge commit a PR build builds (`refs/pull/N/merge`).
    pub(super) last_merge_commit: Option<ApiCommitRef>,
    pub(super) reviewers: Option<Vec<ApiReviewer>>,
    pub(super) repository: Option<ApiRepoRef>,
    /// Whether the source merges into the target: succeeded, conflicts, queued, ...
    pub(super) merge_status: Option<String>,
}

impl ApiPr {
    pub(super) fn head(&self) -> Option<&str> {
        self.last_merge_source_commit.as_ref()?.commit_id.as_deref()
    }

    pub(super) fn merge_commit(&self) -> Option<&str> {
        self.last_merge_commit.as_ref()?.commit_id.as_deref()
    }

    pub(super) fn project_id(&self) -> Option<&str> {
        self.repository.as_ref()?.project.as_ref()?.id.as_deref()
    }

    pub(super) fn state(&self) -> Result<PrState> {
        let known = [
            ("active", PrState::Open),
            ("completed", PrState::Merged),
            ("abandoned", PrState::Declined),
        ];
        PrState::from_forge(self.status.as_deref(), &known, || {
            format!("{FORGE} sent pull request !{} with status", self.pull_request_id)
        })
    }

    /// The normalized PR, without its builds. `web` is the repository's page, for a PR whose
    /// repository has no `webUrl`.
    pub(super) fn normalize(&self, web: &str) -> Result<PullRequest> {
        let id = self.pull_request_id;
        let mut pr = PullRequest::new(id, self.title.clone().unwrap_or_default(), self.state()?);
        pr.draft = self.is_draft;
        let repo_web = self.repository.as_ref().and_then(|r| r.web_url.clone());
        pr.url = Some(format!(
            "{}/pullrequest/{id}",
            repo_web.as_deref().unwrap_or(web).trim_end_matches('/')
        ));
        pr.author = self.created_by.as_ref().map(ApiIdentity::display);
        let branch = |r: &Option<String>| r.as_deref().map(|r| r.strip_prefix("refs/heads/").unwrap_or(r).to_string());
        pr.source_branch = branch(&self.source_ref_name);
        pr.destination_branch = branch(&self.target_ref_name);
        pr.source_commit = self.head().map(str::to_string);
        pr.created_on = self.creation_date.clone();
        pr.updated_on = self.closed_date.clone();
        pr.reviews_unknown = self.reviewers.is_none();
        pr.set_reviews(people(self).map(|r| Reviewer::new(r.who.display(), vote_state(r.vote))));
        Ok(pr)
    }
}

/// The reviewers whose votes count: people (not groups, whose vote is a member's), the
/// author left out (no self-approval).
pub(super) fn people(pr: &ApiPr) -> impl Iterator<Item = &ApiReviewer> {
    let author = pr.created_by.as_ref().and_then(|a| a.id.as_deref());
    pr.reviewers
        .iter()
        .flatten()
        .filter(move |r| r.is_container != Some(true) && !r.who.same(author))
}

/// A pull request status (`GitPullRequestStatus`): what a service or a pipeline posted.
#[derive(Debug, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApiStatus {
    pub(super) id: Option<u64>,
    pub(super) state: Option<String>,
    pub(super) description: Option<String>,
    pub(super) context: Option<ApiStatusContext>,
    pub(super) target_url: Option<String>,
}

#[derive(Debug, Deserialize, Clone)]
pub(super) struct ApiStatusContext {
    pub(super) name: Option<String>,
    pub(super) genre: Option<String>,
}

impl ApiStatus {
    fn key(&self) -> String {
        let c = self.context.as_ref();
        let name = c.and_then(|c| c.name.as_deref()).unwrap_or("default");
        match c.and_then(|c| c.genre.as_deref()).filter(|g| !g.is_empty()) {
            Some(genre) => format!("{genre}/{name}"),
            None => name.to_string(),
        }
    }

    /// `None` for `notApplicable`: no build at all.
    fn build(&self) -> Option<Build> {
        let state = match self.state.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("succeeded") => BuildState::Successful,
            Some("pending") => BuildState::Inprogress,
            Some("failed") | Some("error") | Some("partiallysucceeded") => BuildState::Failed,
            Some("notapplicable") => return None,
            _ => BuildState::Stopped,
        };
        let key = self.key();
        let name = self.description.clone().filter(|d| !d.is_empty()).unwrap_or_else(|| key.clone());
        Some(Build::new(key, Some(name), state, self.target_url.clone()))
    }
}

/// The builds of a PR's statuses: the newest status of each context (each push may post
/// another, and an older verdict on the same context is out of date).
pub(super) fn status_builds(statuses: &[ApiStatus]) -> Vec<Build> {
    let mut newest: Vec<&ApiStatus> = Vec::new();
    for s in statuses {
        match newest.iter_mut().find(|n| n.key() == s.key()) {
            Some(n) if n.id <= s.id => *n = s,
            Some(_) => {}
            None => newest.push(s),
        }
    }
    newest.into_iter().filter_map(ApiStatus::build).collect()
}

/// One policy as it applies to one PR (`PolicyEvaluationRecord`).
#[derive(Debug, Deserialize, Clone)]
pub(crate) struct ApiEvaluation {
    /// queued, running, approved, rejected, notApplicable or broken.
    pub(super) status: Option<String>,
    pub(super) configuration: Option<ApiPolicy>,
    /// The policy's own data: a build policy's `buildId`, `isExpired`.
    pub(super) context: Option<Value>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(super) struct ApiPolicy {
    pub(super) id: Option<u64>,
    pub(super) is_enabled: Option<bool>,
    pub(super) is_blocking: Option<bool>,
    #[serde(rename = "type")]
    pub(super) kind: Option<ApiPolicyType>,
    pub(super) settings: Option<Value>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(super) struct ApiPolicyType {
    pub(super) id: Option<String>,
    pub(super) display_name: Option<String>,
}

impl ApiEvaluation {
    pub(super) fn status(&self) -> String {
        self.status.as_deref().unwrap_or("").to_ascii_lowercase()
    }

    fn policy(&self) -> Option<&ApiPolicy> {
        self.configuration.as_ref()
    }

    pub(super) fn is_type(&self, id: &str) -> bool {
        let kind = self.policy().and_then(|p| p.kind.as_ref());
        kind.and_then(|k| k.id.as_deref()).is_some_and(|k| k.eq_ignore_ascii_case(id))
    }

    /// Enabled and blocking: the policy must be met before the PR can complete.
    pub(super) fn is_required(&self) -> bool {
        self.policy().is_some_and(|p| p.is_enabled != Some(false) && p.is_blocking == Some(true))
    }

    pub(super) fn setting(&self, name: &str) -> Option<&Value> {
        self.policy()?.settings.as_ref()?.get(name)
    }

    fn context_field(&self, name: &str) -> Option<&Value> {
        self.context.as_ref()?.get(name)
    }

    /// The build the policy ran, when it names one.
    pub(super) fn build_id(&self) -> Option<String> {
        match self.context_field("buildId")? {
            Value::Number(n) => Some(n.to_string()),
            Value::String(s) if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) => Some(s.clone()),
            _ => None,
        }
    }

    /// The policy's name as the PR page shows it: its own display name, else its type's.
    pub(super) fn name(&self) -> String {
        let own = self.setting("displayName").and_then(Value::as_str).filter(|s| !s.is_empty());
        let kind = self.policy().and_then(|p| p.kind.as_ref()).and_then(|k| k.display_name.as_deref());
        own.or(kind).unwrap_or("policy").to_string()
    }

    /// A build policy's key: `build-policy/<definition id>`, the same on every PR.
    pub(super) fn build_key(&self) -> String {
        match self.setting("buildDefinitionId") {
            Some(Value::Number(n)) => format!("build-policy/{n}"),
            _ => format!("build-policy/{}", self.policy().and_then(|p| p.id).unwrap_or(0)),
        }
    }

    /// A build policy's evaluation as a build (`None` when it does not apply). An approved build
    /// that has expired, or was built from an older head, is not a success.
    pub(super) fn build(&self, collection: &str, project: &str) -> Option<Build> {
        let stale = |f: &str| self.context_field(f).and_then(Value::as_bool) == Some(true);
        let state = match self.status().as_str() {
            "approved" if stale("isExpired") || stale("buildIsNotCurrent") => BuildState::Stopped,
            "approved" => BuildState::Successful,
            "rejected" | "broken" => BuildState::Failed,
            "queued" | "running" => BuildState::Inprogress,
            "notapplicable" => return None,
            _ => BuildState::Stopped,
        };
        let run = self.build_id();
        let url = run
            .as_ref()
            .map(|id| format!("{}/{project}/_build/results?buildId={id}", collection.trim_end_matches('/')));
        let build = Build::new(self.build_key(), Some(self.name()), state, url);
        Some(match run {
            Some(id) => build.in_run(id),
            None => build,
        })
    }
}
