//! GitHub (`api.github.com`, and GitHub Enterprise Server at `https://host/api/v3`).
//!
//! What is looked up: on `pull_request`-type events the PR named in the event payload (its
//! `GITHUB_SHA` is a merge commit no PR contains); on `merge_group` events the PR of the queue
//! entry; otherwise every PR containing `GITHUB_SHA` (`/commits/{sha}/pulls`, all pages).
//!
//! Round trips: the lookup (pages in sequence), then at the same time each PR's reviews and,
//! per distinct head, its check runs and combined commit status. For N PRs with one head that
//! is pages + N + 2 requests in pages + 1 round trips.

use std::io::Read;

use reqwest::{StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::ci::{self, OwnRun};
use crate::config::{self, Config, Outputs, Problems, Vars};
use crate::credentials::{secret_var, Auth, Form, Redactor};
use crate::error::{Error, Result};
use crate::gate::Condition;
use crate::http::{AuthHint, Http, Page as HttpPage};
use crate::model::{Build, BuildState, Lookup, LookupKind, PrState, PullRequest, ReviewState, Reviewer};
use crate::provider::flow::{self, Forge, Listed};
use crate::provider::{parse_body, same_commit, server_commit, Entry, Provider, ProviderKind};
use crate::summary::{Repository, Summary};

const FORGE: &str = "GitHub";
const DEFAULT_API: &str = "https://api.github.com";
/// The REST API version the JSON shapes below follow.
const API_VERSION: &str = "2022-11-28";
const MEDIA_TYPE: &str = "application/vnd.github+json";
/// GitHub's largest page size.
const PER_PAGE: &str = "100";
/// The most of `GITHUB_EVENT_PATH` read: GitHub caps webhook payloads at 25 MB, and a path
/// such as /dev/zero must not be read until memory runs out.
const MAX_EVENT: u64 = 32 * 1024 * 1024;
/// Events whose payload names the pull request (and whose `GITHUB_SHA` is a merge commit).
const PR_EVENTS: [&str; 4] = [
    "pull_request",
    "pull_request_target",
    "pull_request_review",
    "pull_request_review_comment",
];

/// GitHub Actions' own variables (SPEC "Providers", "Credentials").
#[derive(Debug, Deserialize)]
struct GithubEnv {
    github_repository: Option<String>,
    github_api_url: Option<String>,
    github_server_url: Option<String>,
    github_sha: Option<String>,
    github_event_name: Option<String>,
    github_event_path: Option<String>,
}

/// What the lookup asks for, decided from `GITHUB_SHA` and the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Every PR containing the commit.
    Commit(String),
    /// One PR named by the event; `commit` is the commit the summary reports.
    Pr { number: u64, commit: Option<String> },
}

#[derive(Debug)]
pub struct Github {
    http: Http,
    owner: String,
    repo: String,
    web: Option<String>,
    target: Target,
}

fn owner_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.".contains(c)
}

/// What a 401/403 means for a GitHub token.
fn auth_hint() -> AuthHint {
    Box::new(|status: StatusCode, _reason: &str| {
        let permissions = "GITHUB_TOKEN needs the permissions `pull-requests: read`, `checks: read` and \
                           `statuses: read` (and `contents: read` for a private repository): in a workflow add them \
                           under `permissions:`; a fine-grained token needs the same repository permissions";
        if status == StatusCode::UNAUTHORIZED {
            format!(
                "check that GITHUB_TOKEN is set to a current token (in GitHub Actions `${{{{ github.token }}}}`) for this repository; {permissions}"
            )
        } else {
            format!("the token lacks permission: {permissions}")
        }
    })
}

/// The PR number in a merge queue branch: `refs/heads/gh-readonly-queue/<base>/pr-<n>-<sha>`.
fn queue_pr_number(head_ref: &str) -> Option<u64> {
    if !head_ref.contains("gh-readonly-queue/") {
        return None;
    }
    let last = head_ref.rsplit('/').next()?;
    let (number, sha) = last.strip_prefix("pr-")?.split_once('-')?;
    if sha.is_empty() || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    config::pr_id("merge_group.head_ref", number).ok()
}

