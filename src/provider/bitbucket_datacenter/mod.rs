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
//!
//! The files: `setup` (variables and credentials), `lookup` (the requests and the shared
//! flow), `api` (the JSON and its mapping), `verdict` and `rules` (the repository's merge
//! rules, docs/rules-bitbucket-datacenter.md) with `patterns` (branch patterns), `post`
//! (`POST_RESULT`).

use serde::Deserialize;

use crate::config::{self, Config, Problems};
use crate::credentials::{Form, Redactor};
use crate::error::{Error, Result};
use crate::http::Http;
use crate::model::{AutoSettings, Wants};
use crate::provider::{bitbucket_pr_id, bitbucket_slug, Entry};

mod api;
mod lookup;
mod patterns;
mod post;
mod rules;
mod setup;
mod verdict;

pub use api::{parse_build_status_page, parse_pull_request, parse_pull_request_page};
use rules::RepoRules;
use setup::{auth_hint, credentials, project_key, server_url};

const FORGE: &str = "Bitbucket Data Center";
/// What a credential needs, for messages.
const TOKEN: &str = "an HTTP access token (personal, project or repository)";
const PERMISSION: &str = "Repository read permission (Project read for a project token)";

/// Data Center's own variables (docs/variables.md).
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
    needs: AutoSettings,
    /// The repository's rules, once read: they are repository-wide, so a wait for builds
    /// does not read them again.
    rules: Option<RepoRules>,
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
            .and_then(|s| bitbucket_slug(&s)),
        );
        let pr_id = problems.check(bitbucket_pr_id(env.bitbucket_pr_id.as_deref()));
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
            needs: cfg.auto(),
            rules: None,
        })
    }
}

/// Credential forms, in the order they are tried (docs/variables.md).
pub const ACCESS_TOKEN: Form = Form::new("HTTP access token", &["BITBUCKET_ACCESS_TOKEN"], "Authorization: Bearer");
pub const PASSWORD: Form = Form::new(
    "password",
    &["BITBUCKET_USERNAME", "BITBUCKET_PASSWORD"],
    "Authorization: Basic username:password (where the server allows Basic authentication)",
);

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
