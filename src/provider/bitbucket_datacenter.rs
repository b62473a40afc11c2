//! Bitbucket Data Center (self-hosted, formerly Bitbucket Server): the REST API under
//! `{BITBUCKET_SERVER_URL}/rest`, the server possibly under a context path.
//!
//! Round trips: the commit's pull requests (`/rest/api/latest/.../commits/{commit}/pull-requests`,
//! every page) and the commit's own build statuses are fetched at the same time. A PR whose
//! head is another commit costs one build-status request per distinct head, all concurrent.
//! The list answer already carries reviewers, participants, task and comment counts, so no PR
//! needs a request of its own: N PRs whose head is the commit cost pages + 1 requests.
//!
//! The repository's own merge rules (`REQUIRE=mergeable`, the `auto` settings) are read only
//! when asked for (`rules`): the common path keeps the requests above.
//!
//! Builds come from `GET /rest/build-status/latest/commits/{commit}`: it is the only resource
//! that lists a commit's build statuses (deprecated since 7.14, still served by 9.x). The
//! per-repository `.../commits/{commit}/builds` that replaced it for posting statuses answers
//! GET with one status and requires that status's `key` (Data Center 9.2 API description), so
//! it cannot list them.

use reqwest::{StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::config::{self, Config, Problems, Vars};
use crate::credentials::{secret_var, Auth, Form, Redactor};
use crate::error::{Error, Result};
use crate::http::{AuthHint, Http, Page as HttpPage};
use crate::model::{Build, Freshness, Lookup, LookupKind, PrState, PullRequest, ReviewState, Reviewer, Wants};
use crate::provider::flow::{self, Forge, Listed};
use crate::provider::{parse_body, same_commit, server_commit, BitbucketStatus, Entry, Provider, ProviderKind};
use crate::summary::Repository;

mod rules;

use rules::{MergeVerdict, Needs, RepoRules};

const FORGE: &str = "Bitbucket Data Center";
/// Page sizes asked for; servers cap `limit` themselves (build statuses at 100).
const PR_LIMIT: &str = "100";
const BUILD_LIMIT: &str = "100";
/// What a credential needs, for messages.
const TOKEN: &str = "an HTTP access token (personal, project or repository)";
const PERMISSION: &str = "Repository read permission (Project read for a project token)";

/// Data Center's own variables (SPEC "Providers", "Credentials").
#[derive(Debug, Deserialize)]
struct DatacenterEnv {
    bitbucket_server_url: Option<String>,
    bitbucket_project_key: Option<String>,
    bitbucket_repo_slug: Option<String>,
    bitbucket_commit: Option<String>,
    /// Jenkins' name for the commit being built.
    git_commit: Option<String>,
    bitbucket_pr_id: Option<String>,
    bitbucket_username: Option<String>,
}

#[derive(Debug)]
pub struct BitbucketDatacenter {
    http: Http,
    project: String,
    slug: String,
    commit: Option<String>,
    pr_id: Option<u64>,
    /// What this run reads beyond the common lookup (`REQUIRE=mergeable`, the auto settings).
    wants: Wants,
    needs: Needs,
    /// The repository's rules, once read: they are repository-wide, so a wait for builds
    /// does not read them again.
    rules: Option<RepoRules>,
}

/// A project key (`PROJ`: a letter, then letters, digits, `_`) or a personal repository's
/// `~user` (user slugs also allow `.`, `-` and `@`).
fn project_key(value: &str) -> Result<String> {
    let v = value.trim();
    let ok = match v.strip_prefix('~') {
        Some(user) => {
            !user.is_empty()
                && user != "."
                && user != ".."
                && user.chars().all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
        }
        None => {
            v.starts_with(|c: char| c.is_ascii_alphabetic()) && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
    };
    if !ok || v.len() > 200 {
        return Err(Error::config(format!(
            "BITBUCKET_PROJECT_KEY={value:?} is not valid: use the project key (the KEY in /projects/KEY/repos/<slug>), \
             or ~username for a personal repository (/users/username/repos/<slug>)"
        )));
    }
    Ok(v.to_string())
}

fn slug_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.".contains(c)
}

/// The server's base URL. A pasted REST URL (`.../rest/api/1.0`) is taken back to the base.
fn server_url(text: &str) -> Result<Url> {
    let trimmed = text.trim().trim_end_matches('/');
    let base = ["/rest/api/1.0", "/rest/api/latest"]
        .iter()
        .find_map(|suffix| trimmed.strip_suffix(suffix))
        .unwrap_or(trimmed);
    config::parse_base_url("BITBUCKET_SERVER_URL", base)
}

/// Picks the credential form (SPEC order) and registers its secrets.
fn credentials(env: &DatacenterEnv, vars: &Vars, redactor: &mut Redactor) -> Result<Auth> {
    if let Some(token) = secret_var(vars, "BITBUCKET_ACCESS_TOKEN") {
        redactor.add(&token, None);
        return Auth::bearer(ACCESS_TOKEN, &token, "BITBUCKET_ACCESS_TOKEN");
    }
    match (&env.bitbucket_username, secret_var(vars, "BITBUCKET_PASSWORD")) {
        (Some(user), Some(pw)) => {
            redactor.add(&pw, Some(user));
            Auth::basic(PASSWORD, user, &pw, "BITBUCKET_PASSWORD")
        }
        (Some(_), None) => Err(Error::config(
            "BITBUCKET_USERNAME is set but BITBUCKET_PASSWORD is not: set both, or set BITBUCKET_ACCESS_TOKEN instead",
        )),
        (None, Some(_)) => Err(Error::config(
            "BITBUCKET_PASSWORD is set but BITBUCKET_USERNAME is not: set both, or set BITBUCKET_ACCESS_TOKEN instead",
        )),
        (None, None) => Err(Error::config(format!(
            "no Bitbucket Data Center credentials: set BITBUCKET_ACCESS_TOKEN to {TOKEN} with {PERMISSION}, \
             or set BITBUCKET_USERNAME + BITBUCKET_PASSWORD where Basic authentication is enabled"
        ))),
    }
}

/// What a 401/403 means for the credential form in use. `reason` is the server's own message.
fn auth_hint(form: Form, repo: String) -> AuthHint {
    Box::new(move |status: StatusCode, reason: &str| {
        let reason = reason.to_ascii_lowercase();
        if form == PASSWORD && reason.contains("basic auth") {
            return format!(
                "Basic authentication is disabled on this Bitbucket Data Center, so BITBUCKET_USERNAME + \
                 BITBUCKET_PASSWORD cannot work: create {TOKEN} with {PERMISSION} and set it as BITBUCKET_ACCESS_TOKEN"
            );
        }
        if reason.contains("captcha") {
            return "the account must solve a CAPTCHA after failed logins: sign in once in the browser, \
                    then prefer BITBUCKET_ACCESS_TOKEN, which is never locked out this way"
                .to_string();
        }
        match (form, status.as_u16()) {
            (f, 401) if f == PASSWORD => format!(
                "check BITBUCKET_USERNAME (the login name) and BITBUCKET_PASSWORD, or set BITBUCKET_ACCESS_TOKEN to {TOKEN} with {PERMISSION}"
            ),
            (_, 401) => format!(
                "check that BITBUCKET_ACCESS_TOKEN is an HTTP access token of this server, neither expired nor revoked, with {PERMISSION}"
            ),
            _ => format!("the credentials lack permission on {repo}: the step needs {PERMISSION}"),
        }
    })
}

impl BitbucketDatacenter {
    /// Reads and checks Data Center's variables; one error names every problem
    /// (`config::Problems`).
    pub fn from_config(cfg: &Config) -> Result<BitbucketDatacenter> {
        let env: DatacenterEnv = cfg.vars.typed()?;
        let mut problems = Problems::of_provider(cfg);
        let need = |v: &Option<String>, name: &str, what: &str| {
            v.clone()
                .ok_or_else(|| Error::config(format!("{name} is not set: set it to {what}")))
        };
        let base = problems.check(
            need(
                &env.bitbucket_server_url,
                "BITBUCKET_SERVER_URL",
                "the server's base URL as in the browser, e.g. https://bitbucket.example.com or https://host/bitbucket",
            )
            .and_then(|u| server_url(&u)),
        );
        let project = problems.check(
            need(
                &env.bitbucket_project_key,
                "BITBUCKET_PROJECT_KEY",
                "the project key (the KEY in /projects/KEY/repos/<slug>), or ~username for a personal repository",
            )
            .and_then(|k| project_key(&k)),
        );
        let slug = problems.check(
            need(
                &env.bitbucket_repo_slug,
                "BITBUCKET_REPO_SLUG",
                "the repository slug (the <slug> in /projects/KEY/repos/<slug>)",
            )
            .and_then(|s| {
                config::path_segment(
                    "BITBUCKET_REPO_SLUG",
                    &s,
                    slug_char,
                    "use the repository slug: letters, digits, '-', '_' and '.'",
                )
            }),
        );
        let pr_id = problems.check(
            env.bitbucket_pr_id
                .as_deref()
                .map(|v| config::pr_id("BITBUCKET_PR_ID", v))
                .transpose(),
        );
        // A PR id, even an invalid one (named above), means the commit is not needed.
        let commit = problems.check(match (&env.bitbucket_commit, &env.git_commit) {
            (Some(c), _) => config::commit("BITBUCKET_COMMIT", c).map(Some),
            (None, Some(c)) => config::commit("GIT_COMMIT", c).map(Some),
            (None, None) if env.bitbucket_pr_id.is_some() => Ok(None),
            (None, None) => Err(Error::config(
                "BITBUCKET_COMMIT is not set: set it to the commit being built (Jenkins sets GIT_COMMIT, \
                 which is read too; in Bamboo use ${bamboo.planRepository.revision}), or set BITBUCKET_PR_ID",
            )),
        });
        let mut redactor = Redactor::default();
        let auth = problems.check(credentials(&env, &cfg.vars, &mut redactor));
        problems.finish()?;
        let (Some(base), Some(project), Some(slug), Some(pr_id), Some(commit), Some(auth)) =
            (base, project, slug, pr_id, commit, auth)
        else {
            return Err(Problems::incomplete());
        };
        let hint = auth_hint(auth.form, format!("{project}/{slug}"));
        let http = Http::new(FORGE, base, Some(auth), &cfg.http, redactor, hint)?;
        Ok(BitbucketDatacenter {
            http,
            project,
            slug,
            commit,
            pr_id,
            wants: cfg.wants(),
            needs: Needs {
                min_approvals: cfg.min_approvals.is_none(),
                fresh: cfg.fresh_approvals == Freshness::Auto,
                builds: cfg.required_builds_auto,
            },
            rules: None,
        })
    }

    /// `{base}/rest/api/latest/projects/{key}/repos/{slug}/...`
    fn repo_url(&self, rest: &[&str]) -> Url {
        let mut segs = vec![
            "rest",
            "api",
            "latest",
            "projects",
            self.project.as_str(),
            "repos",
            self.slug.as_str(),
        ];
        segs.extend_from_slice(rest);
        self.http.url(&segs)
    }

    /// Every page of a paged resource (`start`, `limit`, `isLastPage`, `nextPageStart`).
    async fn pages<T: DeserializeOwned>(&self, url: Url, limit: &str) -> Result<Vec<T>> {
        let at = |start: u64| {
            let mut u = url.clone();
            u.query_pairs_mut()
                .append_pair("start", &start.to_string())
                .append_pair("limit", limit);
            u
        };
        self.http
            .paginate(at(0), |current, resp| {
                let page: Page<T> = resp.json()?;
                let start = current
                    .query_pairs()
                    .find(|(k, _)| k == "start")
                    .and_then(|(_, v)| v.parse::<u64>().ok())
                    .unwrap_or(0);
                let next = match (page.is_last_page, page.next_page_start) {
                    (Some(false), Some(next)) if next > start => Some(at(next)),
                    (Some(false), _) => {
                        return Err(Error::api(
                            None,
                            format!(
                                "{FORGE} sent GET {} a page with isLastPage false but no nextPageStart past {start}",
                                url.path()
                            ),
                        ))
                    }
                    // isLastPage true, or absent: nothing tells where a next page would start.
                    _ => None,
                };
                Ok(HttpPage::new(page.values, next))
            })
            .await
    }

    /// The pull requests that contain the commit.
    async fn commit_prs(&self, commit: &str) -> Result<Vec<ApiPr>> {
        let url = self.repo_url(&["commits", commit, "pull-requests"]);
        match self.pages(url, PR_LIMIT).await {
            Err(Error::Api {
                status: Some(404),
                message,
            }) => Err(Error::api(
                Some(404),
                format!(
                    "{}: check BITBUCKET_PROJECT_KEY={} and BITBUCKET_REPO_SLUG={}, that the commit was pushed \
                     to this repository, and that the credentials can read it",
                    message.trim_end_matches('.'),
                    self.project,
                    self.slug
                ),
            )),
            other => other,
        }
    }

    /// Build statuses of one commit, from the build-status resource (see the module doc).
    async fn build_statuses(&self, commit: &str) -> Result<Vec<BitbucketStatus>> {
        let url = self.http.url(&["rest", "build-status", "latest", "commits", commit]);
        match self.pages(url, BUILD_LIMIT).await {
            // Without the list the builds are unknown; an empty list would pass builds-passed.
            Err(Error::Api {
                status: Some(404),
                message,
            }) => Err(Error::api(
                Some(404),
                format!(
                    "{}: the build statuses cannot be read, so builds cannot be reported; \
                     check that the server's build-status resource is reachable through any proxy in front of it",
                    message.trim_end_matches('.')
                ),
            )),
            Err(Error::Auth { status, message }) => Err(Error::Auth {
                status,
                message: format!(
                    "{message} (build statuses are read from /rest/build-status, which needs a licensed user; \
                     if a project or repository token is refused there, use a personal HTTP access token)"
                ),
            }),
            other => other,
        }
    }

    fn pr_not_found(&self, id: u64, message: &str) -> Error {
        Error::api(
            Some(404),
            format!(
                "{}: check BITBUCKET_PR_ID={id}, BITBUCKET_PROJECT_KEY={} and BITBUCKET_REPO_SLUG={}",
                message.trim_end_matches('.'),
                self.project,
                self.slug
            ),
        )
    }
}

/// Credential forms, in the order they are tried (SPEC "Credentials").
pub const ACCESS_TOKEN: Form = Form {
    name: "HTTP access token",
    variables: &["BITBUCKET_ACCESS_TOKEN"],
    sent_as: "Authorization: Bearer",
};
pub const PASSWORD: Form = Form {
    name: "password",
    variables: &["BITBUCKET_USERNAME", "BITBUCKET_PASSWORD"],
    sent_as: "Authorization: Basic username:password (where the server allows Basic authentication)",
};

/// Bitbucket Data Center in the registry (`provider::registry::FORGES`).
pub static ENTRY: Entry = Entry {
    name: "bitbucket-datacenter",
    ci: None,
    precedence: 10,
    detected_when: "BITBUCKET_SERVER_URL",
    detect: |vars| vars.get("BITBUCKET_SERVER_URL").is_some().then_some("BITBUCKET_SERVER_URL"),
    reads: &[],
    read_prefixes: &["BITBUCKET_", "GIT_"],
    credentials: &[ACCESS_TOKEN, PASSWORD],
    open: |cfg| Ok(Box::new(BitbucketDatacenter::from_config(cfg)?)),
    own_run: None,
    ci_output: None,
};

impl Provider for BitbucketDatacenter {
    fn kind(&self) -> ProviderKind {
        &ENTRY
    }

    fn repository(&self) -> Repository {
        // The web page: personal repositories live under /users/{user}/repos/{slug}.
        let web = match self.project.strip_prefix('~') {
            Some(user) => self.http.url(&["users", user, "repos", &self.slug]),
            None => self.http.url(&["projects", &self.project, "repos", &self.slug]),
        };
        Repository {
            full_name: format!("{}/{}", self.project, self.slug),
            url: Some(web.to_string()),
        }
    }

    fn commit(&self) -> Option<String> {
        self.commit.clone()
    }

    fn http(&self) -> Option<&Http> {
        Some(&self.http)
    }

    async fn lookup(&mut self) -> Result<Lookup> {
        // The rules do not depend on the list: read beside the first round trip, once.
        let (found, read) = if self.needs.any() && self.rules.is_none() {
            let (found, read) = tokio::join!(flow::lookup(&*self), self.read_rules(self.needs));
            (found, Some(read))
        } else {
            (flow::lookup(&*self).await, None)
        };
        let mut found = found?;
        if let Some(read) = read {
            self.rules = Some(read?);
        }
        if let Some(rules) = &self.rules {
            for pr in &mut found.pull_requests {
                pr.rules = rules.for_pr(pr)?;
            }
        }
        Ok(found)
    }

    async fn post_result(&self, verdict: &Verdict) -> Result<()> {
        self.post_report(verdict).await
    }
}

impl Forge for BitbucketDatacenter {
    type Pr = ApiPr;
    type Detail = ApiPr;
    type Head = String;
    type Builds = Vec<BitbucketStatus>;

    async fn list(&self) -> Result<Listed<Self>> {
        if let Some(id) = self.pr_id {
            let url = self.repo_url(&["pull-requests", &id.to_string()]);
            // The head is only known from the answer, unless the CI gave the commit too: then
            // its builds are fetched alongside (usually the head itself).
            // With REQUIRE=mergeable its verdict comes alongside too: the id is all it needs.
            let builds = async {
                match &self.commit {
                    Some(c) => Some((c.clone(), self.build_statuses(c).await)),
                    None => None,
                }
            };
            let verdict = async {
                match self.wants.verdict {
                    true => Some(self.merge_verdict(id, Some("OPEN")).await),
                    false => None,
                }
            };
            let (pr, known, verdict) = tokio::join!(self.http.get(url), builds, verdict);
            let mut pr: ApiPr = match pr {
                Err(Error::Api {
                    status: Some(404),
                    message,
                }) => return Err(self.pr_not_found(id, &message)),
                other => other?.json()?,
            };
            if let Some(v) = verdict {
                // Asked before the state was known: a PR that is not open gets no verdict.
                let open = pr.state.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("OPEN"));
                pr.verdict = Some(match open {
                    true => v?,
                    false => self.merge_verdict(id, pr.state.as_deref()).await?,
                });
            }
            let listed = Listed::new(LookupKind::PrId, vec![pr]);
            return Ok(match known {
                Some((c, builds)) => listed.knowing(c, builds),
                None => listed,
            });
        }
        let commit = self.commit.clone().unwrap_or_default();
        let (prs, builds) = tokio::join!(self.commit_prs(&commit), self.build_statuses(&commit));
        Ok(Listed::new(LookupKind::Commit, prs?).knowing(commit, builds))
    }

    fn id(pr: &ApiPr) -> u64 {
        pr.id
    }

    fn listed_head(pr: &ApiPr) -> Option<String> {
        pr.head().and_then(server_commit)
    }

    /// The list already carries everything but the merge verdict (`REQUIRE=mergeable`).
    async fn detail(&self, mut pr: ApiPr) -> Result<ApiPr> {
        if self.wants.verdict && pr.verdict.is_none() {
            pr.verdict = Some(self.merge_verdict(pr.id, pr.state.as_deref()).await?);
        }
        Ok(pr)
    }

    fn head(pr: &ApiPr) -> Option<String> {
        Self::listed_head(pr)
    }

    fn same_head(a: &String, b: &String) -> bool {
        same_commit(a, b)
    }

    async fn builds(&self, head: &String) -> Result<Vec<BitbucketStatus>> {
        self.build_statuses(head).await
    }

    fn normalize(&self, pr: ApiPr, builds: &Vec<BitbucketStatus>) -> Result<PullRequest> {
        pr.normalize(builds)
    }
}