/// The event payload fields used (`GITHUB_EVENT_PATH`).
#[derive(Debug, Deserialize)]
struct Event {
    pull_request: Option<EventPr>,
    merge_group: Option<MergeGroup>,
}

#[derive(Debug, Deserialize)]
struct EventPr {
    number: u64,
    head: Option<EventHead>,
}

#[derive(Debug, Deserialize)]
struct EventHead {
    sha: Option<String>,
}

#[derive(Debug, Deserialize)]
struct MergeGroup {
    head_sha: Option<String>,
    head_ref: Option<String>,
}

/// Reads the event payload; any failure is a configuration error naming `GITHUB_EVENT_PATH`.
fn read_event(path: Option<&str>, event_name: &str) -> Result<Vec<u8>> {
    let Some(path) = path else {
        return Err(Error::config(format!(
            "GITHUB_EVENT_PATH is not set but GITHUB_EVENT_NAME is {event_name}: GitHub Actions sets it to the event payload; \
             elsewhere point it at the event JSON or unset GITHUB_EVENT_NAME"
        )));
    };
    let mut payload = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_EVENT + 1).read_to_end(&mut payload))
        .map_err(|e| {
            Error::config(format!(
                "GITHUB_EVENT_PATH={path} cannot be read ({e}): it must name the {event_name} event payload GitHub Actions wrote"
            ))
        })?;
    if payload.len() as u64 > MAX_EVENT {
        return Err(Error::config(format!(
            "GITHUB_EVENT_PATH={path} holds more than {} MiB, so it is not the {event_name} event payload GitHub Actions wrote \
             (GitHub caps payloads at 25 MB): point it at the event JSON",
            MAX_EVENT >> 20
        )));
    }
    Ok(payload)
}

/// Parses the event payload read from `path`; not the payload is a configuration error.
fn parse_event_payload(path: &str, event_name: &str, payload: &[u8]) -> Result<Event> {
    serde_json::from_slice(payload).map_err(|e| {
        Error::config(format!(
            "GITHUB_EVENT_PATH={path} is not a {event_name} event payload ({e}): point it at the event JSON GitHub Actions wrote"
        ))
    })
}

/// Decides what to look up from the commit and the event.
fn target(env: &GithubEnv) -> Result<Target> {
    let event_name = env.github_event_name.as_deref().map(str::trim).unwrap_or("");
    let path = env.github_event_path.as_deref();
    target_of(event_name, path, env.github_sha.as_deref(), || {
        read_event(path, event_name)
    })
}

/// Decides what to look up from `GITHUB_SHA`, `GITHUB_EVENT_NAME` and, for the events that
/// name a pull request, the payload `read` gives (read only for those events).
fn target_of(
    event_name: &str,
    path: Option<&str>,
    github_sha: Option<&str>,
    read: impl FnOnce() -> Result<Vec<u8>>,
) -> Result<Target> {
    let sha = github_sha.map(|s| config::commit("GITHUB_SHA", s)).transpose()?;
    let need_sha = |sha: Option<String>| {
        sha.ok_or_else(|| {
            Error::config(
                "GITHUB_SHA is not set: GitHub Actions sets it; elsewhere set it to the 40-hex commit id being built",
            )
        })
    };
    if PR_EVENTS.contains(&event_name) {
        let event = parse_event_payload(path.unwrap_or_default(), event_name, &read()?)?;
        let Some(pr) = event.pull_request else {
            return Err(Error::config(format!(
                "GITHUB_EVENT_PATH={} has no pull_request object although GITHUB_EVENT_NAME is {event_name}: point it at the event JSON GitHub Actions wrote",
                path.unwrap_or_default()
            )));
        };
        let number = config::pr_id("GITHUB_EVENT_PATH pull_request.number", &pr.number.to_string())?;
        let head = pr.head.and_then(|h| h.sha);
        let commit = match head {
            Some(h) => Some(config::commit("GITHUB_EVENT_PATH pull_request.head.sha", &h)?),
            None => sha,
        };
        return Ok(Target::Pr { number, commit });
    }
    if event_name == "merge_group" {
        let event = parse_event_payload(path.unwrap_or_default(), event_name, &read()?)?;
        let Some(group) = event.merge_group else {
            return Err(Error::config(format!(
                "GITHUB_EVENT_PATH={} has no merge_group object although GITHUB_EVENT_NAME is merge_group: point it at the event JSON GitHub Actions wrote",
                path.unwrap_or_default()
            )));
        };
        let commit = match group.head_sha {
            Some(h) => config::commit("GITHUB_EVENT_PATH merge_group.head_sha", &h)?,
            None => need_sha(sha)?,
        };
        return Ok(match group.head_ref.as_deref().and_then(queue_pr_number) {
            Some(number) => Target::Pr {
                number,
                commit: Some(commit),
            },
            // A queue branch name in an unknown format: the commit index still answers.
            None => Target::Commit(commit),
        });
    }
    Ok(Target::Commit(need_sha(sha)?))
}

