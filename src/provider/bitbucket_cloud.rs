//! Bitbucket Cloud (`api.bitbucket.org/2.0`).
//!
//! Round trips: the commit index pages and the commit's own build statuses are fetched at the
//! same time, and the list asks (with `fields=`) for participants, tasks and comments so no
//! PR needs a request of its own. Only PRs whose head is another commit cost one statuses
//! request per distinct head, all concurrent. For N PRs whose head is the commit that is
//! pages + 1 requests in max(pages, 1) round trips.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;

use crate::ci::{self, OwnRun};
use crate::config::{self, Config, Problems, Vars};
use crate::credentials::{secret_var, Auth, Form, Redactor, Secret};
use crate::error::{Error, Result};
use crate::http::{AuthHint, Http, Page as HttpPage};
use crate::model::{Build, Lookup, LookupKind, PrState, PullRequest, ReviewState, Reviewer};
use crate::provider::flow::{self, Forge, Listed};
use crate::provider::{parse_body, same_commit, server_commit, BitbucketStatus, Entry, Provider, ProviderKind};
use crate::summary::Repository;

const FORGE: &str = "Bitbucket Cloud";
const DEFAULT_API: &str = "https://api.bitbucket.org/2.0";
const DEFAULT_TOKEN_URL: &str = "https://bitbucket.org/site/oauth2/access_token";
/// The PR fields the summary needs; `values.` is prefixed for list answers.
const PR_FIELDS: [&str; 23] = [
    "id",
    "title",
    "state",
    "draft",
    "links.html.href",
    "author.display_name",
    "author.nickname",
    "author.uuid",
    "author.account_id",
    "source.branch.name",
    "source.commit.hash",
    "destination.branch.name",
    "created_on",
    "updated_on",
    "participants.user.display_name",
    "participants.user.nickname",
    "participants.user.uuid",
    "participants.user.account_id",
    "participants.role",
    "participants.approved",
    "participants.state",
    "task_count",
    "comment_count",
];
/// `size` (the list's total, when Bitbucket counts it) lets `Http::paginate` check the pages.
const STATUS_FIELDS: &str = "next,size,values.key,values.name,values.state,values.url";

/// Bitbucket Cloud's own variables (SPEC "Providers", "Credentials").
#[derive(Debug, Deserialize)]
struct CloudEnv {
    bitbucket_api_url: Option<String>,
    bitbucket_workspace: Option<String>,
    bitbucket_repo_slug: Option<String>,
    bitbucket_commit: Option<String>,
    bitbucket_pr_id: Option<String>,
    bitbucket_branch: Option<String>,
    bitbucket_email: Option<String>,
    bitbucket_username: Option<String>,
    bitbucket_oauth_client_id: Option<String>,
    bitbucket_oauth_token_url: Option<String>,
}

/// How the OAuth consumer is exchanged for a token (credential form 3).
#[derive(Debug)]
struct OAuthClient {
    token_url: Url,
    basic: Auth,
    /// When the current access token should be renewed; `None` before the first exchange.
    renew_at: Option<Instant>,
}

#[derive(Debug)]
pub struct BitbucketCloud {
    http: Http,
    workspace: String,
    slug: String,
    commit: Option<String>,
    pr_id: Option<u64>,
    branch: Option<String>,
    oauth: Option<OAuthClient>,
}

fn workspace_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.{}".contains(c)
}

fn slug_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.".contains(c)
}

/// A credential ready to send, or an OAuth consumer still to be exchanged for one.
enum Credential {
    Ready(Auth),
    OAuth { client_id: String, secret: Secret },
}

