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

use reqwest::{StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::ci::{self, OwnRun};
use crate::config::{self, Config, Problems, Vars};
use crate::credentials::{secret_var, Auth, Form, Redactor};
use crate::error::{Error, Result};
use crate::gate::Condition;
use crate::http::{AuthHint, Http, Page as HttpPage};
use crate::model::{Build, BuildState, Lookup, LookupKind, PrState, PullRequest, ReviewState, Reviewer};
use crate::provider::flow::{self, Forge, Listed};
use crate::provider::{parse_body, same_commit, server_commit, Entry, Provider, ProviderKind};
use crate::summary::Repository;

const FORGE: &str = "GitLab";
const DEFAULT_API: &str = "https://gitlab.com/api/v4";
/// GitLab's largest page size.
const PER_PAGE: &str = "100";

/// GitLab CI's own variables (SPEC "Providers", "Credentials").
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
        })
    }

    fn project_url(&self, rest: &[&str]) -> Url {
        let mut segs = vec!["projects", self.project.as_str()];
        segs.extend_from_slice(rest);
        self.http.url(&segs)
    }

    /// Every page of a list: the `Link: rel="next"` header (on the API's origin only), else
    /// GitLab's `x-next-page` (which is all that some servers and proxies pass on).
    async fn pages<T: DeserializeOwned>(&self, first: Url) -> Result<Vec<T>> {
        self.http
            .paginate(first, |current, resp| {
                let items = resp.json::<Vec<T>>()?;
                // GitLab counts the whole list in `x-total` (left out past 10,000 items).
                let total = resp.header("x-total").and_then(|t| t.trim().parse::<u64>().ok());
                if let Some(next) = self.http.link_next(resp)? {
                    return Ok(HttpPage::new(items, Some(next)).with_total(total));
                }
                let next_page = resp
                    .header("x-next-page")
                    .map(str::trim)
                    .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
                let next = next_page.map(|n| {
                    let kept: Vec<(String, String)> = current
                        .query_pairs()
                        .filter(|(k, _)| k != "page")
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect();
                    let mut next = current.clone();
                    next.query_pairs_mut().clear().extend_pairs(kept).append_pair("page", n);
                    next
                });
                Ok(HttpPage::new(items, next).with_total(total))
            })
            .await
    }

    fn paged(&self, rest: &[&str]) -> Url {
        let mut url = self.project_url(rest);
        url.query_pairs_mut().append_pair("per_page", PER_PAGE);
        url
    }

    /// A 404 that keeps the server's reason and says what to check.
    fn not_found(&self, message: String, check: &str) -> Error {
        Error::api(
            Some(404),
            format!(
                "{message}: check {check}, and that GITLAB_TOKEN's user is a member of project {} (Reporter role or higher)",
                self.name
            ),
        )
    }

    /// The MRs containing the commit (their numbers; each is fetched in full afterwards).
    async fn commit_mrs(&self, commit: &str) -> Result<Vec<ApiMr>> {
        let url = self.paged(&["repository", "commits", commit, "merge_requests"]);
        match self.pages::<ApiMr>(url).await {
            Err(Error::Api {
                status: Some(404),
                message,
            }) => Err(self.not_found(message, "CI_PROJECT_ID and CI_COMMIT_SHA")),
            other => other,
        }
    }

    /// One MR with its head pipeline, approvals and reviewers, fetched at the same time.
    async fn fetch(&self, iid: u64) -> Result<Fetched> {
        let id = iid.to_string();
        let (mr, approvals, reviewers) = tokio::join!(
            self.http.get(self.project_url(&["merge_requests", &id])),
            self.http.get(self.project_url(&["merge_requests", &id, "approvals"])),
            self.pages::<ApiReviewer>(self.paged(&["merge_requests", &id, "reviewers"]))
        );
        let mr: ApiMr = match mr {
            Err(Error::Api {
                status: Some(404),
                message,
            }) => {
                return Err(self.not_found(
                    message,
                    &format!("that merge request !{iid} exists (CI_MERGE_REQUEST_IID)"),
                ))
            }
            other => other?.json()?,
        };
        // Servers without the approvals or reviewers APIs (older or Community editions) answer
        // 404: there is then nothing to report from them.
        let approvals: Option<ApiApprovals> = match approvals {
            Err(Error::Api { status: Some(404), .. }) => {
                self.http.debug(&format!("no approvals API for !{iid} (404)"));
                None
            }
            other => Some(other?.json()?),
        };
        let reviewers: Option<Vec<ApiReviewer>> = match reviewers {
            Err(Error::Api { status: Some(404), .. }) => {
                self.http.debug(&format!("no reviewers API for !{iid} (404)"));
                None
            }
            other => Some(other?),
        };
        Ok(Fetched {
            mr,
            approvals,
            reviewers,
        })
    }

    /// The latest status of each job and external status of a commit on a branch (GitLab
    /// leaves out retried jobs by itself). A 404 is an error like on every forge (see `flow`):
    /// the commit is the head of an MR GitLab just sent.
    async fn statuses(&self, head: &Head) -> Result<Vec<ApiStatus>> {
        let mut url = self.project_url(&["repository", "commits", &head.sha, "statuses"]);
        url.query_pairs_mut()
            .append_pair("ref", &head.branch)
            .append_pair("per_page", PER_PAGE);
        self.pages::<ApiStatus>(url).await.map_err(|e| {
            let what = format!("the commit statuses of {} on {}", flow::short(&head.sha), head.branch);
            flow::builds_unreadable(e, &what)
        })
    }
}

