//! The repository's own merge rules (issue 10): GitLab's merge verdict, the approval rules'
//! threshold, "Pipelines must succeed", "Reset approvals on push" and at which head each
//! approval was given. See docs/rules-gitlab.md.

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::api::{ApiApprovals, ApiMr};
use super::{Fetched, Gitlab, FORGE};
use crate::error::{Error, Result};
use crate::model::{Freshness, MergeVeto, PullRequest, ReviewState, Rules};
use crate::provider::server_commit;

/// `detailed_merge_status` values that mean GitLab is still working its verdict out: the MR is
/// asked for again (`INDEX_WAIT`), then reported pending.
pub(super) const COMPUTING: [&str; 4] = ["checking", "unchecked", "preparing", "approvals_syncing"];

/// The project settings the auto rules follow, as far as this run read them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Settings {
    /// "Pipelines must succeed" (`only_allow_merge_if_pipeline_succeeds`), read for
    /// `REQUIRED_BUILDS=auto`.
    pub(super) pipeline_must_succeed: bool,
    /// `reset_approvals_on_push`, read for `FRESH_APPROVALS=auto`.
    pub(super) reset_approvals_on_push: Option<bool>,
}

/// `GET /projects/:id`, only the field used.
#[derive(Debug, Deserialize)]
pub(super) struct ApiProject {
    pub(super) only_allow_merge_if_pipeline_succeeds: Option<bool>,
}

/// `GET /projects/:id/approvals` (the project's approval settings), only the field used.
#[derive(Debug, Deserialize)]
pub(super) struct ApiApprovalSettings {
    pub(super) reset_approvals_on_push: Option<bool>,
}

/// One diff version of an MR (`GET .../merge_requests/:iid/versions`): GitLab records one per
/// push, with the head it was made for.
#[derive(Debug, Deserialize, Clone)]
pub(crate) struct ApiVersion {
    pub(super) head_commit_sha: Option<String>,
    pub(super) created_at: Option<String>,
}

/// What the verdict and the rules need from an MR's answers before they are normalized.
pub(super) struct Judged {
    pub(super) status: Option<String>,
    /// The MR's head pipeline is the running pipeline (`CI_PIPELINE_ID`).
    pub(super) head_is_own: bool,
    pub(super) approvals_required: Option<u32>,
    pub(super) approvals_left: Option<u32>,
    pub(super) approvals_read: bool,
}

/// What each `detailed_merge_status` that blocks the merge means, in GitLab's terms.
pub(super) fn veto_message(status: &str) -> String {
    let known = match status {
        "ci_must_pass" => "the project requires a successful pipeline before merge (Pipelines must succeed), and the MR's pipeline did not succeed",
        "commits_status" => "the source branch must exist and hold commits",
        "conflict" | "broken_status" => "the source and target branches conflict",
        "discussions_not_resolved" => "all threads must be resolved before merge",
        "draft_status" => "the merge request is a draft",
        "external_status_checks" | "status_checks_must_pass" => "all external status checks must pass before merge",
        "jira_association_missing" => "the title or description must reference a Jira issue",
        "merge_request_blocked" | "blocked_status" => "it is blocked by another merge request, which must be merged first",
        "merge_time" => "it may not be merged before its scheduled merge time",
        "need_rebase" => "the merge request must be rebased onto the target branch",
        "not_approved" => "the approvals its approval rules require are missing",
        "not_open" => "the merge request is not open",
        "requested_changes" => "a reviewer requested changes",
        "security_policy_violations" | "policies_denied" => "the project's security policies must be satisfied",
        "security_policy_pipeline_check" | "security_policy_evaluation" => {
            "the pipelines the project's security policies require must pass"
        }
        "locked_paths" => "paths locked by other users must be unlocked before merge",
        "locked_lfs_files" => "LFS files locked by other users must be unlocked before merge",
        "title_regex" | "title_not_matching" => "the title must match the pattern the project requires",
        _ => "",
    };
    if known.is_empty() {
        format!("GitLab's merge status is {status:?}, which pr-status does not know: it counts as blocking the merge")
    } else {
        format!("GitLab: {known}")
    }
}