/// Picks the first complete credential set (SPEC order) and registers its secrets.
fn credentials(env: &CloudEnv, vars: &Vars, redactor: &mut Redactor) -> Result<Credential> {
    if let Some(token) = secret_var(vars, "BITBUCKET_ACCESS_TOKEN") {
        redactor.add(&token, None);
        let auth = Auth::bearer(ACCESS_TOKEN, &token, "BITBUCKET_ACCESS_TOKEN")?;
        return Ok(Credential::Ready(auth));
    }
    if let (Some(email), Some(token)) = (&env.bitbucket_email, secret_var(vars, "BITBUCKET_API_TOKEN")) {
        redactor.add(&token, Some(email));
        let auth = Auth::basic(API_TOKEN, email, &token, "BITBUCKET_API_TOKEN")?;
        return Ok(Credential::Ready(auth));
    }
    if let (Some(id), Some(secret)) = (
        &env.bitbucket_oauth_client_id,
        secret_var(vars, "BITBUCKET_OAUTH_CLIENT_SECRET"),
    ) {
        redactor.add(&secret, Some(id));
        return Ok(Credential::OAuth {
            client_id: id.clone(),
            secret,
        });
    }
    if let (Some(user), Some(pw)) = (&env.bitbucket_username, secret_var(vars, "BITBUCKET_APP_PASSWORD")) {
        redactor.add(&pw, Some(user));
        let auth = Auth::basic(APP_PASSWORD, user, &pw, "BITBUCKET_APP_PASSWORD")?;
        return Ok(Credential::Ready(auth));
    }
    Err(Error::config(
        "no Bitbucket Cloud credentials: set BITBUCKET_ACCESS_TOKEN (repository, project or workspace access token), \
         or BITBUCKET_EMAIL + BITBUCKET_API_TOKEN (Atlassian API token), \
         or BITBUCKET_OAUTH_CLIENT_ID + BITBUCKET_OAUTH_CLIENT_SECRET",
    ))
}

/// What a 401/403 means for the credential form in use.
fn auth_hint(form: Form) -> AuthHint {
    Box::new(move |status: StatusCode, _reason: &str| {
        let scopes = "the step needs read access to pull requests and the repository: \
                      access token scopes `pullrequest` and `repository`, API token scopes \
                      `read:pullrequest:bitbucket` and `read:repository:bitbucket`";
        match (form, status.as_u16()) {
            (f, 401) if f == APP_PASSWORD => "Bitbucket Cloud no longer accepts app passwords (removed in July 2026): \
                create an Atlassian API token and set BITBUCKET_EMAIL + BITBUCKET_API_TOKEN instead of \
                BITBUCKET_USERNAME + BITBUCKET_APP_PASSWORD, or use BITBUCKET_ACCESS_TOKEN"
                .to_string(),
            (f, 401) if f == API_TOKEN => format!(
                "check BITBUCKET_EMAIL (your Atlassian account email) and BITBUCKET_API_TOKEN (not expired or revoked); {scopes}"
            ),
            (f, 401) if f == OAUTH => "the OAuth token was refused: check BITBUCKET_OAUTH_CLIENT_ID / BITBUCKET_OAUTH_CLIENT_SECRET \
                and that the consumer is private (client credentials need one) with Pull requests: Read permission"
                .to_string(),
            (_, 401) => format!("check that BITBUCKET_ACCESS_TOKEN is current and belongs to this repository, project or workspace; {scopes}"),
            _ => format!("the credentials lack permission: {scopes}"),
        }
    })
}

