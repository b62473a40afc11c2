//! Bitbucket Cloud (`api.bitbucket.org/2.0`).
//!
//! Round trips: the commit index pages and the commit's own build statuses are fetched at the
//! same time, and the list asks (with `fields=`) for participants, tasks and comments so no
//! PR needs a request of its own. Only PRs whose head is another commit cost one statuses
//! request per distinct head, all concurrent. For N PRs whose head is the commit that is
//! pages + 1 requests in max(pages, 1) round trips.

//! The repository's own merge rules (`REQUIRE=mergeable`, the `auto` settings, fresh approvals;
//! docs/rules-bitbucket-cloud.md) are read only when asked for: the common path keeps the
//! requests above. The branch restrictions are read once per run beside the first round trip;
//! the default reviewers and the head commits' dates, when a rule or `FRESH_APPROVALS` needs
//! them, in one more round trip after it.
//!
//! The files: `setup` (variables and credentials), `lookup` (the requests and the shared
//! flow), `api` (the JSON and its mapping), `rules` (the branch restrictions and how they
//! match a branch), `verdict` (what they say of each pull request), `post` (`POST_RESULT`).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::ci::{self, CurrentRun, OwnRun};
use crate::config::Vars;
use crate::credentials::Form;
use crate::http::Http;
use crate::model::{Freshness, Wants};
use crate::provider::Entry;

mod api;
mod lookup;
mod post;
mod rules;
mod setup;
mod verdict;

pub use api::{parse_pull_request, parse_pull_request_page, parse_status_page};
use api::Account;
use rules::RepoRules;
use setup::OAuthClient;

const FORGE: &str = "Bitbucket Cloud";
const DEFAULT_API: &str = "https://api.bitbucket.org/2.0";
const DEFAULT_TOKEN_URL: &str = "https://bitbucket.org/site/oauth2/access_token";

#[derive(Debug)]
pub struct BitbucketCloud {
    http: Http,
    workspace: String,
    slug: String,
    commit: Option<String>,
    pr_id: Option<u64>,
    branch: Option<String>,
    oauth: Option<OAuthClient>,
    /// The credential form, for what a refused rules request needs.
    form: Form,
    /// What this run reads beyond the common lookup (`REQUIRE=mergeable`, the auto settings).
    wants: Wants,
    freshness: Freshness,
    current_run: CurrentRun,
    /// The branch restrictions, once read: repository-wide, so a wait for builds does not
    /// read them again.
    rules: Option<RepoRules>,
    /// The effective default reviewers, once read (only when their rule applies).
    default_reviewers: Option<Vec<Account>>,
    /// Each PR's approvers' accounts, kept by `normalize` for the default reviewers' rule.
    approvers: Mutex<HashMap<u64, Vec<Account>>>,
}

/// Credential forms, in the order they are tried (docs/variables.md).
pub const ACCESS_TOKEN: Form = Form::new("access token", &["BITBUCKET_ACCESS_TOKEN"], "Authorization: Bearer");
pub const API_TOKEN: Form = Form::new(
    "API token",
    &["BITBUCKET_EMAIL", "BITBUCKET_API_TOKEN"],
    "Authorization: Basic email:api_token",
);
pub const OAUTH: Form = Form::new(
    "OAuth consumer",
    &["BITBUCKET_OAUTH_CLIENT_ID", "BITBUCKET_OAUTH_CLIENT_SECRET"],
    "exchanged (client credentials grant) for an Authorization: Bearer token",
);
pub const APP_PASSWORD: Form = Form::new(
    "app password",
    &["BITBUCKET_USERNAME", "BITBUCKET_APP_PASSWORD"],
    "Authorization: Basic username:app_password (refused by Bitbucket Cloud since July 2026)",
);

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