/// The web address of the repository, for the summary.
fn web_base(env: &GithubEnv, api: &Url) -> Option<String> {
    if let Some(server) = &env.github_server_url {
        return Some(config::without_userinfo(server.trim().trim_end_matches('/')));
    }
    let host = api.host_str()?;
    if host.eq_ignore_ascii_case("api.github.com") {
        return Some("https://github.com".into());
    }
    // GitHub Enterprise Server serves the API at /api/v3 of the web host.
    let path = api.path().trim_end_matches('/');
    path.ends_with("/api/v3")
        .then(|| format!("{}{}", api.origin().ascii_serialization(), &path[..path.len() - 7]))
}

impl Github {
    /// Reads and checks GitHub's variables; one error names every problem (`config::Problems`).
    pub fn from_config(cfg: &Config) -> Result<Github> {
        let env: GithubEnv = cfg.vars.typed()?;
        let mut problems = Problems::of_provider(cfg);
        let repository = problems.check(
            env.github_repository
                .as_deref()
                .map(str::trim)
                .ok_or_else(|| {
                    Error::config(
                        "GITHUB_REPOSITORY is not set: GitHub Actions sets it; elsewhere set it to owner/repo (as in github.com/owner/repo)",
                    )
                })
                .and_then(|full| {
                    let (owner, repo) = full.split_once('/').ok_or_else(|| {
                        Error::config(format!(
                            "GITHUB_REPOSITORY={full:?} is not valid: use owner/repo (as in github.com/owner/repo)"
                        ))
                    })?;
                    let hint = "use owner/repo: letters, digits, '-', '_' and '.' on each side of one '/'";
                    Ok((
                        config::path_segment("GITHUB_REPOSITORY", owner, owner_char, hint)?,
                        config::path_segment("GITHUB_REPOSITORY", repo, owner_char, hint)?,
                    ))
                }),
        );
        let target = problems.check(target(&env));
        let api = problems.check(config::parse_base_url(
            "GITHUB_API_URL",
            env.github_api_url.as_deref().unwrap_or(DEFAULT_API),
        ));
        let mut redactor = Redactor::default();
        let auth = problems.check(
            secret_var(&cfg.vars, "GITHUB_TOKEN")
                .ok_or_else(|| {
                    Error::config(
                        "no GitHub credentials: set GITHUB_TOKEN (in a workflow `GITHUB_TOKEN: ${{ github.token }}`, or the action's github-token input) \
                         with the permissions pull-requests: read, checks: read and statuses: read",
                    )
                })
                .and_then(|token| {
                    redactor.add(&token, None);
                    Auth::bearer(TOKEN, &token, "GITHUB_TOKEN")
                }),
        );
        problems.finish()?;
        let (Some((owner, repo)), Some(target), Some(api), Some(auth)) = (repository, target, api, auth) else {
            return Err(Problems::incomplete());
        };
        let web = web_base(&env, &api).map(|w| format!("{w}/{owner}/{repo}"));
        let mut http = Http::new(FORGE, api, Some(auth), &cfg.http, redactor, auth_hint())?;
        http.add_header("accept", MEDIA_TYPE);
        http.add_header("x-github-api-version", API_VERSION);
        Ok(Github {
            http,
            owner,
            repo,
            web,
            target,
        })
    }