impl BitbucketCloud {
    /// Reads and checks Cloud's variables; one error names every problem (`config::Problems`).
    pub fn from_config(cfg: &Config) -> Result<BitbucketCloud> {
        let env: CloudEnv = cfg.vars.typed()?;
        let mut problems = Problems::of_provider(cfg);
        let need = |v: &Option<String>, name: &str| {
            v.clone().ok_or_else(|| {
                Error::config(format!(
                    "{name} is not set: Bitbucket Pipelines sets it; elsewhere set it to the {}",
                    match name {
                        "BITBUCKET_WORKSPACE" => "workspace ID (the first part of bitbucket.org/<workspace>/<repo>)",
                        "BITBUCKET_REPO_SLUG" =>
                            "repository slug (the second part of bitbucket.org/<workspace>/<repo>)",
                        _ => "40-hex commit id being built",
                    }
                ))
            })
        };
        let workspace = problems.check(need(&env.bitbucket_workspace, "BITBUCKET_WORKSPACE").and_then(|w| {
            config::path_segment(
                "BITBUCKET_WORKSPACE",
                &w,
                workspace_char,
                "use the workspace ID: letters, digits, '-', '_', '.', or a {uuid}",
            )
        }));
        let slug = problems.check(need(&env.bitbucket_repo_slug, "BITBUCKET_REPO_SLUG").and_then(|s| {
            config::path_segment(
                "BITBUCKET_REPO_SLUG",
                &s,
                slug_char,
                "use the repository slug: letters, digits, '-', '_' and '.'",
            )
        }));
        let pr_id = problems.check(
            env.bitbucket_pr_id
                .as_deref()
                .map(|v| config::pr_id("BITBUCKET_PR_ID", v))
                .transpose(),
        );
        // A PR id, even an invalid one (named above), means the commit is not needed.
        let commit = problems.check(match (&env.bitbucket_commit, env.bitbucket_pr_id.is_some()) {
            (Some(c), _) => config::commit("BITBUCKET_COMMIT", c).map(Some),
            (None, true) => Ok(None),
            (None, false) => need(&None, "BITBUCKET_COMMIT").map(|_| None),
        });
        let api = problems.check(config::parse_base_url(
            "BITBUCKET_API_URL",
            env.bitbucket_api_url.as_deref().unwrap_or(DEFAULT_API),
        ));
        let mut redactor = Redactor::default();
        let credential = problems.check(credentials(&env, &cfg.vars, &mut redactor).and_then(|c| match c {
            Credential::Ready(auth) => Ok((Some(auth), None)),
            Credential::OAuth { client_id, secret } => {
                let token_url = config::parse_base_url(
                    "BITBUCKET_OAUTH_TOKEN_URL",
                    env.bitbucket_oauth_token_url.as_deref().unwrap_or(DEFAULT_TOKEN_URL),
                )?;
                let basic = Auth::basic(OAUTH, &client_id, &secret, "BITBUCKET_OAUTH_CLIENT_SECRET")?;
                Ok((
                    None,
                    Some(OAuthClient {
                        token_url,
                        basic,
                        renew_at: None,
                    }),
                ))
            }
        }));
        problems.finish()?;
        let (Some(workspace), Some(slug), Some(pr_id), Some(commit), Some(api), Some((auth, oauth))) =
            (workspace, slug, pr_id, commit, api, credential)
        else {
            return Err(Problems::incomplete());
        };
        let form = auth.as_ref().map(|a| a.form).unwrap_or(OAUTH);
        let http = Http::new(FORGE, api, auth, &cfg.http, redactor, auth_hint(form))?;
        Ok(BitbucketCloud {
            http,
            workspace,
            slug,
            commit,
            pr_id,
            branch: env.bitbucket_branch.filter(|b| !b.trim().is_empty()),
            oauth,
        })
    }

    fn repo_url(&self, rest: &[&str]) -> Url {
        let mut segs = vec!["repositories", self.workspace.as_str(), self.slug.as_str()];
        segs.extend_from_slice(rest);
        self.http.url(&segs)
    }

    /// Credential form 3: the client-credentials grant gives a Bearer token.
    /// Access tokens expire (Bitbucket's after about two hours) while `WAIT_FOR_BUILDS` may
    /// wait six: a token is renewed before each lookup once most of its lifetime has passed,
    /// so a long wait never ends in a 401.
    async fn exchange_oauth(&mut self) -> Result<()> {
        let Some(oauth) = &self.oauth else {
            return Ok(());
        };
        if oauth.renew_at.is_some_and(|at| Instant::now() < at) {
            return Ok(());
        }
        let renewing = oauth.renew_at.is_some();
        let resp = self
            .http
            .send(
                Method::POST,
                oauth.token_url.clone(),
                Some((
                    "application/x-www-form-urlencoded",
                    "grant_type=client_credentials".into(),
                )),
                Some(&oauth.basic),
            )
            .await?;
        #[derive(Deserialize)]
        struct Token {
            access_token: String,
            /// Seconds; Bitbucket sends 7200.
            expires_in: Option<u64>,
        }
        let token: Token = resp.json()?;
        let secret = Secret::new(token.access_token);
        let mut redactor = (*self.http.redactor).clone();
        redactor.add(&secret, None);
        self.http.redactor = std::sync::Arc::new(redactor);
        self.http
            .set_auth(Auth::bearer(OAUTH, &secret, "the OAuth access token")?);
        // Renewed when a quarter of its life (at most 5 minutes) is left; without an expiry
        // it is kept for a day (longer than any run: WAIT_FOR_BUILDS is at most six hours).
        let lifetime = Duration::from_secs(token.expires_in.unwrap_or(86_400).min(86_400));
        let margin = (lifetime / 4).min(Duration::from_secs(300));
        if let Some(oauth) = &mut self.oauth {
            oauth.renew_at = Some(Instant::now() + (lifetime - margin));
        }
        if renewing {
            self.http.debug("renewed the OAuth access token before it expires");
        }
        Ok(())
    }