// ---- Data Center's JSON, only the fields used; unknown fields are ignored. ----

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page<T> {
    /// Required: a page without its list is a malformed answer, never "no pull requests"
    /// or "no builds" (which would pass `builds-passed`).
    values: Vec<T>,
    is_last_page: Option<bool>,
    next_page_start: Option<u64>,
}

#[derive(Debug, Deserialize, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
struct User {
    id: Option<u64>,
    name: Option<String>,
    slug: Option<String>,
    display_name: Option<String>,
}

impl User {
    fn label(&self) -> String {
        [&self.display_name, &self.name, &self.slug]
            .into_iter()
            .flatten()
            .find(|s| !s.trim().is_empty())
            .cloned()
            .unwrap_or_else(|| "unknown".into())
    }

    /// Same account: by numeric id when both have one, else by slug, else by login name.
    fn same(&self, other: &User) -> bool {
        match (self.id, other.id, &self.slug, &other.slug) {
            (Some(a), Some(b), _, _) => a == b,
            (_, _, Some(a), Some(b)) => a == b,
            _ => self.name.is_some() && self.name == other.name,
        }
    }
}

#[derive(Debug, Deserialize)]
struct Participant {
    user: Option<User>,
    /// `APPROVED`, `NEEDS_WORK` or `UNAPPROVED`; servers before 4.2 only sent `approved`.
    status: Option<String>,
    approved: Option<bool>,
    /// The head at which the participant last approved or asked for changes (Data Center
    /// 4.9+); reset to none when the server cannot keep it.
    #[serde(rename = "lastReviewedCommit")]
    last_reviewed_commit: Option<String>,
}

