//! The repository's own merge rules on Bitbucket Cloud (docs/rules-bitbucket-cloud.md): its
//! branch restrictions (`GET .../branch-restrictions`, every page), matched to each PR's
//! destination branch by `glob` pattern or by branching-model type (`GET .../branching-model`,
//! read only when a restriction matches that way).
//!
//! They are repository-wide: read once per run, beside the first round trip, and only when
//! `REQUIRE=mergeable` or an `auto` setting asks for them. Reading them needs the repository
//! admin scope, stronger than the rest of the step: a refusal is exit 3 naming it.

use serde::Deserialize;

use super::api::Named;
use super::{BitbucketCloud, ACCESS_TOKEN, API_TOKEN, FORGE, OAUTH};
use crate::error::{Error, Result};

/// A restriction kind, as far as the merge verdict is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// `require_approvals_to_merge`: at least n approvals.
    Approvals(u32),
    /// `require_default_reviewer_approvals_to_merge`: at least n approvals by default reviewers.
    DefaultApprovals(u32),
    /// `require_passing_builds_to_merge`: at least n successful builds, none failed or running.
    Builds(u32),
    /// `require_tasks_to_be_completed`.
    Tasks,
    /// `require_no_changes_requested`.
    NoChangesRequested,
    /// `reset_pullrequest_approvals_on_change` (or its "smart" variant): approvals reset on push.
    ResetOnChange,
    /// A merge check the API gives no way to verify (`require_all_dependencies_merged`, ...):
    /// the verdict stays unknown, never a pass.
    Unverifiable,
    /// Not a condition on the pull request (push, delete, force, who may merge, ...).
    Ignored,
}

/// `branchrestriction` (the fields used).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Restriction {
    pub(super) id: Option<i64>,
    pub(super) kind: Option<String>,
    branch_match_kind: Option<String>,
    branch_type: Option<String>,
    pattern: Option<String>,
    value: Option<i64>,
}

impl Restriction {
    pub(super) fn name(&self) -> &str {
        self.kind.as_deref().unwrap_or("(no kind)")
    }

    fn by_model(&self) -> bool {
        self.branch_match_kind.as_deref() == Some("branching_model")
    }

    /// What the restriction asks of a pull request.
    pub(super) fn kind(&self) -> Result<Kind> {
        let value = || {
            self.value
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| {
                    Error::api(
                        None,
                        format!(
                            "{FORGE} sent the branch restriction {}{} without a valid value ({:?}), so the rule cannot be judged",
                            self.name(),
                            self.id.map(|i| format!(" #{i}")).unwrap_or_default(),
                            self.value
                        ),
                    )
                })
        };
        Ok(match self.name() {
            "require_approvals_to_merge" => Kind::Approvals(value()?),
            "require_default_reviewer_approvals_to_merge" => Kind::DefaultApprovals(value()?),
            "require_passing_builds_to_merge" => Kind::Builds(value()?),
            "require_tasks_to_be_completed" => Kind::Tasks,
            "require_no_changes_requested" => Kind::NoChangesRequested,
            "reset_pullrequest_approvals_on_change" | "smart_reset_pullrequest_approvals" => Kind::ResetOnChange,
            "push" | "delete" | "force" | "restrict_merges" | "enforce_merge_checks" | "allow_auto_merge_when_builds_pass"
            | "reset_pullrequest_changes_requested_on_change" => Kind::Ignored,
            // require_all_dependencies_merged, require_review_group_approvals_to_merge,
            // require_commits_behind, require_all_comments_resolved, and any kind added later.
            _ => Kind::Unverifiable,
        })
    }
}

/// `branching_model` (the fields used).
#[derive(Debug, Clone, Default, Deserialize)]
pub(super) struct BranchingModel {
    development: Option<ModelBranch>,
    production: Option<ModelBranch>,
    branch_types: Option<Vec<BranchType>>,
}

#[derive(Debug, Clone, Deserialize)]
struct ModelBranch {
    name: Option<String>,
    branch: Option<Named>,
}

impl ModelBranch {
    fn name(&self) -> Option<&str> {
        self.name
            .as_deref()
            .or_else(|| self.branch.as_ref().and_then(|b| b.name.as_deref()))
    }
}

#[derive(Debug, Clone, Deserialize)]
struct BranchType {
    kind: Option<String>,
    prefix: Option<String>,
}

/// Bitbucket Cloud's branch globs: `*` any run of characters (`/` included) and `?` any one.
/// Matching more rather than less keeps the gate strict.
pub(super) fn glob(pattern: &str, branch: &str) -> bool {
    crate::text::wildcard(pattern.trim(), branch)
}

/// The repository's branch restrictions, read once per run.
#[derive(Debug, Clone, Default)]
pub(super) struct RepoRules {
    restrictions: Vec<Restriction>,
    /// Read only when a restriction matches by branching model.
    model: Option<BranchingModel>,
}

