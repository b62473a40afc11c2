//! GitHub (`api.github.com`, and GitHub Enterprise Server at `https://host/api/v3`).
//!
//! What is looked up: on `pull_request`-type events the PR named in the event payload (its
//! `GITHUB_SHA` is a merge commit no PR contains); on `merge_group` events the PR of the queue
//! entry; otherwise every PR containing `GITHUB_SHA` (`/commits/{sha}/pulls`, all pages).
//!
//! Round trips: the lookup (pages in sequence), then at the same time each PR's reviews and,
//! per distinct head, its check runs and combined commit status. For N PRs with one head that
//! is pages + N + 2 requests in pages + 1 round trips.
//!
//! Files: this one (variables, the registry entry, the provider), `event` (what the event
//! payload names), `lookup` (the requests and the shared flow), `api` (GitHub's JSON and its
//! normalization, and the parsers on their own), `post` (`POST_RESULT`).

mod api;
mod event;
mod lookup;
mod post;
mod rules;
#[cfg(test)]
mod tests;
mod verdict;

pub use api::{
    parse_check_runs, parse_combined_status, parse_pull_request, parse_pull_request_page,
    parse_pull_request_with_reviews,
};
pub use event::{parse_event, Target};

use reqwest::{StatusCode, Url};
use serde::Deserialize;

use crate::ci::{self, OwnRun};
use crate::config::{self, Config, Outputs, Problems, Vars};
use crate::credentials::{secret_var, Auth, Form, Redactor};
use crate::error::{Error, Result};
use crate::http::{AuthHint, Http};
use crate::model::{AutoSettings, Wants};
use rules::RulesCache;
use crate::provider::Entry;
use crate::summary::Summary;

const FORGE: &str = "GitHub";
const DEFAULT_API: &str = "https://api.github.com";
/// The REST API version the JSON shapes below follow.
const API_VERSION: &str = "2022-11-28";
const MEDIA_TYPE: &str = "application/vnd.github+json";
/// GitHub's largest page size.
const PER_PAGE: &str = "100";

/// GitHub Actions' own variables (docs/variables.md).
#[derive(Debug, Deserialize)]
struct GithubEnv {
    github_repository: Option<String>,
    github_api_url: Option<String>,
    github_server_url: Option<String>,
    github_sha: Option<String>,
    github_event_name: Option<String>,
    github_event_path: Option<String>,
}


#[derive(Debug)]
pub struct Github {
    http: Http,
    owner: String,
    repo: String,
    web: Option<String>,
    target: Target,
    /// What this run reads beyond the common lookup (`REQUIRE=mergeable`, the auto settings).
    wants: Wants,
    needs: AutoSettings,
    /// Each destination branch's rules, read once per run.
    rules: RulesCache,
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
        let target = problems.check(event::target(&env));
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
            wants: cfg.wants(),
            needs: cfg.auto(),
            rules: RulesCache::default(),
        })
    }

}

/// The credential form (docs/variables.md).
pub const TOKEN: Form = Form::new("token", &["GITHUB_TOKEN"], "Authorization: Bearer");

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