impl Participant {
    fn verdict(&self) -> ReviewState {
        match self.status.as_deref().map(str::to_ascii_uppercase).as_deref() {
            Some("APPROVED") => ReviewState::Approved,
            Some("NEEDS_WORK") => ReviewState::ChangesRequested,
            Some(_) => ReviewState::Pending,
            None if self.approved == Some(true) => ReviewState::Approved,
            None => ReviewState::Pending,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Ref {
    id: Option<String>,
    display_id: Option<String>,
    latest_commit: Option<String>,
}

impl Ref {
    /// `displayId` is the branch name; else the ref id without `refs/heads/`.
    fn branch(&self) -> Option<String> {
        self.display_id.clone().filter(|d| !d.trim().is_empty()).or_else(|| {
            self.id
                .as_deref()
                .map(|id| id.strip_prefix("refs/heads/").unwrap_or(id).to_string())
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Properties {
    open_task_count: Option<u32>,
    comment_count: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct Href {
    href: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Links {
    #[serde(rename = "self")]
    self_: Option<Vec<Href>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApiPr {
    id: u64,
    title: Option<String>,
    state: Option<String>,
    draft: Option<bool>,
    created_date: Option<i64>,
    updated_date: Option<i64>,
    from_ref: Option<Ref>,
    to_ref: Option<Ref>,
    author: Option<Participant>,
    reviewers: Option<Vec<Participant>>,
    participants: Option<Vec<Participant>>,
    properties: Option<Properties>,
    links: Option<Links>,
    /// The merge verdict read for this PR (`REQUIRE=mergeable`); not part of the answer.
    #[serde(skip)]
    verdict: Option<MergeVerdict>,
}

/// Epoch milliseconds as RFC 3339; a value out of range is left out rather than invented.
fn epoch_ms(ms: i64) -> Option<String> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()?
        .format(&Rfc3339)
        .ok()
}

impl ApiPr {
    fn head(&self) -> Option<&str> {
        self.from_ref.as_ref()?.latest_commit.as_deref()
    }

    fn normalize(self, builds: &[BitbucketStatus]) -> Result<PullRequest> {
        let state = match self.state.as_deref().map(str::to_ascii_uppercase).as_deref() {
            Some("OPEN") => PrState::Open,
            Some("MERGED") => PrState::Merged,
            Some("DECLINED") => PrState::Declined,
            other => {
                return Err(Error::api(
                    None,
                    format!(
                        "{FORGE} sent pull request #{} with state {:?}; expected OPEN, MERGED or DECLINED",
                        self.id,
                        other.unwrap_or("(none)")
                    ),
                ))
            }
        };
        let mut pr = PullRequest::new(self.id, self.title.clone().unwrap_or_default(), state);
        pr.draft = self.draft;
        pr.url = self
            .links
            .as_ref()
            .and_then(|l| l.self_.as_ref())
            .and_then(|v| v.first())
            .and_then(|h| h.href.clone());
        pr.source_branch = self.from_ref.as_ref().and_then(Ref::branch);
        pr.destination_branch = self.to_ref.as_ref().and_then(Ref::branch);
        pr.source_commit = self.head().map(String::from);
        pr.created_on = self.created_date.and_then(epoch_ms);
        pr.updated_on = self.updated_date.and_then(epoch_ms);
        pr.open_tasks = self.properties.as_ref().and_then(|p| p.open_task_count);
        pr.comment_count = self.properties.as_ref().and_then(|p| p.comment_count);
        let author = self.author.and_then(|a| a.user).unwrap_or_default();
        pr.author = (author != User::default()).then(|| author.label());
        // Reviewers with whatever verdict, then other participants who gave one (approved or
        // needs work); the author never counts, and nobody counts twice.
        let mut seen: Vec<User> = Vec::new();
        let mut reviews: Vec<Reviewer> = Vec::new();
        // Neither list sent: no verdict is known.
        pr.reviews_unknown = self.reviewers.is_none() && self.participants.is_none();
        let reviewers = self.reviewers.unwrap_or_default().into_iter().map(|p| (p, true));
        let participants = self.participants.unwrap_or_default().into_iter().map(|p| (p, false));
        for (p, is_reviewer) in reviewers.chain(participants) {
            let state = p.verdict();
            let user = p.user.unwrap_or_default();
            if user.same(&author)
                || seen.iter().any(|u| u.same(&user))
                || (!is_reviewer && state == ReviewState::Pending)
            {
                continue;
            }
            // Data Center says at which head, not when: no time is known.
            let at = p.last_reviewed_commit.as_deref().and_then(server_commit);
            reviews.push(Reviewer::new(user.label(), state).given_at(at.as_deref(), pr.source_commit.as_deref()));
            seen.push(user);
        }
        pr.set_reviews(reviews);
        pr.builds = builds.iter().map(BitbucketStatus::build).collect();
        if let Some(v) = self.verdict {
            v.apply(&mut pr);
        }
        Ok(pr)
    }
}

// ---- The parsers of Data Center answers on their own, for property tests and fuzzing. ----
// They run the same deserialization (`Page`, `ApiPr`, `BitbucketStatus`) and normalization as the
// lookup; only the HTTP is missing.

/// Parses one page of pull requests (`.../commits/{commit}/pull-requests`, the same paged
/// shape as `.../pull-requests`) into normalized pull requests without builds. Any answer that
/// is not such a page is an `Error::Api`; it never panics, whatever the bytes.
pub fn parse_pull_request_page(body: &[u8]) -> Result<Vec<PullRequest>> {
    let page: Page<ApiPr> = parse_body("a page of pull requests", body)?;
    page.values.into_iter().map(|p| p.normalize(&[])).collect()
}

/// Parses one pull request (`.../pull-requests/{id}`) into a normalized pull request without
/// builds.
pub fn parse_pull_request(body: &[u8]) -> Result<PullRequest> {
    parse_body::<ApiPr>("a pull request", body)?.normalize(&[])
}

/// Parses one page of build statuses (`/rest/build-status/latest/commits/{commit}`) into builds.
pub fn parse_build_status_page(body: &[u8]) -> Result<Vec<Build>> {
    let page: Page<BitbucketStatus> = parse_body("a page of build statuses", body)?;
    Ok(page.values.iter().map(BitbucketStatus::build).collect())
}

// ---- POST_RESULT: the verdict as the Code Insights report `pr-status` (docs/post-result.md).
// Never a build status: a FAILED one would fail the "passing builds" merge check it judges. ----

use reqwest::Method;
use serde_json::json;

use crate::gate::Outcome;
use crate::post::{self, Verdict};

/// What writing a report needs, for a refusal. The 9.2 API description names no permission
/// for this call.
const POST_NEEDS: &str = "a token that may create Code Insights reports in this repository: the Data Center API \
                          description names no permission for this call, and only the user who created a report may \
                          replace it; if Repository read is not enough, give the token Repository write";

impl BitbucketDatacenter {
    /// `PUT /rest/insights/latest/projects/{key}/repos/{slug}/commits/{sha}/reports/pr-status`:
    /// result PASS or FAIL; a pending gate has neither, so the report carries no result and
    /// its details say so.
    async fn post_report(&self, v: &Verdict) -> Result<()> {
        let (result, details) = match v.outcome {
            Outcome::Pass => (Some("PASS"), v.message.clone()),
            Outcome::Fail => (Some("FAIL"), v.message.clone()),
            _ => (
                None,
                format!(
                    "Pending, so no result: Data Center reports are PASS or FAIL only. {}",
                    v.message
                ),
            ),
        };
        let mut body = json!({
            "title": post::TITLE,
            "details": post::clip(&details, post::MAX_DETAILS),
            "reporter": post::TITLE,
            "data": v.data_rows("linktext"),
        });
        if let Some(r) = result {
            body["result"] = json!(r);
        }
        if let Some(link) = &v.link {
            body["link"] = json!(link);
        }
        let url = self.http.url(&[
            "rest",
            "insights",
            "latest",
            "projects",
            &self.project,
            "repos",
            &self.slug,
            "commits",
            &v.commit,
            "reports",
            post::NAME,
        ]);
        self.http
            .send(Method::PUT, url, Some(("application/json", body.to_string())), None)
            .await
            .map_err(|e| post::refused(e, POST_NEEDS))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_milliseconds_become_rfc3339() {
        assert_eq!(epoch_ms(1_541_687_143_031).as_deref(), Some("2018-11-08T14:25:43.031Z"));
        assert_eq!(epoch_ms(0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(epoch_ms(i64::MAX), None);
    }

    #[test]
    fn project_keys_and_personal_keys() {
        assert_eq!(project_key(" PROJ_1 ").unwrap(), "PROJ_1");
        assert_eq!(project_key("~jane.doe").unwrap(), "~jane.doe");
        for bad in ["1PROJ", "PR/OJ", "~", "~..", "PR~OJ", "P R", "..", "~a/b", ""] {
            let err = project_key(bad).unwrap_err().to_string();
            assert!(err.contains("BITBUCKET_PROJECT_KEY"), "{bad}: {err}");
        }
    }

    #[test]
    fn server_url_keeps_context_path_and_drops_a_pasted_api_suffix() {
        let u = |t: &str| server_url(t).unwrap().to_string();
        assert_eq!(u("https://host/bitbucket"), "https://host/bitbucket");
        assert_eq!(u("https://host/bitbucket/rest/api/1.0/"), "https://host/bitbucket");
        assert_eq!(u("https://host/rest/api/latest"), "https://host/");
        assert!(server_url("http://bitbucket.example.com").is_err());
    }

    #[test]
    fn branch_falls_back_to_the_ref_id() {
        let r = |display: Option<&str>, id: Option<&str>| Ref {
            id: id.map(String::from),
            display_id: display.map(String::from),
            latest_commit: None,
        };
        assert_eq!(
            r(Some("feature/x"), Some("refs/heads/feature/x")).branch().unwrap(),
            "feature/x"
        );
        assert_eq!(r(None, Some("refs/heads/feature/x")).branch().unwrap(), "feature/x");
        assert_eq!(r(None, Some("refs/tags/v1")).branch().unwrap(), "refs/tags/v1");
        assert_eq!(r(None, None).branch(), None);
    }
}