    /// Every page of a paginated list, following `next` only on the API's origin.
    /// `size`, the whole list's length, is checked against what the pages held.
    async fn pages<T: for<'de> Deserialize<'de>>(&self, first: Url) -> Result<Vec<T>> {
        self.pages_from(first, true).await
    }

    /// The pages from `first` on; `whole` says whether they are the whole list (else the
    /// caller read the first page itself and checks `size` against all of them).
    async fn pages_from<T: for<'de> Deserialize<'de>>(&self, first: Url, whole: bool) -> Result<Vec<T>> {
        self.http
            .paginate(first, |_, resp| {
                let page: Page<T> = resp.json()?;
                let next = page.next.map(|n| self.http.follow(&resp.url, &n)).transpose()?;
                let total = page.size.filter(|_| whole);
                Ok(HttpPage::new(page.values, next).with_total(total))
            })
            .await
    }

    fn with_query(mut url: Url, pairs: &[(&str, &str)]) -> Url {
        url.query_pairs_mut().extend_pairs(pairs);
        url
    }

    fn list_fields() -> String {
        let mut f = vec!["next".to_string(), "size".to_string()];
        f.extend(PR_FIELDS.iter().map(|x| format!("values.{x}")));
        f.join(",")
    }

    /// The commit index, polling while Bitbucket answers 202 (still indexing).
    async fn commit_index(&self, commit: &str) -> Result<Vec<ApiPr>> {
        let url = Self::with_query(
            self.repo_url(&["commit", commit, "pullrequests"]),
            &[("pagelen", "50"), ("fields", &Self::list_fields())],
        );
        let started = Instant::now();
        let wait = self.http.settings().index_wait;
        let mut delay = self.http.settings().retry_delay.max(Duration::from_millis(50));
        loop {
            let resp = self.http.get(url.clone()).await?;
            if resp.status != StatusCode::ACCEPTED {
                let first: Page<ApiPr> = resp.json()?;
                let mut prs = first.values;
                if let Some(next) = first.next {
                    let rest = self.http.follow(&resp.url, &next)?;
                    prs.extend(self.pages_from::<ApiPr>(rest, false).await?);
                }
                if let Some(total) = first.size.filter(|t| (prs.len() as u64) < *t) {
                    return Err(Error::api(
                        None,
                        format!(
                            "{FORGE} announced {total} pull requests for commit {} but its pages held only {}: the list is incomplete, so it cannot be judged",
                            &commit[..commit.len().min(12)],
                            prs.len()
                        ),
                    ));
                }
                return Ok(prs);
            }
            let elapsed = started.elapsed();
            if elapsed >= wait {
                return Err(Error::Indexing(format!(
                    "{FORGE} was still indexing the commits of {}/{} after {} s (202 from the commit index): run the step again shortly, or raise INDEX_WAIT",
                    self.workspace,
                    self.slug,
                    wait.as_secs()
                )));
            }
            let pause = delay.min(wait - elapsed);
            self.http.debug(&format!(
                "commit index answered 202 (indexing); polling again in {} ms",
                pause.as_millis()
            ));
            tokio::time::sleep(pause).await;
            delay = (delay * 2).min(Duration::from_secs(10));
        }
    }

    /// Build statuses of one commit. A 404 is an error like on every forge (see `flow`): the
    /// commit is the head of a PR Bitbucket just listed, so "not found" means the list is
    /// unknown, not empty.
    async fn commit_statuses(&self, commit: &str) -> Result<Vec<BitbucketStatus>> {
        let url = Self::with_query(
            self.repo_url(&["commit", commit, "statuses"]),
            &[("pagelen", "100"), ("fields", STATUS_FIELDS)],
        );
        self.pages(url).await.map_err(|e| statuses_unreadable(e, commit))
    }