/// GitLab's verdict as (mergeable, vetoes, still computing). `ci_still_running` comes only
/// when every other check passes (GitLab checks the pipeline last): when the running
/// pipeline is the MR's head pipeline itself, it is not waited for, as `builds-passed` never
/// waits for it either.
pub(super) fn verdict(status: Option<&str>, head_is_own: bool) -> (Option<bool>, Vec<MergeVeto>, bool) {
    match status.map(str::trim) {
        None | Some("") => (
            None,
            vec![MergeVeto::new(
                "detailed_merge_status",
                "GitLab sent no detailed_merge_status (GitLab 15.6 and later do), so its merge verdict is unknown",
            )],
            false,
        ),
        Some("mergeable") => (Some(true), Vec::new(), false),
        Some("ci_still_running") if head_is_own => (Some(true), Vec::new(), false),
        Some("ci_still_running") => (None, Vec::new(), true),
        Some(s) if COMPUTING.contains(&s) => (None, Vec::new(), true),
        Some(s) => (Some(false), vec![MergeVeto::new(s, veto_message(s))], false),
    }
}

/// A time GitLab sent, when it is RFC 3339.
pub(super) fn rfc3339(text: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339).ok()
}

/// The MR's head when an approval was given at `approved_at`: the head of the newest diff
/// version created at or before it. `None` when the time or the versions do not tell.
pub(super) fn approved_head(approved_at: &str, versions: &[ApiVersion]) -> Option<String> {
    let at = rfc3339(approved_at)?;
    versions
        .iter()
        .filter_map(|v| Some((rfc3339(v.created_at.as_deref()?)?, v.head_commit_sha.as_deref()?)))
        .filter(|(created, _)| *created <= at)
        .max_by_key(|(created, _)| *created)
        .and_then(|(_, head)| server_commit(head))
}

/// The approvals threshold of `MIN_APPROVALS=auto`: the rules' `approvals_required`, raised
/// while GitLab still counts approvals as missing (a rule that names its approvers is not met
/// by anyone else's approval), so that the gate never passes what GitLab would not.
pub(super) fn threshold(required: u32, left: Option<u32>, counted: u32) -> u32 {
    match left {
        Some(l) if l > 0 => required.max(counted.saturating_add(l)),
        _ => required,
    }
}

/// A 403 of a settings endpoint: the refusal as GitLab said it, with what the setting needs.
pub(super) fn settings_refused(e: Error, needs: &str) -> Error {
    match e {
        Error::Auth { status: 403, .. } => crate::http::rehint(e, needs),
        other => other,
    }
}

impl Gitlab {
    /// Whether the MR's diff versions are read: `FRESH_APPROVALS` is not `false`, unless it
    /// is `auto` and the project is already known not to reset approvals on push.
    pub(super) fn versions_wanted(&self) -> bool {
        let known_off = self.freshness == Freshness::Auto
            && self
                .settings
                .get()
                .is_some_and(|s| s.reset_approvals_on_push == Some(false));
        self.wants.freshness && !known_off
    }

    /// Every diff version of the MR (newest first).
    pub(super) async fn versions(&self, iid: u64) -> Result<Vec<ApiVersion>> {
        let id = iid.to_string();
        self.pages::<ApiVersion>(self.paged(&["merge_requests", &id, "versions"]))
            .await
            .map_err(|e| {
                e.explain_404(|| {
                    format!("the diff versions of !{iid} cannot be read, so it is unknown at which head its approvals were given (FRESH_APPROVALS)")
                })
            })
    }

