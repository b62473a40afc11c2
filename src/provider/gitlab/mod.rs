//! GitLab (`gitlab.com/api/v4` and self-managed instances).
//!
//! What is looked up: in merge request pipelines the MR of `CI_MERGE_REQUEST_IID`; otherwise
//! every MR containing `CI_COMMIT_SHA` (`/repository/commits/{sha}/merge_requests`, all pages).
//! Each MR then costs three concurrent requests: the MR itself (its head pipeline), its
//! approvals and its reviewers; at the same time, once per distinct head commit and source
//! branch, the commit's statuses on that branch (all pages). For N MRs with one head that is
//! pages + 3N + 1 requests in pages + 1 round trips. (When an MR's head moved after the
//! lookup listed it, or the MR of `CI_MERGE_REQUEST_IID` is not at `CI_COMMIT_SHA` on
//! `CI_MERGE_REQUEST_SOURCE_BRANCH_NAME`, its new head's statuses take one more round trip.)
//!
//! Builds are the MR's head pipeline plus the commit statuses of other pipelines. Every GitLab
//! CI job is a commit status, so the head pipeline's own jobs are left out (its state already
//! sums them up). Since GitLab 16.3 each status names its `pipeline_id`: statuses filed under
//! another pipeline (an external service's, a branch pipeline next to the MR pipeline) count
//! one by one, the newest of each name only; statuses of the running pipeline
//! (`CI_PIPELINE_ID`) carry its id as their run and are never made to wait for themselves.
//! Servers before 16.3 send no `pipeline_id`: their statuses cannot be told apart from the
//! running pipeline's own jobs (this step, and the later jobs waiting for it), so they are left
//! out and only the head pipeline counts. The head pipeline is recognised as the running one
//! by its id, or by its link ending in `/pipelines/{id}`.
//!
//! The statuses are asked for with `ref=<source branch>`: GitLab documents that without it
//! only the default branch's statuses are answered. Jobs of merge request pipelines carry the
//! ref `refs/merge-requests/{iid}/head`, so those of pipelines other than the head pipeline
//! are not seen.
//!
//! With the repository's own rules (docs/rules-gitlab.md) the MR's own answer also gives
//! GitLab's merge verdict (`detailed_merge_status`) and its approvals the approval rules'
//! threshold, at no extra cost; the project's settings ("Pipelines must succeed", "Reset
//! approvals on push") take one request each, once per run, with the first round trip; with
//! `FRESH_APPROVALS`, each MR's diff versions one more, with the MR.
//!
//! Files: this one (variables, the registry entry, the provider), `lookup` (the requests and
//! the shared flow), `api` (GitLab's JSON and its normalization, and the parsers on their own),
//! `rules` (the merge verdict and rules), `post` (`POST_RESULT`).

mod api;
mod lookup;
mod post;
mod rules;
#[cfg(test)]
mod tests;

pub use api::{parse_commit_status_page, parse_merge_request, parse_merge_request_page, parse_merge_request_with};

use reqwest::{StatusCode, Url};
use serde::Deserialize;

use crate::ci::{self, CurrentRun, OwnRun};
use crate::config::{self, Config, Problems, Vars};
use crate::credentials::{secret_var, Auth, Form, Redactor};
use crate::error::{Error, Result};
use crate::http::{AuthHint, Http};
use crate::model::{Freshness, Wants};
use crate::provider::{server_commit, Entry};

use api::{ApiApprovals, ApiMr, ApiReviewer};
use rules::{ApiVersion, Settings};

const FORGE: &str = "GitLab";
const DEFAULT_API: &str = "https://gitlab.com/api/v4";
/// GitLab's largest page size.
const PER_PAGE: &str = "100";

/// GitLab CI's own variables (docs/variables.md).
#[derive(Debug, Deserialize)]
struct GitlabEnv {
    ci_api_v4_url: Option<String>,
    ci_project_id: Option<String>,
    ci_project_path: Option<String>,
    ci_project_url: Option<String>,
    ci_commit_sha: Option<String>,
    ci_merge_request_iid: Option<String>,
    /// Only set in merged results pipelines, where `CI_COMMIT_SHA` is the merge commit.
    ci_merge_request_source_branch_sha: Option<String>,
    /// The MR's source branch in merge request pipelines: with the commit, where its commit
    /// statuses are read while the MR itself is still being fetched.
    ci_merge_request_source_branch_name: Option<String>,
}

/// Where an MR's commit statuses are read: its head commit, on its source branch.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Head {
    sha: String,
    branch: String,
}