    /// Fallback when the commit index is unavailable: open PRs of `BITBUCKET_BRANCH` whose
    /// head is the commit.
    async fn branch_prs(&self, branch: &str, commit: &str) -> Result<Vec<ApiPr>> {
        let escaped = branch.replace('\\', "\\\\").replace('"', "\\\"");
        let url = Self::with_query(
            self.repo_url(&["pullrequests"]),
            &[
                ("state", "OPEN"),
                ("q", &format!("source.branch.name=\"{escaped}\"")),
                ("pagelen", "50"),
                ("fields", &Self::list_fields()),
            ],
        );
        let prs: Vec<ApiPr> = self.pages(url).await?;
        Ok(prs
            .into_iter()
            .filter(|p| p.head().is_some_and(|h| same_commit(h, commit)))
            .collect())
    }

    /// Explains a 404 from the commit index once the repository is known to exist.
    async fn index_unavailable(&self, commit: &str) -> Error {
        let url = Self::with_query(self.repo_url(&[]), &[("fields", "full_name")]);
        match self.http.get(url).await {
            Ok(_) => Error::api(
                Some(404),
                format!(
                    "the commit index of {ws}/{slug} is not available (404 from /commit/{short}/pullrequests): open any commit in Bitbucket and click \
                     'Go to pull request' once to install the Pull Request Commit Links app, or set BITBUCKET_BRANCH so pr-status can fall back to the branch's open pull requests",
                    ws = self.workspace,
                    slug = self.slug,
                    short = &commit[..commit.len().min(12)]
                ),
            ),
            Err(Error::Api { status: Some(404), .. }) => self.not_found(),
            Err(e) => e,
        }
    }

    fn not_found(&self) -> Error {
        Error::api(
            Some(404),
            format!(
                "repository {}/{} was not found, or these credentials cannot see it: check BITBUCKET_WORKSPACE and BITBUCKET_REPO_SLUG, and that the token belongs to this repository",
                self.workspace, self.slug
            ),
        )
    }
}

/// Credential forms, in the order they are tried (SPEC "Credentials").
pub const ACCESS_TOKEN: Form = Form {
    name: "access token",
    variables: &["BITBUCKET_ACCESS_TOKEN"],
    sent_as: "Authorization: Bearer",
};
pub const API_TOKEN: Form = Form {
    name: "API token",
    variables: &["BITBUCKET_EMAIL", "BITBUCKET_API_TOKEN"],
    sent_as: "Authorization: Basic email:api_token",
};
pub const OAUTH: Form = Form {
    name: "OAuth consumer",
    variables: &["BITBUCKET_OAUTH_CLIENT_ID", "BITBUCKET_OAUTH_CLIENT_SECRET"],
    sent_as: "exchanged (client credentials grant) for an Authorization: Bearer token",
};
pub const APP_PASSWORD: Form = Form {
    name: "app password",
    variables: &["BITBUCKET_USERNAME", "BITBUCKET_APP_PASSWORD"],
    sent_as: "Authorization: Basic username:app_password (refused by Bitbucket Cloud since July 2026)",
};

/// Bitbucket Cloud in the registry (`provider::registry::FORGES`).
pub static ENTRY: Entry = Entry {
    name: "bitbucket-cloud",
    ci: Some("Bitbucket Pipelines"),
    precedence: 20,
    detected_when: "BITBUCKET_BUILD_NUMBER or BITBUCKET_WORKSPACE",
    detect: |vars| {
        if vars.get("BITBUCKET_BUILD_NUMBER").is_some() {
            Some("BITBUCKET_BUILD_NUMBER")
        } else if vars.get("BITBUCKET_WORKSPACE").is_some() {
            Some("BITBUCKET_WORKSPACE")
        } else {
            None
        }
    },
    reads: &[],
    read_prefixes: &["BITBUCKET_"],
    credentials: &[ACCESS_TOKEN, API_TOKEN, OAUTH, APP_PASSWORD],
    open: |cfg| Ok(Box::new(BitbucketCloud::from_config(cfg)?)),
    own_run: Some(pipelines_run),
    ci_output: None,
};