    /// The project's settings when an auto setting needs them (`REQUIRED_BUILDS=auto`,
    /// `FRESH_APPROVALS=auto`); `MIN_APPROVALS=auto` needs none (the MR's approvals say).
    pub(super) async fn settings_if_wanted(&self) -> Result<Option<Settings>> {
        if !self.wants.rules || !(self.builds_auto || self.freshness == Freshness::Auto) {
            return Ok(None);
        }
        Ok(Some(self.settings().await?.clone()))
    }

    /// The project's settings, read once per run (at most two requests, at the same time).
    pub(super) async fn settings(&self) -> Result<&Settings> {
        self.settings
            .get_or_try_init(|| async {
                let (project, approvals) = tokio::join!(
                    async {
                        match self.builds_auto {
                            true => Some(self.http.get(self.project_url(&[])).await),
                            false => None,
                        }
                    },
                    async {
                        match self.freshness == Freshness::Auto {
                            true => Some(self.http.get(self.project_url(&["approvals"])).await),
                            false => None,
                        }
                    }
                );
                let mut settings = Settings::default();
                if let Some(answer) = project {
                    let project: ApiProject = match answer {
                        Err(Error::Api {
                            status: Some(404),
                            message,
                        }) => return Err(self.not_found(message, "CI_PROJECT_ID")),
                        other => other
                            .map_err(|e| {
                                settings_refused(
                                    e,
                                    "REQUIRED_BUILDS=auto reads the project's \"Pipelines must succeed\" setting \
                                     (GET /projects/:id): GITLAB_TOKEN needs the read_api scope and at least the Reporter role",
                                )
                            })?
                            .json()?,
                    };
                    settings.pipeline_must_succeed = project.only_allow_merge_if_pipeline_succeeds.ok_or_else(|| {
                        Error::api(
                            None,
                            format!(
                                "{FORGE} sent project {} without only_allow_merge_if_pipeline_succeeds, so REQUIRED_BUILDS=auto cannot be judged",
                                self.name
                            ),
                        )
                    })?;
                }
                if let Some(answer) = approvals {
                    let approval_settings: ApiApprovalSettings = match answer {
                        Err(e @ Error::Api { status: Some(404), .. }) => {
                            return Err(e.explain_404(|| {
                                format!(
                                    "project {} has no approval settings here (GET /projects/:id/approvals; GitLab Premium and Ultimate have them), \
                                     so FRESH_APPROVALS=auto cannot follow reset_approvals_on_push: set FRESH_APPROVALS=true or false",
                                    self.name
                                )
                            }))
                        }
                        other => other
                            .map_err(|e| {
                                settings_refused(
                                    e,
                                    "FRESH_APPROVALS=auto reads the project's reset_approvals_on_push (GET /projects/:id/approvals), \
                                     which GitLab shows only to the Maintainer role: give GITLAB_TOKEN's user (or the project access token) \
                                     the Maintainer role with the read_api scope, or set FRESH_APPROVALS=true or false",
                                )
                            })?
                            .json()?,
                    };
                    settings.reset_approvals_on_push = Some(approval_settings.reset_approvals_on_push.ok_or_else(|| {
                        Error::api(
                            None,
                            format!(
                                "{FORGE} sent the approval settings of project {} without reset_approvals_on_push, so FRESH_APPROVALS=auto cannot be judged",
                                self.name
                            ),
                        )
                    })?);
                }
                self.http.debug(&format!("project settings: {settings:?}"));
                Ok(settings)
            })
            .await
    }