impl Head {
    /// Both known, and the commit a commit id (it goes into the URL).
    fn of(sha: Option<&str>, branch: Option<&str>) -> Option<Head> {
        let branch = branch.filter(|b| !b.trim().is_empty())?;
        Some(Head {
            sha: server_commit(sha?)?,
            branch: branch.to_string(),
        })
    }
}

/// One MR's own answers, before its commit statuses are added.
pub(crate) struct Fetched {
    mr: ApiMr,
    approvals: Option<ApiApprovals>,
    reviewers: Option<Vec<ApiReviewer>>,
    /// The MR's diff versions (`FRESH_APPROVALS`), newest first: at which head each approval
    /// was given.
    versions: Option<Vec<ApiVersion>>,
    /// The project's settings the auto rules read (`Wants::rules`), read once per run.
    settings: Option<Settings>,
}

#[derive(Debug)]
pub struct Gitlab {
    http: Http,
    project: String,
    name: String,
    web: Option<String>,
    commit: Option<String>,
    iid: Option<u64>,
    /// The head of the MR of `CI_MERGE_REQUEST_IID`, as the pipeline's variables say.
    expected_head: Option<Head>,
    /// What the run needs beyond the common lookup (`REQUIRE=mergeable`, the auto settings).
    wants: Wants,
    /// `FRESH_APPROVALS`.
    freshness: Freshness,
    /// `MIN_APPROVALS=auto`: the MR's `approvals_required` must be known.
    min_auto: bool,
    /// `REQUIRED_BUILDS=auto`: the project's "Pipelines must succeed" is read.
    builds_auto: bool,
    /// The running pipeline: its own head pipeline still running is not waited for.
    current_run: CurrentRun,
    /// The project's settings, read once per run and only when an auto setting needs them.
    settings: tokio::sync::OnceCell<Settings>,
}

/// A project id: the number, or the full path (`group/subgroup/project`), which goes into
/// the URL as one percent-encoded segment.
fn project_id(value: &str) -> Result<String> {
    let v = value.trim();
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "-_./".contains(c);
    let ok_parts = v
        .split('/')
        .all(|p| !p.is_empty() && p != "." && p != ".." && !p.starts_with('.'));
    if v.is_empty() || v.len() > 255 || !v.chars().all(ok_char) || !ok_parts {
        return Err(Error::config(format!(
            "CI_PROJECT_ID={value:?} is not valid: use the numeric project ID or the full project path \
             (group/subgroup/project: letters, digits, '-', '_', '.')"
        )));
    }
    Ok(v.to_string())
}

/// The project's web page, for the summary: `CI_PROJECT_URL`, else the API base without
/// `/api/v4` plus the project's path (unknown for a numeric id outside GitLab CI).
fn project_web(env: &GitlabEnv, api: &Url, project: &str) -> Option<String> {
    if let Some(url) = &env.ci_project_url {
        return Some(config::without_userinfo(url));
    }
    let root = api.path().trim_end_matches('/').strip_suffix("/api/v4")?;
    let path = match &env.ci_project_path {
        Some(p) => p.as_str(),
        None if project.chars().all(|c| c.is_ascii_digit()) => return None,
        None => project,
    };
    Some(format!("{}{root}/{path}", api.origin().ascii_serialization()))
}

/// What a 401/403 means for a GitLab token.
fn auth_hint() -> AuthHint {
    Box::new(|status: StatusCode, _reason: &str| {
        let needs = "GITLAB_TOKEN must be a personal, project or group access token with the read_api scope \
                     whose user has at least the Reporter role in the project";
        if status == StatusCode::UNAUTHORIZED {
            format!("check that GITLAB_TOKEN is current (not expired or revoked); {needs}")
        } else {
            format!("the token lacks permission: {needs}")
        }
    })
}