/// Bitbucket Pipelines' running build, `BITBUCKET_BUILD_NUMBER`: Pipelines names its status
/// "Pipeline #N for <branch>" and links to `.../results/N`.
pub fn pipelines_run(vars: &Vars) -> Option<OwnRun> {
    Some(OwnRun {
        ci: "Bitbucket Pipelines",
        id: ci::digits(vars, "BITBUCKET_BUILD_NUMBER")?,
        names: |n, build| {
            let url = build.url.as_deref().unwrap_or("");
            let name = build.name.as_deref().unwrap_or("");
            let title = format!("Pipeline #{n}");
            ci::filed_under(n, build)
                || name == title
                || name.starts_with(&format!("{title} "))
                || ci::has_segment_pair(url, "results", n)
        },
    })
}

impl Provider for BitbucketCloud {
    fn kind(&self) -> ProviderKind {
        &ENTRY
    }

    fn repository(&self) -> Repository {
        Repository {
            full_name: format!("{}/{}", self.workspace, self.slug),
            url: Some(format!("https://bitbucket.org/{}/{}", self.workspace, self.slug)),
        }
    }

    fn commit(&self) -> Option<String> {
        self.commit.clone()
    }

    fn http(&self) -> Option<&Http> {
        Some(&self.http)
    }

    async fn lookup(&mut self) -> Result<Lookup> {
        self.exchange_oauth().await?;
        flow::lookup(&*self).await
    }

    async fn post_result(&self, verdict: &Verdict) -> Result<()> {
        self.post_report(verdict).await
    }
}

// ---- POST_RESULT: the verdict as the Code Insights report `pr-status` (docs/post-result.md).
// Never a build status: a FAILED one would fail the "passing builds" merge check it judges. ----

use serde_json::json;

use crate::gate::Outcome;
use crate::post::{self, Verdict};

/// What writing a report needs, for a refusal. Bitbucket's API description lists the read
/// scope for this call; a token refused with it is offered the write scope to try.
const POST_NEEDS: &str = "a token that may write Code Insights reports: Bitbucket's API description lists the scope \
                          `repository` (API tokens: `read:repository:bitbucket`) for PUT .../commit/{commit}/reports/{reportId}; \
                          if the token has it, give it `repository:write` (API tokens: `write:repository:bitbucket`)";

impl BitbucketCloud {
    /// `PUT /2.0/repositories/{workspace}/{slug}/commit/{sha}/reports/pr-status`: result
    /// PASSED, FAILED or PENDING, the gate's message as details, the data rows, the CI run.
    async fn post_report(&self, v: &Verdict) -> Result<()> {
        let result = match v.outcome {
            Outcome::Pass => "PASSED",
            Outcome::Fail => "FAILED",
            _ => "PENDING",
        };
        let mut body = json!({
            "title": post::TITLE,
            "details": post::clip(&v.message, post::MAX_DETAILS),
            "report_type": "TEST",
            "reporter": post::TITLE,
            "result": result,
            "data": v.data_rows("text"),
        });
        if let Some(link) = &v.link {
            body["link"] = json!(link);
        }
        let url = self.repo_url(&["commit", &v.commit, "reports", post::NAME]);
        self.http
            .send(Method::PUT, url, Some(("application/json", body.to_string())), None)
            .await
            .map_err(|e| post::refused(e, POST_NEEDS))?;
        Ok(())
    }
}

/// A build-status list that could not be read, saying so.
fn statuses_unreadable(e: Error, commit: &str) -> Error {
    flow::builds_unreadable(e, &format!("the build statuses of commit {}", flow::short(commit)))
}

impl Forge for BitbucketCloud {
    type Pr = ApiPr;
    type Detail = ApiPr;
    type Head = String;
    type Builds = Vec<BitbucketStatus>;