    /// With `REQUIRE=mergeable`, asks for the MR again while GitLab is still computing its
    /// merge status, as the commit index's 202 is polled (`INDEX_WAIT`); its approvals too
    /// while they are syncing (a push resets them).
    pub(super) async fn until_computed(
        &self,
        iid: u64,
        mut mr: ApiMr,
        mut approvals: Option<ApiApprovals>,
    ) -> Result<(ApiMr, Option<ApiApprovals>)> {
        if !self.wants.verdict {
            return Ok((mr, approvals));
        }
        let id = iid.to_string();
        let started = Instant::now();
        let wait = self.http.settings().index_wait;
        let mut delay = self.http.settings().retry_delay.max(Duration::from_millis(50));
        loop {
            let status = mr.detailed_merge_status.clone().unwrap_or_default();
            if !COMPUTING.contains(&status.as_str()) {
                return Ok((mr, approvals));
            }
            let elapsed = started.elapsed();
            if elapsed >= wait {
                self.http.debug(&format!(
                    "!{iid}: detailed_merge_status still {status} after {} s (INDEX_WAIT)",
                    wait.as_secs()
                ));
                return Ok((mr, approvals));
            }
            let pause = delay.min(wait - elapsed);
            self.http.debug(&format!(
                "!{iid}: detailed_merge_status {status}; asking again in {} ms",
                pause.as_millis()
            ));
            tokio::time::sleep(pause).await;
            delay = (delay * 2).min(Duration::from_secs(10));
            let syncing = status == "approvals_syncing";
            let (again, new_approvals) =
                tokio::join!(self.http.get(self.project_url(&["merge_requests", &id])), async {
                    match syncing {
                        true => Some(
                            self.http
                                .get(self.project_url(&["merge_requests", &id, "approvals"]))
                                .await,
                        ),
                        false => None,
                    }
                });
            mr = self.mr_answer(iid, again)?;
            if let Some(a) = new_approvals {
                approvals = self.approvals_answer(iid, a)?;
            }
        }
    }

    /// What the verdict and the rules need, taken before the answers are normalized.
    pub(super) fn judged(&self, f: &Fetched) -> Judged {
        let pipeline = f.mr.head_pipeline.clone().or_else(|| f.mr.pipeline.clone());
        Judged {
            status: f.mr.detailed_merge_status.clone(),
            head_is_own: pipeline.is_some_and(|p| self.current_run.is_own(&p.build())),
            approvals_required: f.approvals.as_ref().and_then(|a| a.approvals_required),
            approvals_left: f.approvals.as_ref().and_then(|a| a.approvals_left),
            approvals_read: f.approvals.is_some(),
        }
    }

    /// Fills in what this run asked for beyond the common lookup: the verdict, the rules and
    /// at which head each approval was given.
    pub(super) fn apply(
        &self,
        pr: &mut PullRequest,
        j: Judged,
        versions: Option<&[ApiVersion]>,
        settings: Option<&Settings>,
    ) -> Result<()> {
        if self.wants.verdict {
            let (mergeable, vetoes, pending) = verdict(j.status.as_deref(), j.head_is_own);
            pr.mergeable = mergeable;
            pr.merge_vetoes = vetoes;
            pr.merge_pending = pending;
        }
        if let Some(versions) = versions {
            let head = pr.source_commit.clone();
            for r in &mut pr.reviewers {
                if r.state != ReviewState::Approved {
                    continue;
                }
                let at = r.approved_at.as_deref().and_then(|t| approved_head(t, versions));
                *r = r.clone().given_at(at.as_deref(), head.as_deref());
            }
        }
        if self.wants.rules {
            let min_approvals = match j.approvals_required {
                Some(required) => Some(threshold(required, j.approvals_left, pr.approvals)),
                None if self.min_auto => {
                    let why = if j.approvals_read {
                        "its approvals answer has no approvals_required (approval rules are a GitLab Premium and Ultimate feature)"
                    } else {
                        "the server has no approvals API (404)"
                    };
                    return Err(Error::api(
                        None,
                        format!(
                            "MIN_APPROVALS=auto cannot be judged for merge request !{}: {why}; set MIN_APPROVALS to a number",
                            pr.id
                        ),
                    ));
                }
                None => None,
            };
            let settings = settings.cloned().unwrap_or_default();
            pr.rules = Some(Rules {
                min_approvals,
                builds_must_succeed: settings.pipeline_must_succeed,
                fresh_approvals: settings.reset_approvals_on_push,
                ..Rules::default()
            });
        }
        Ok(())
    }
}