impl Gitlab {
    /// Reads and checks GitLab's variables; one error names every problem (`config::Problems`).
    pub fn from_config(cfg: &Config) -> Result<Gitlab> {
        let env: GitlabEnv = cfg.vars.typed()?;
        let mut problems = Problems::of_provider(cfg);
        let project = problems.check(
            env.ci_project_id
                .as_deref()
                .ok_or_else(|| {
                    Error::config(
                        "CI_PROJECT_ID is not set: GitLab CI sets it; elsewhere set it to the numeric project ID or the path group/project",
                    )
                })
                .and_then(project_id),
        );
        let iid = problems.check(
            env.ci_merge_request_iid
                .as_deref()
                .map(|v| config::pr_id("CI_MERGE_REQUEST_IID", v))
                .transpose(),
        );
        let source_sha = problems.check(
            env.ci_merge_request_source_branch_sha
                .as_deref()
                .map(|c| config::commit("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", c))
                .transpose(),
        );
        let commit_sha = problems.check(
            env.ci_commit_sha
                .as_deref()
                .map(|c| config::commit("CI_COMMIT_SHA", c))
                .transpose(),
        );
        // Which commit to look up; a variable that is set but invalid is named above.
        let commit = match (iid.flatten(), source_sha.flatten(), commit_sha.flatten()) {
            (Some(_), Some(head), _) => Some(Some(head)),
            (_, _, Some(c)) => Some(Some(c)),
            (Some(_), None, None) => Some(None),
            (None, _, None) if env.ci_commit_sha.is_some() || env.ci_merge_request_iid.is_some() => None,
            (None, _, None) => problems.check(Err(Error::config(
                "CI_COMMIT_SHA is not set: GitLab CI sets it; elsewhere set it to the 40-hex commit id being built",
            ))),
        };
        let api = problems.check(config::parse_base_url(
            "CI_API_V4_URL",
            env.ci_api_v4_url.as_deref().unwrap_or(DEFAULT_API),
        ));
        let mut redactor = Redactor::default();
        let token = match secret_var(&cfg.vars, "GITLAB_TOKEN") {
            Some(t) => Ok(t),
            None if cfg.vars.get("CI_JOB_TOKEN").is_some() => Err(Error::config(
                "GITLAB_TOKEN is not set, and CI_JOB_TOKEN (the job token GitLab CI provides) cannot read merge requests or their approvals: \
                 create a project, group or personal access token with the read_api scope (Reporter role) and store it as \
                 a masked CI/CD variable named GITLAB_TOKEN",
            )),
            None => Err(Error::config(
                "no GitLab credentials: set GITLAB_TOKEN to a project, group or personal access token with the read_api scope (Reporter role)",
            )),
        };
        let auth = problems.check(token.and_then(|token| {
            redactor.add(&token, None);
            Auth::header(TOKEN, "private-token", &token, "GITLAB_TOKEN")
        }));
        problems.finish()?;
        let (Some(project), Some(iid), Some(commit), Some(api), Some(auth)) = (project, iid, commit, api, auth) else {
            return Err(Problems::incomplete());
        };
        let name = env.ci_project_path.clone().unwrap_or_else(|| project.clone());
        let web = project_web(&env, &api, &project);
        let http = Http::new(FORGE, api, Some(auth), &cfg.http, redactor, auth_hint())?;
        let expected_head = iid
            .and(commit.as_deref())
            .and_then(|c| Head::of(Some(c), env.ci_merge_request_source_branch_name.as_deref()));
        Ok(Gitlab {
            http,
            project,
            name,
            web,
            commit,
            iid,
            expected_head,
            wants: cfg.wants(),
            freshness: cfg.gate.fresh_approvals,
            min_auto: cfg.gate.min_approvals.is_none(),
            builds_auto: cfg.gate.required_builds_auto,
            current_run: cfg.gate.current_run.clone(),
            settings: tokio::sync::OnceCell::new(),
        })
    }
}

/// The credential form (docs/variables.md).
pub const TOKEN: Form = Form::new("access token", &["GITLAB_TOKEN"], "PRIVATE-TOKEN header");

/// GitLab in the registry (`provider::registry::FORGES`).
pub static ENTRY: Entry = Entry {
    name: "gitlab",
    ci: Some("GitLab CI"),
    precedence: 40,
    detected_when: "GITLAB_CI=true",
    detect: |vars| config::is_true(vars.get("GITLAB_CI")).then_some("GITLAB_CI=true"),
    reads: &[],
    read_prefixes: &["GITLAB_", "CI_"],
    credentials: &[TOKEN],
    open: |cfg| Ok(Box::new(Gitlab::from_config(cfg)?)),
    own_run: Some(pipeline_run),
    ci_output: None,
};

/// GitLab CI's running pipeline, `CI_PIPELINE_ID`: its jobs' statuses carry it as their
/// `pipeline_id` (the build's run), its page is `.../pipelines/N`.
pub fn pipeline_run(vars: &Vars) -> Option<OwnRun> {
    Some(OwnRun {
        ci: "GitLab CI",
        id: ci::digits(vars, "CI_PIPELINE_ID")?,
        names: |id, build| {
            ci::filed_under(id, build) || ci::has_segment_pair(build.url.as_deref().unwrap_or(""), "pipelines", id)
        },
    })
}