impl RepoRules {
    /// Whether any restriction of `kind` applies to some branch in `branches`.
    pub(super) fn any_on<'a>(&self, branches: impl IntoIterator<Item = &'a str>, kind: fn(Kind) -> bool) -> Result<bool> {
        for b in branches {
            for r in self.on(b)? {
                if kind(r.kind()?) {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// The restrictions that apply to merges into `branch`.
    pub(super) fn on(&self, branch: &str) -> Result<Vec<&Restriction>> {
        let mut out = Vec::new();
        for r in &self.restrictions {
            if self.matches(r, branch)? {
                out.push(r);
            }
        }
        Ok(out)
    }

    fn matches(&self, r: &Restriction, branch: &str) -> Result<bool> {
        if !r.by_model() {
            return match r.branch_match_kind.as_deref() {
                None | Some("glob") => Ok(r.pattern.as_deref().is_some_and(|p| glob(p, branch))),
                Some(other) => Err(Error::api(
                    None,
                    format!(
                        "{FORGE} sent the branch restriction {} with branch_match_kind {other:?}, which pr-status does not know \
                         (glob and branching_model), so it cannot tell which branches it guards",
                        r.name()
                    ),
                )),
            };
        }
        let model = self.model.clone().unwrap_or_default();
        let named = |b: &Option<ModelBranch>| b.as_ref().and_then(ModelBranch::name) == Some(branch);
        Ok(match r.branch_type.as_deref() {
            Some("development") => named(&model.development),
            Some("production") => named(&model.production),
            Some(kind @ ("feature" | "bugfix" | "release" | "hotfix")) => model
                .branch_types
                .iter()
                .flatten()
                .filter(|t| t.kind.as_deref() == Some(kind))
                .filter_map(|t| t.prefix.as_deref())
                .any(|prefix| !prefix.is_empty() && branch.starts_with(prefix)),
            other => {
                return Err(Error::api(
                    None,
                    format!(
                        "{FORGE} sent the branch restriction {} for branch type {other:?}, which pr-status does not know, \
                         so it cannot tell which branches it guards",
                        r.name()
                    ),
                ))
            }
        })
    }
}

/// A refusal (401/403) of a rules request: what Bitbucket said, then what the run needed and why.
pub(super) fn refused(e: Error, needs: &str) -> Error {
    match e {
        Error::Auth { status, message } => {
            let said = message.split_once("). ").map_or(message.as_str(), |(said, _)| said);
            Error::Auth {
                status,
                message: format!("{said}). {needs}"),
            }
        }
        other => other,
    }
}

impl BitbucketCloud {
    /// The scope that reading the branch restrictions needs, for the credential form in use.
    fn admin_scope(&self) -> &'static str {
        match self.form {
            f if f == API_TOKEN => "an API token with the scope `admin:repository:bitbucket`",
            f if f == OAUTH => "an OAuth consumer with the permission Repositories: Admin (scope `repository:admin`)",
            f if f == ACCESS_TOKEN => {
                "an access token with the repository admin permission (Repositories: Admin, scope `repository:admin`)"
            }
            _ => "credentials with the scope `repository:admin`",
        }
    }

    /// Every branch restriction, then the branching model when one matches by branch type.
    pub(super) async fn read_rules(&self) -> Result<RepoRules> {
        let url = Self::with_query(self.repo_url(&["branch-restrictions"]), &[("pagelen", "100")]);
        let restrictions: Vec<Restriction> = match self.pages(url).await {
            Err(Error::Api { status: Some(404), .. }) => return Err(self.not_found()),
            other => other.map_err(|e| {
                refused(
                    e,
                    &format!(
                        "REQUIRE=mergeable, MIN_APPROVALS=auto, REQUIRED_BUILDS=auto and FRESH_APPROVALS=auto read the repository's \
                         branch restrictions (GET .../branch-restrictions), which need {}: `mergeable` and the auto settings need it",
                        self.admin_scope()
                    ),
                )
            })?,
        };
        let model = if restrictions.iter().any(Restriction::by_model) {
            let url = self.repo_url(&["branching-model"]);
            let resp = match self.http.get(url).await {
                Err(Error::Api { status: Some(404), .. }) => return Err(self.not_found()),
                other => other.map_err(|e| {
                    refused(
                        e,
                        "a branch restriction matches branches by branching model, which pr-status reads \
                         (GET .../branching-model) with the repository read scope (`repository`, API tokens `read:repository:bitbucket`)",
                    )
                })?,
            };
            Some(resp.json::<BranchingModel>()?)
        } else {
            None
        };
        self.http
            .debug(&format!("{} branch restriction(s) read", restrictions.len()));
        Ok(RepoRules { restrictions, model })
    }
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs() {
        assert!(glob("main", "main"));
        assert!(!glob("main", "main2"));
        assert!(glob("release/*", "release/1.0"));
        assert!(glob("release/*", "release/1.0/hotfix"), "* crosses '/' (stricter)");
        assert!(!glob("release/*", "releases/1.0"));
        assert!(glob("*", "anything"));
        assert!(glob("v?", "v1"));
        assert!(!glob("v?", "v10"));
        assert!(glob(&"*".repeat(200), &"a".repeat(200)));
    }
}
