//! Bitbucket Cloud's variables and credentials: `from_config` and the OAuth exchange.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;

use super::{BitbucketCloud, ACCESS_TOKEN, API_TOKEN, APP_PASSWORD, DEFAULT_API, DEFAULT_TOKEN_URL, FORGE, OAUTH};
use crate::provider::{bitbucket_pr_id, bitbucket_slug};
use crate::config::{self, Config, Problems, Vars};
use crate::credentials::{secret_var, Auth, Form, Redactor, Secret};
use crate::error::{Error, Result};
use crate::http::{AuthHint, Http};

/// Bitbucket Cloud's own variables (docs/variables.md).
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
pub(super) struct OAuthClient {
    token_url: Url,
    basic: Auth,
    /// When the current access token should be renewed; `None` before the first exchange.
    renew_at: Option<Instant>,
}

fn workspace_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.{}".contains(c)
}

/// A credential ready to send, or an OAuth consumer still to be exchanged for one.
enum Credential {
    Ready(Auth),
    OAuth { client_id: String, secret: Secret },
}

/// Picks the first complete credential set (in the order docs/variables.md gives) and registers its secrets.
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
        let slug = problems.check(need(&env.bitbucket_repo_slug, "BITBUCKET_REPO_SLUG").and_then(|s| bitbucket_slug(&s)));
        let pr_id = problems.check(bitbucket_pr_id(env.bitbucket_pr_id.as_deref()));
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
            form,
            wants: cfg.wants(),
            freshness: cfg.gate.fresh_approvals,
            current_run: cfg.gate.current_run.clone(),
            rules: None,
            default_reviewers: None,
            approvers: Default::default(),
        })
    }

    /// Credential form 3: the client-credentials grant gives a Bearer token.
    /// Access tokens expire (Bitbucket's after about two hours) while `WAIT_FOR_BUILDS` may
    /// wait six: a token is renewed before each lookup once most of its lifetime has passed,
    /// so a long wait never ends in a 401.
    pub(super) async fn exchange_oauth(&mut self) -> Result<()> {
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

}