    fn repo_url(&self, rest: &[&str]) -> Url {
        let mut segs = vec!["repos", self.owner.as_str(), self.repo.as_str()];
        segs.extend_from_slice(rest);
        self.http.url(&segs)
    }

    fn paged(&self, rest: &[&str]) -> Url {
        let mut url = self.repo_url(rest);
        url.query_pairs_mut().append_pair("per_page", PER_PAGE);
        url
    }

    /// Every page of a list, following the `Link: rel="next"` header on the API's origin only.
    /// `items` takes one page apart into its items and the list's announced total.
    async fn pages<P: DeserializeOwned, T>(&self, first: Url, items: fn(P) -> (Vec<T>, Option<u64>)) -> Result<Vec<T>> {
        self.http
            .paginate(first, |_, resp| {
                let (list, total) = items(resp.json::<P>()?);
                Ok(HttpPage::new(list, self.http.link_next(resp)?).with_total(total))
            })
            .await
    }

    fn not_found(&self, what: &str) -> Error {
        Error::api(
            Some(404),
            format!(
                "{what} in {}/{} was not found, or GITHUB_TOKEN cannot see it: check GITHUB_REPOSITORY, and for a private repository give the token `contents: read`",
                self.owner, self.repo
            ),
        )
    }

    /// The PRs containing the commit: merged ones that introduced it and open ones whose
    /// branch holds it, forks included.
    async fn commit_prs(&self, commit: &str) -> Result<Vec<ApiPr>> {
        let url = self.paged(&["commits", commit, "pulls"]);
        match self.pages(url, array::<ApiPr>).await {
            Ok(prs) => Ok(prs),
            Err(Error::Api { status: Some(422), .. }) => Err(Error::api(
                Some(422),
                format!(
                    "commit {} is not in {}/{} (422 from /commits/{{sha}}/pulls): check GITHUB_SHA, and that the commit was pushed",
                    &commit[..commit.len().min(12)],
                    self.owner,
                    self.repo
                ),
            )),
            Err(Error::Api { status: Some(404), .. }) => Err(self.not_found("the repository or the commit")),
            Err(e) => Err(e),
        }
    }

    async fn reviews(&self, number: u64) -> Result<Vec<ApiReview>> {
        let url = self.paged(&["pulls", &number.to_string(), "reviews"]);
        self.pages(url, array::<ApiReview>).await
    }

    /// Check runs and commit statuses of one commit. A 404 is an error like on every forge
    /// (see `flow`): the commit is the head of a PR GitHub just sent.
    async fn commit_builds(&self, head: &str) -> Result<Vec<Build>> {
        let runs_url = self.paged(&["commits", head, "check-runs"]);
        let status_url = self.paged(&["commits", head, "status"]);
        let (runs, statuses) = tokio::join!(
            self.pages(runs_url, |p: CheckRuns| (p.check_runs, p.total_count)),
            self.pages(status_url, |p: CombinedStatus| (p.statuses, p.total_count))
        );
        let unreadable =
            |e: Error, what: &str| flow::builds_unreadable(e, &format!("the {what} of commit {}", flow::short(head)));
        let runs = runs.map_err(|e| unreadable(e, "check runs"))?;
        let statuses = statuses.map_err(|e| unreadable(e, "commit statuses"))?;
        Ok(to_builds(runs, statuses))
    }
}

/// A page that is a JSON array: its items, no announced total.
fn array<T>(page: Vec<T>) -> (Vec<T>, Option<u64>) {
    (page, None)
}

/// The credential form (SPEC "Credentials").
pub const TOKEN: Form = Form {
    name: "token",
    variables: &["GITHUB_TOKEN"],
    sent_as: "Authorization: Bearer",
};

/// GitHub in the registry (`provider::registry::FORGES`).
pub static ENTRY: Entry = Entry {
    name: "github",
    ci: Some("GitHub Actions"),
    precedence: 30,
    detected_when: "GITHUB_ACTIONS=true",
    detect: |vars| config::is_true(vars.get("GITHUB_ACTIONS")).then_some("GITHUB_ACTIONS=true"),
    reads: &[],
    read_prefixes: &["GITHUB_"],
    credentials: &[TOKEN],
    open: |cfg| Ok(Box::new(Github::from_config(cfg)?)),
    own_run: Some(actions_run),
    ci_output: Some(actions_output),
};