    async fn list(&self) -> Result<Listed<Self>> {
        if let Some(id) = self.pr_id {
            let id_text = id.to_string();
            let url = Self::with_query(
                self.repo_url(&["pullrequests", &id_text]),
                &[("fields", &PR_FIELDS.join(","))],
            );
            let statuses_url = Self::with_query(
                self.repo_url(&["pullrequests", &id_text, "statuses"]),
                &[("pagelen", "100"), ("fields", STATUS_FIELDS)],
            );
            let (pr, statuses) = tokio::join!(self.http.get(url), self.pages::<BitbucketStatus>(statuses_url));
            let pr: ApiPr = match pr {
                Err(Error::Api { status: Some(404), .. }) => {
                    return Err(Error::api(Some(404), format!(
                        "pull request #{id} was not found in {}/{}: check BITBUCKET_PR_ID, BITBUCKET_WORKSPACE and BITBUCKET_REPO_SLUG",
                        self.workspace, self.slug
                    )))
                }
                other => other?.json()?,
            };
            let head = Self::listed_head(&pr);
            let listed = Listed::new(LookupKind::PrId, vec![pr]);
            return Ok(match head {
                Some(h) => {
                    let statuses = statuses.map_err(|e| statuses_unreadable(e, &h));
                    listed.knowing(h, statuses)
                }
                None => listed,
            });
        }
        let commit = self.commit.clone().unwrap_or_default();
        let (index, statuses) = tokio::join!(self.commit_index(&commit), self.commit_statuses(&commit));
        match index {
            Ok(prs) => Ok(Listed::new(LookupKind::Commit, prs).knowing(commit, statuses)),
            Err(Error::Api { status: Some(404), .. }) => {
                let Some(branch) = self.branch.clone() else {
                    return Err(self.index_unavailable(&commit).await);
                };
                self.http.debug(&format!(
                    "commit index answered 404; falling back to the open pull requests of branch {branch}"
                ));
                let prs = match self.branch_prs(&branch, &commit).await {
                    Err(Error::Api { status: Some(404), .. }) => return Err(self.not_found()),
                    other => other?,
                };
                Ok(Listed::new(LookupKind::Branch, prs).knowing(commit, statuses))
            }
            Err(e) => Err(e),
        }
    }

    fn id(pr: &ApiPr) -> u64 {
        pr.id
    }

    fn listed_head(pr: &ApiPr) -> Option<String> {
        pr.head().and_then(server_commit)
    }

    async fn detail(&self, pr: ApiPr) -> Result<ApiPr> {
        Ok(pr)
    }

    fn head(pr: &ApiPr) -> Option<String> {
        Self::listed_head(pr)
    }

    fn same_head(a: &String, b: &String) -> bool {
        same_commit(a, b)
    }

    async fn builds(&self, head: &String) -> Result<Vec<BitbucketStatus>> {
        self.commit_statuses(head).await
    }

    fn normalize(&self, pr: ApiPr, statuses: &Vec<BitbucketStatus>) -> Result<PullRequest> {
        pr.normalize(statuses)
    }
}

// ---- Bitbucket Cloud's JSON, only the fields used; unknown fields are ignored. ----

#[derive(Debug, Deserialize)]
struct Page<T> {
    /// Required: an answer without its list is not "no pull requests" (which would close the
    /// gate on garbage) but a malformed answer.
    values: Vec<T>,
    next: Option<String>,
    /// The whole list's length, when Bitbucket counts it.
    size: Option<u64>,
}

#[derive(Debug, Deserialize, Default)]
struct Account {
    display_name: Option<String>,
    nickname: Option<String>,
    uuid: Option<String>,
    account_id: Option<String>,
}

impl Account {
    fn name(&self) -> String {
        self.display_name
            .clone()
            .or_else(|| self.nickname.clone())
            .or_else(|| self.account_id.clone())
            .or_else(|| self.uuid.clone())
            .unwrap_or_else(|| "unknown".into())
    }

    fn same(&self, other: &Account) -> bool {
        match (&self.uuid, &other.uuid, &self.account_id, &other.account_id) {
            (Some(a), Some(b), _, _) => a == b,
            (_, _, Some(a), Some(b)) => a == b,
            _ => self.display_name.is_some() && self.display_name == other.display_name,
        }
    }
}