/// An MR as a list names it: its number and, when the list says, its head.
pub(crate) struct ListedMr {
    iid: u64,
    head: Option<Head>,
}

/// The credential form (SPEC "Credentials").
pub const TOKEN: Form = Form {
    name: "access token",
    variables: &["GITLAB_TOKEN"],
    sent_as: "PRIVATE-TOKEN header",
};

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

impl Provider for Gitlab {
    fn kind(&self) -> ProviderKind {
        &ENTRY
    }

    fn repository(&self) -> Repository {
        Repository {
            full_name: self.name.clone(),
            url: self.web.clone(),
        }
    }

    fn commit(&self) -> Option<String> {
        self.commit.clone()
    }

    /// GitLab has no tasks to count: `no-open-tasks` could never be answered.
    fn unsupported(&self) -> &'static [Condition] {
        &[Condition::NoOpenTasks]
    }

    fn http(&self) -> Option<&Http> {
        Some(&self.http)
    }

    async fn lookup(&mut self) -> Result<Lookup> {
        flow::lookup(&*self).await
    }

    async fn post_result(&self, verdict: &Verdict) -> Result<()> {
        self.post_status(verdict).await
    }
}

impl Forge for Gitlab {
    type Pr = ListedMr;
    type Detail = Fetched;
    type Head = Head;
    type Builds = Vec<ApiStatus>;

    async fn list(&self) -> Result<Listed<Self>> {
        if let Some(iid) = self.iid {
            // The pipeline's variables name the MR's head: its statuses are read while the MR
            // itself is fetched.
            let mr = ListedMr {
                iid,
                head: self.expected_head.clone(),
            };
            return Ok(Listed::new(LookupKind::PrId, vec![mr]));
        }
        let commit = self.commit.clone().unwrap_or_default();
        let mrs = self.commit_mrs(&commit).await?;
        let listed = mrs
            .into_iter()
            .map(|mr| ListedMr {
                iid: mr.iid,
                head: Head::of(mr.sha.as_deref(), mr.source_branch.as_deref()),
            })
            .collect();
        Ok(Listed::new(LookupKind::Commit, listed))
    }

    fn id(mr: &ListedMr) -> u64 {
        mr.iid
    }

    fn listed_head(mr: &ListedMr) -> Option<Head> {
        mr.head.clone()
    }

    async fn detail(&self, mr: ListedMr) -> Result<Fetched> {
        self.fetch(mr.iid).await
    }

    fn head(f: &Fetched) -> Option<Head> {
        Head::of(f.mr.sha.as_deref(), f.mr.source_branch.as_deref())
    }

    fn same_head(a: &Head, b: &Head) -> bool {
        a.branch == b.branch && same_commit(&a.sha, &b.sha)
    }

    async fn builds(&self, head: &Head) -> Result<Vec<ApiStatus>> {
        self.statuses(head).await
    }

    fn normalize(&self, f: Fetched, statuses: &Vec<ApiStatus>) -> Result<PullRequest> {
        f.mr.normalize(f.approvals, f.reviewers, statuses)
    }
}

// ---- GitLab's JSON, only the fields used; unknown fields are ignored. ----

#[derive(Debug, Deserialize, Default, Clone)]
struct ApiUser {
    id: Option<u64>,
    name: Option<String>,
    username: Option<String>,
}

impl ApiUser {
    fn display(&self) -> String {
        self.name
            .clone()
            .or_else(|| self.username.clone())
            .unwrap_or_else(|| "unknown".into())
    }

    fn same(&self, other: &ApiUser) -> bool {
        match (self.id, other.id) {
            (Some(a), Some(b)) => a == b,
            _ => self.username.is_some() && self.username == other.username,
        }
    }
}