/// GitHub Actions' running workflow run, `GITHUB_RUN_ID`: its check runs link to
/// `.../actions/runs/N/...`.
pub fn actions_run(vars: &Vars) -> Option<OwnRun> {
    Some(OwnRun {
        ci: "GitHub Actions",
        id: ci::digits(vars, "GITHUB_RUN_ID")?,
        names: |id, build| {
            ci::filed_under(id, build) || ci::has_segment_pair(build.url.as_deref().unwrap_or(""), "runs", id)
        },
    })
}

/// In GitHub Actions, the workflow command annotations (`summary::github::annotations`).
fn actions_output(summary: &Summary, _: &Outputs, vars: &Vars) -> String {
    let actions = config::parse_bool("GITHUB_ACTIONS", vars.get("GITHUB_ACTIONS"), false).unwrap_or(false);
    if actions {
        crate::summary::github::annotations(summary)
    } else {
        String::new()
    }
}

impl Provider for Github {
    fn kind(&self) -> ProviderKind {
        &ENTRY
    }

    fn repository(&self) -> Repository {
        Repository {
            full_name: format!("{}/{}", self.owner, self.repo),
            url: self.web.clone(),
        }
    }

    fn commit(&self) -> Option<String> {
        match &self.target {
            Target::Commit(c) => Some(c.clone()),
            Target::Pr { commit, .. } => commit.clone(),
        }
    }

    /// GitHub has no tasks: `no-open-tasks` could never be answered.
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

impl Forge for Github {
    type Pr = ApiPr;
    type Detail = (ApiPr, Vec<ApiReview>);
    type Head = String;
    type Builds = Vec<Build>;

    async fn list(&self) -> Result<Listed<Self>> {
        match &self.target {
            Target::Pr { number, .. } => {
                let url = self.repo_url(&["pulls", &number.to_string()]);
                let pr: ApiPr = match self.http.get(url).await {
                    Err(Error::Api { status: Some(404), .. }) => {
                        return Err(
                            self.not_found(&format!("pull request #{number} (from the event at GITHUB_EVENT_PATH)"))
                        )
                    }
                    other => other?.json()?,
                };
                Ok(Listed::new(LookupKind::PrId, vec![pr]))
            }
            Target::Commit(commit) => Ok(Listed::new(LookupKind::Commit, self.commit_prs(commit).await?)),
        }
    }

    fn id(pr: &ApiPr) -> u64 {
        pr.number
    }

    fn listed_head(pr: &ApiPr) -> Option<String> {
        pr.head_sha().and_then(server_commit)
    }

    async fn detail(&self, pr: ApiPr) -> Result<(ApiPr, Vec<ApiReview>)> {
        let reviews = self.reviews(pr.number).await?;
        Ok((pr, reviews))
    }

    fn head((pr, _): &(ApiPr, Vec<ApiReview>)) -> Option<String> {
        Self::listed_head(pr)
    }

    fn same_head(a: &String, b: &String) -> bool {
        same_commit(a, b)
    }

    async fn builds(&self, head: &String) -> Result<Vec<Build>> {
        self.commit_builds(head).await
    }