#[derive(Debug, Deserialize)]
struct Named {
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Hash {
    hash: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Endpoint {
    branch: Option<Named>,
    commit: Option<Hash>,
}

#[derive(Debug, Deserialize)]
struct Href {
    href: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Links {
    html: Option<Href>,
}

#[derive(Debug, Deserialize)]
struct Participant {
    user: Option<Account>,
    role: Option<String>,
    approved: Option<bool>,
    state: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ApiPr {
    id: u64,
    title: Option<String>,
    state: Option<String>,
    draft: Option<bool>,
    links: Option<Links>,
    author: Option<Account>,
    source: Option<Endpoint>,
    destination: Option<Endpoint>,
    created_on: Option<String>,
    updated_on: Option<String>,
    participants: Option<Vec<Participant>>,
    task_count: Option<u32>,
    comment_count: Option<u32>,
}

impl ApiPr {
    fn head(&self) -> Option<&str> {
        self.source.as_ref()?.commit.as_ref()?.hash.as_deref()
    }

    fn normalize(self, statuses: &[BitbucketStatus]) -> Result<PullRequest> {
        let state = match self.state.as_deref().map(str::to_ascii_uppercase).as_deref() {
            Some("OPEN") => PrState::Open,
            Some("MERGED") => PrState::Merged,
            Some("DECLINED") => PrState::Declined,
            Some("SUPERSEDED") => PrState::Superseded,
            other => {
                return Err(Error::api(
                    None,
                    format!(
                        "{FORGE} sent pull request #{} with state {:?}; expected OPEN, MERGED, DECLINED or SUPERSEDED",
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
            .and_then(|l| l.html.as_ref())
            .and_then(|h| h.href.clone());
        pr.author = self.author.as_ref().map(Account::name);
        pr.source_branch = self
            .source
            .as_ref()
            .and_then(|e| e.branch.as_ref())
            .and_then(|b| b.name.clone());
        pr.destination_branch = self
            .destination
            .as_ref()
            .and_then(|e| e.branch.as_ref())
            .and_then(|b| b.name.clone());
        pr.source_commit = self.head().map(String::from);
        pr.created_on = self.created_on.clone();
        pr.updated_on = self.updated_on.clone();
        pr.open_tasks = self.task_count;
        pr.comment_count = self.comment_count;
        let author = self.author.unwrap_or_default();
        // Without the participants list no verdict is known (the `fields=` list asks for it).
        pr.reviews_unknown = self.participants.is_none();
        let reviews = self.participants.unwrap_or_default().into_iter().filter_map(|p| {
            let user = p.user.unwrap_or_default();
            if user.same(&author) {
                return None;
            }
            let state = match (p.state.as_deref(), p.approved) {
                (Some("approved"), _) | (None, Some(true)) => ReviewState::Approved,
                (Some("changes_requested"), _) => ReviewState::ChangesRequested,
                (_, Some(true)) => ReviewState::Approved,
                _ => ReviewState::Pending,
            };
            // A participant who only commented is not a reviewer.
            let reviewer = p.role.as_deref() == Some("REVIEWER");
            (reviewer || state != ReviewState::Pending).then(|| Reviewer::new(user.name(), state))
        });
        pr.set_reviews(reviews.collect::<Vec<_>>());
        pr.builds = statuses.iter().map(BitbucketStatus::build).collect();
        Ok(pr)
    }
}

// ---- The parsers of Bitbucket Cloud answers on their own, for property tests and fuzzing. ----
// They run the same deserialization and normalization as the lookup; only the HTTP is missing.

/// Parses one page of pull requests (`/commit/{commit}/pullrequests`, `/pullrequests?q=...`)
/// into normalized pull requests without builds. Any answer that is not such a page is an
/// `Error::Api`; it never panics, whatever the bytes.
pub fn parse_pull_request_page(body: &[u8]) -> Result<Vec<PullRequest>> {
    let page: Page<ApiPr> = parse_body("a page of pull requests", body)?;
    page.values.into_iter().map(|p| p.normalize(&[])).collect()
}

/// Parses one pull request (`/pullrequests/{id}`) into a normalized pull request without builds.
pub fn parse_pull_request(body: &[u8]) -> Result<PullRequest> {
    parse_body::<ApiPr>("a pull request", body)?.normalize(&[])
}

/// Parses one page of build statuses (`/commit/{commit}/statuses`) into builds.
pub fn parse_status_page(body: &[u8]) -> Result<Vec<Build>> {
    let page: Page<BitbucketStatus> = parse_body("a page of build statuses", body)?;
    Ok(page.values.iter().map(BitbucketStatus::build).collect())
}