#[derive(Debug, Deserialize)]
struct ApiPipeline {
    id: Option<u64>,
    status: Option<String>,
    web_url: Option<String>,
    #[serde(rename = "ref")]
    name: Option<String>,
}

/// A commit status: a CI job, or a status an external service posted (filed by GitLab, stage
/// `external`, under the pipeline it names, else the commit's newest pipeline on its ref, else
/// a new pipeline of its own).
#[derive(Debug, Deserialize)]
pub(crate) struct ApiStatus {
    id: Option<u64>,
    name: Option<String>,
    status: Option<String>,
    target_url: Option<String>,
    /// Since GitLab 16.3.
    pipeline_id: Option<u64>,
    allow_failure: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct ApiMr {
    iid: u64,
    title: Option<String>,
    state: Option<String>,
    draft: Option<bool>,
    /// Before GitLab 14.0 (and still sent next to `draft` until 16.0).
    work_in_progress: Option<bool>,
    web_url: Option<String>,
    author: Option<ApiUser>,
    source_branch: Option<String>,
    target_branch: Option<String>,
    sha: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
    user_notes_count: Option<u32>,
    head_pipeline: Option<ApiPipeline>,
    /// The older name of the MR's latest pipeline.
    pipeline: Option<ApiPipeline>,
    /// Reviewers without their state (in the MR itself since GitLab 13.8).
    reviewers: Option<Vec<ApiUser>>,
}

#[derive(Debug, Deserialize)]
struct ApiApprovals {
    #[serde(default)]
    approved_by: Vec<ApiApprover>,
}

#[derive(Debug, Deserialize)]
struct ApiApprover {
    user: Option<ApiUser>,
}

#[derive(Debug, Deserialize)]
struct ApiReviewer {
    user: Option<ApiUser>,
    state: Option<String>,
}

/// A pipeline's status as SPEC's four states.
///
/// `manual` means the pipeline is blocked on a manual job that is not allowed to fail: it
/// will not finish by itself and GitLab does not count it as succeeded, so it is STOPPED (the
/// gate fails rather than waiting for a click). `scheduled` (a delayed job) will run by
/// itself, so it is INPROGRESS. `skipped` is SUCCESSFUL, as GitHub's skipped checks are.
/// Statuses GitLab may add later count as STOPPED: not running, not a success.
fn pipeline_state(status: &str) -> BuildState {
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

/// A commit status's `status` as SPEC's four states: the pipeline's mapping, except that a job
/// allowed to fail which failed, was canceled or waits for a manual start is SUCCESSFUL.
/// GitLab leaves exactly these out of a pipeline's own status (the pipeline "passed with
/// warnings"; its manual jobs are optional), so they must not fail `builds-passed` either.
fn status_state(status: &str, allow_failure: bool) -> BuildState {
    match status {
        "failed" | "canceled" | "manual" if allow_failure => BuildState::Successful,
        other => pipeline_state(other),
    }
}

impl ApiStatus {
    fn build(&self) -> Build {
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
fn other_pipelines(statuses: &[ApiStatus], head_pipeline: Option<u64>) -> Vec<Build> {
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
    fn build(self) -> Build {
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
    fn normalize(
        self,
        approvals: Option<ApiApprovals>,
        reviewers: Option<Vec<ApiReviewer>>,
        statuses: &[ApiStatus],
    ) -> Result<PullRequest> {
        let state = match self.state.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("opened") | Some("locked") => PrState::Open,
            Some("merged") => PrState::Merged,
            Some("closed") => PrState::Declined,
            other => {
                return Err(Error::api(
                    None,
                    format!(
                        "{FORGE} sent merge request !{} with state {:?}; expected opened, merged, closed or locked",
                        self.iid,
                        other.unwrap_or("(none)")
                    ),
                ))
            }
        };
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
        let approvers: Vec<ApiUser> = approvals
            .map(|a| a.approved_by.into_iter().filter_map(|x| x.user).collect())
            .unwrap_or_default();
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
            let verdict = if approvers.iter().any(|a| a.same(&user)) || state.as_deref() == Some("approved") {
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
        // Anyone may approve, reviewer or not (SPEC: every participant's approval counts).
        for user in approvers {
            if !out.iter().any(|(u, _)| u.same(&user)) {
                out.push((user, ReviewState::Approved));
            }
        }
        pr.set_reviews(
            out.into_iter()
                .filter(|(u, _)| !u.same(&author))
                .map(|(u, state)| Reviewer::new(u.display(), state)),
        );
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

// ---- POST_RESULT: the verdict as the commit status `pr-status` (docs/post-result.md). ----

use reqwest::Method;
use serde_json::json;

use crate::gate::Outcome;
use crate::post::{self, Verdict};

/// What posting a commit status needs, for a refusal.
const POST_NEEDS: &str = "GITLAB_TOKEN with the `api` scope (`read_api` cannot write) whose user has at least the \
                          Developer role in the project";
/// GitLab's longest `description`, `target_url` and `ref`.
const MAX_FIELD: usize = 255;

impl Gitlab {
    /// `POST /projects/:id/statuses/:sha`: state success, failed or pending, name `pr-status`.
    /// Filed under the running pipeline when it runs for that commit (never counted by the
    /// gate), else on the MR's source branch.
    async fn post_status(&self, v: &Verdict) -> Result<()> {
        let state = match v.outcome {
            Outcome::Pass => "success",
            Outcome::Fail => "failed",
            _ => "pending",
        };
        let mut body = json!({
            "state": state,
            "name": post::NAME,
            "description": v.description(MAX_FIELD),
        });
        if let Some(link) = v.link.as_ref().filter(|l| l.len() <= MAX_FIELD) {
            body["target_url"] = json!(link);
        }
        match (
            &v.gitlab_pipeline_id,
            v.pr.as_ref().and_then(|p| p.source_branch.as_ref()),
        ) {
            (Some(id), _) => body["pipeline_id"] = json!(id.parse::<u64>().ok()),
            (None, Some(branch)) if branch.len() <= MAX_FIELD => body["ref"] = json!(branch),
            _ => {}
        }
        let url = self.project_url(&["statuses", &v.commit]);
        self.http
            .send(Method::POST, url, Some(("application/json", body.to_string())), None)
            .await
            .map_err(|e| post::refused(e, POST_NEEDS))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_ids_and_paths() {
        assert_eq!(project_id("278964").unwrap(), "278964");
        assert_eq!(project_id("group/sub/my.project").unwrap(), "group/sub/my.project");
        for bad in [
            "",
            "group/../x",
            "/group/x",
            "group//x",
            "group/x/",
            "a b",
            "g/.hidden",
            "x?y",
        ] {
            assert!(project_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn pipeline_states_map_to_the_four() {
        assert_eq!(pipeline_state("success"), BuildState::Successful);
        assert_eq!(pipeline_state("skipped"), BuildState::Successful);
        assert_eq!(pipeline_state("failed"), BuildState::Failed);
        for s in [
            "created",
            "waiting_for_resource",
            "preparing",
            "pending",
            "running",
            "scheduled",
        ] {
            assert_eq!(pipeline_state(s), BuildState::Inprogress, "{s}");
        }
        for s in ["canceled", "canceling", "manual", "new_thing"] {
            assert_eq!(pipeline_state(s), BuildState::Stopped, "{s}");
        }
    }

    #[test]
    fn allowed_failures_and_optional_manual_jobs_do_not_fail() {
        for s in ["failed", "canceled", "manual"] {
            assert_eq!(status_state(s, true), BuildState::Successful, "{s}");
        }
        assert_eq!(status_state("failed", false), BuildState::Failed);
        assert_eq!(status_state("manual", false), BuildState::Stopped);
        assert_eq!(status_state("canceled", false), BuildState::Stopped);
        assert_eq!(status_state("running", true), BuildState::Inprogress);
        assert_eq!(status_state("success", false), BuildState::Successful);
    }

    #[test]
    fn other_pipelines_newest_of_each_name_head_and_unfiled_left_out() {
        let status = |id: u64, name: &str, pipeline: Option<u64>, state: &str| ApiStatus {
            id: Some(id),
            name: Some(name.into()),
            status: Some(state.into()),
            target_url: None,
            pipeline_id: pipeline,
            allow_failure: None,
        };
        let statuses = [
            status(9, "lint", Some(600), "success"),
            status(3, "lint", Some(590), "failed"),
            status(4, "test", Some(500), "failed"),
            status(5, "old-server", None, "failed"),
            status(6, "sonar", Some(600), "running"),
        ];
        let got: Vec<(String, BuildState, Option<String>)> = other_pipelines(&statuses, Some(500))
            .into_iter()
            .map(|b| (b.key, b.state, b.run))
            .collect();
        assert_eq!(
            got,
            [
                ("lint".to_string(), BuildState::Successful, Some("600".to_string())),
                ("sonar".to_string(), BuildState::Inprogress, Some("600".to_string())),
            ]
        );
        assert_eq!(
            other_pipelines(&statuses, None).len(),
            3,
            "no head pipeline: test counts"
        );
    }
}