    fn normalize(&self, (pr, reviews): (ApiPr, Vec<ApiReview>), builds: &Vec<Build>) -> Result<PullRequest> {
        pr.normalize(&reviews, builds.clone())
    }
}

// ---- GitHub's JSON, only the fields used; unknown fields are ignored. ----

#[derive(Debug, Deserialize, Default)]
struct ApiUser {
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
struct ApiTeam {
    name: Option<String>,
    slug: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ApiRef {
    #[serde(rename = "ref")]
    name: Option<String>,
    sha: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ApiPr {
    number: u64,
    title: Option<String>,
    state: Option<String>,
    merged_at: Option<String>,
    merged: Option<bool>,
    draft: Option<bool>,
    html_url: Option<String>,
    user: Option<ApiUser>,
    head: Option<ApiRef>,
    base: Option<ApiRef>,
    created_at: Option<String>,
    updated_at: Option<String>,
    /// Only in the single-PR answer, not in lists.
    comments: Option<u32>,
    review_comments: Option<u32>,
    requested_reviewers: Option<Vec<ApiUser>>,
    requested_teams: Option<Vec<ApiTeam>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ApiReview {
    user: Option<ApiUser>,
    state: Option<String>,
    submitted_at: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CheckRuns {
    /// Required: an answer without its list is malformed, never "no builds".
    check_runs: Vec<CheckRun>,
    total_count: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct CheckRun {
    name: Option<String>,
    status: Option<String>,
    conclusion: Option<String>,
    details_url: Option<String>,
    html_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CombinedStatus {
    /// Required, as for check runs.
    statuses: Vec<CommitStatus>,
    total_count: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct CommitStatus {
    context: Option<String>,
    state: Option<String>,
    target_url: Option<String>,
}

/// A check run's `status`, or its `conclusion` once `completed`, as SPEC's four states.
/// Values GitHub may add later count as STOPPED: not running, not a success.
fn check_state(status: Option<&str>, conclusion: Option<&str>) -> BuildState {
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
fn status_state(state: Option<&str>) -> BuildState {
    match state.unwrap_or("") {
        "success" => BuildState::Successful,
        "failure" | "error" => BuildState::Failed,
        "pending" => BuildState::Inprogress,
        _ => BuildState::Stopped,
    }
}

/// A commit's builds: its check runs, then its commit statuses, every page of each.
fn to_builds(runs: Vec<CheckRun>, statuses: Vec<CommitStatus>) -> Vec<Build> {
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
/// who only commented, or whose verdict was dismissed, is listed as pending.
fn verdicts(mut reviews: Vec<&ApiReview>, author: &ApiUser) -> Vec<(String, String, ReviewState)> {
    // GitHub lists reviews oldest first; sort anyway (stable) in case a server does not.
    reviews.sort_by(|a, b| a.submitted_at.cmp(&b.submitted_at));
    let mut out: Vec<(String, String, ReviewState)> = Vec::new();
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
        let key = user.key();
        match out.iter_mut().find(|(k, _, _)| *k == key) {
            Some(entry) => {
                if let Some(v) = verdict {
                    entry.2 = v;
                }
            }
            None => out.push((key, user.name(), verdict.unwrap_or(ReviewState::Pending))),
        }
    }
    out
}

impl ApiPr {
    fn head_sha(&self) -> Option<&str> {
        self.head.as_ref()?.sha.as_deref()
    }

    fn normalize(self, reviews: &[ApiReview], builds: Vec<Build>) -> Result<PullRequest> {
        let merged = self.merged_at.is_some() || self.merged == Some(true);
        let state = match self.state.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("open") => PrState::Open,
            Some("closed") if merged => PrState::Merged,
            Some("closed") => PrState::Declined,
            other => {
                return Err(Error::api(
                    None,
                    format!(
                        "{FORGE} sent pull request #{} with state {:?}; expected open or closed",
                        self.number,
                        other.unwrap_or("(none)")
                    ),
                ))
            }
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
        let mut reviewers = verdicts(reviews.iter().collect(), &author);
        for user in self.requested_reviewers.unwrap_or_default() {
            let key = user.key();
            if !user.same(&author) && !reviewers.iter().any(|(k, _, _)| *k == key) {
                reviewers.push((key, user.name(), ReviewState::Pending));
            }
        }
        for team in self.requested_teams.unwrap_or_default() {
            if let Some(name) = team.name.or(team.slug) {
                reviewers.push((String::new(), name, ReviewState::Pending));
            }
        }
        pr.set_reviews(reviewers.into_iter().map(|(_, name, state)| Reviewer::new(name, state)));
        pr.builds = builds;
        Ok(pr)
    }
}

// ---- The parsers of GitHub answers and of the event payload on their own, for property tests
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

/// What the step looks up given `GITHUB_EVENT_NAME`, the event payload (the file at
/// `GITHUB_EVENT_PATH`) and `GITHUB_SHA`. A payload that is not the event's is a configuration
/// error naming `GITHUB_EVENT_PATH` (exit 2); it never panics, whatever the bytes.
pub fn parse_event(event_name: &str, payload: &[u8], github_sha: Option<&str>) -> Result<Target> {
    target_of(
        event_name.trim(),
        Some("<payload>"),
        github_sha,
        || Ok(payload.to_vec()),
    )
}

// ---- POST_RESULT: the verdict as the commit status `pr-status` (docs/post-result.md). ----

use reqwest::Method;
use serde_json::json;

use crate::gate::Outcome;
use crate::post::{self, Verdict};

/// What posting a commit status needs, for a refusal.
const POST_NEEDS: &str =
    "GITHUB_TOKEN with the permission `statuses: write` (in a workflow add it under `permissions:`; \
                          a fine-grained token needs Commit statuses: Read and write)";
/// GitHub's longest commit status description.
const MAX_DESCRIPTION: usize = 140;

impl Github {
    /// `POST /repos/{owner}/{repo}/statuses/{sha}`: state success, failure or pending, context
    /// `pr-status`, the gate's message as the description, the CI run as the target.
    async fn post_status(&self, v: &Verdict) -> Result<()> {
        let state = match v.outcome {
            Outcome::Pass => "success",
            Outcome::Fail => "failure",
            _ => "pending",
        };
        let mut body = json!({
            "state": state,
            "context": post::NAME,
            "description": v.description(MAX_DESCRIPTION),
        });
        if let Some(link) = &v.link {
            body["target_url"] = json!(link);
        }
        let url = self.repo_url(&["statuses", &v.commit]);
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
    fn merge_queue_branches_name_their_pr() {
        let n = |r: &str| queue_pr_number(r);
        assert_eq!(
            n("refs/heads/gh-readonly-queue/main/pr-123-0123456789abcdef"),
            Some(123)
        );
        assert_eq!(n("gh-readonly-queue/release/1.x/pr-7-abcdef0"), Some(7));
        assert_eq!(n("refs/heads/gh-readonly-queue/main/pr-x-abc"), None);
        assert_eq!(n("refs/heads/gh-readonly-queue/main/pr-12-"), None);
        assert_eq!(n("refs/heads/feature/pr-12-abc"), None);
        assert_eq!(n("refs/heads/gh-readonly-queue/main/pr-0-abc"), None);
    }

    #[test]
    fn check_runs_map_to_the_four_states() {
        let c = |s: &str, c: Option<&str>| check_state(Some(s), c);
        for s in ["queued", "in_progress", "waiting", "requested", "pending"] {
            assert_eq!(c(s, None), BuildState::Inprogress, "{s}");
        }
        for (conclusion, want) in [
            ("success", BuildState::Successful),
            ("neutral", BuildState::Successful),
            ("skipped", BuildState::Successful),
            ("failure", BuildState::Failed),
            ("timed_out", BuildState::Failed),
            ("action_required", BuildState::Failed),
            ("cancelled", BuildState::Stopped),
            ("stale", BuildState::Stopped),
            ("something_new", BuildState::Stopped),
        ] {
            assert_eq!(c("completed", Some(conclusion)), want, "{conclusion}");
        }
        assert_eq!(status_state(Some("error")), BuildState::Failed);
        assert_eq!(status_state(Some("pending")), BuildState::Inprogress);
    }

    #[test]
    fn web_base_for_github_com_and_enterprise() {
        let env = |server: Option<&str>| GithubEnv {
            github_repository: None,
            github_api_url: None,
            github_server_url: server.map(String::from),
            github_sha: None,
            github_event_name: None,
            github_event_path: None,
        };
        let u = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            web_base(&env(None), &u("https://api.github.com")).as_deref(),
            Some("https://github.com")
        );
        assert_eq!(
            web_base(&env(None), &u("https://ghe.example/api/v3")).as_deref(),
            Some("https://ghe.example")
        );
        assert_eq!(
            web_base(&env(Some("https://ghe.example/")), &u("https://x/api")).as_deref(),
            Some("https://ghe.example")
        );
        assert_eq!(web_base(&env(None), &u("http://127.0.0.1:9/")), None);
    }
}
