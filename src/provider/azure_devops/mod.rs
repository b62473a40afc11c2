//! Azure DevOps (Azure Repos with Azure Pipelines; `dev.azure.com` and Azure DevOps Server),
//! REST API 7.1. See docs/azure-devops.md.
//!
//! What is looked up: in pull-request builds the PR of `SYSTEM_PULLREQUEST_PULLREQUESTID`;
//! otherwise the PRs of `BUILD_SOURCEVERSION`, found by the pull request query (`POST
//! .../pullrequestquery`, one request asking for the PRs that merged the commit, type
//! `commit`, and the PRs whose merge commit it is, type `lastMergeCommit`). Where the query
//! does not answer (a server without it), the active PRs of the repository (of
//! `BUILD_SOURCEBRANCH` when it is a branch) are listed, every page, and matched by their
//! `lastMergeSourceCommit`.
//!
//! Each PR then costs three concurrent requests: the PR itself (state, draft, reviewers and
//! their votes), its statuses and its policy evaluations. The statuses and the build policy
//! evaluations are its builds; the running build (`BUILD_BUILDID`) is recognised among them and
//! never waited for. For one PR that is 4 requests in 2 round trips; in a PR build with
//! `SYSTEM_TEAMPROJECTID` set (Azure Pipelines sets it), 3 requests in one round trip.
//!
//! The repository's own rules come from the same policy evaluations at no extra cost: the
//! blocking policies' evaluations are Azure's merge verdict (`REQUIRE=mergeable`), the
//! minimum-reviewer policy gives `MIN_APPROVALS=auto` and `FRESH_APPROVALS=auto`, the blocking
//! build policies `REQUIRED_BUILDS=auto`. With `FRESH_APPROVALS`, each PR's threads (the vote
//! updates, with their times) and iterations (the heads, with theirs) take two more requests,
//! with the PR.
//!
//! Files: this one (variables, the registry entry, the provider), `auth` (the credential
//! forms and what a refusal says), `lookup` (the requests and
//! the shared flow), `api` (Azure's JSON and its normalization), `rules` (the merge verdict,
//! the rules and the approvals' evidence), `output` (Azure Pipelines' logging commands),
//! `post` (`POST_RESULT`).

mod api;
mod auth;
mod lookup;
mod output;
mod post;
mod rules;

use reqwest::Url;
use serde::Deserialize;

use crate::ci::{self, OwnRun};
use crate::config::{self, Config, Problems, Vars};
use crate::credentials::{Form, Redactor};
use crate::error::{Error, Result};
use crate::http::Http;
use crate::model::Wants;
use crate::provider::Entry;

pub use auth::{ACCESS_TOKEN, PAT};
use auth::{auth_hint, credential};

const FORGE: &str = "Azure DevOps";
/// The REST API version of the generally available endpoints.
const API_VERSION: &str = "7.1";
/// The pull request query and the policy evaluations are still "preview" in 7.1.
const API_PREVIEW: &str = "7.1-preview.1";
/// The CI, as `ci::OwnRun` names it.
const CI: &str = "Azure Pipelines";

/// Azure Pipelines' own variables (docs/azure-devops.md).
#[derive(Debug, Deserialize)]
struct AzureEnv {
    system_collectionuri: Option<String>,
    system_teamproject: Option<String>,
    system_teamprojectid: Option<String>,
    build_repository_id: Option<String>,
    build_repository_name: Option<String>,
    build_repository_provider: Option<String>,
    build_sourceversion: Option<String>,
    build_sourcebranch: Option<String>,
    system_pullrequest_pullrequestid: Option<String>,
    system_pullrequest_sourcecommitid: Option<String>,
}

#[derive(Debug)]
pub struct AzureDevops {
    http: Http,
    /// The credential form sent, for the hints of a refusal.
    form: Form,
    /// The collection URL, as the web pages are under it.
    collection: Url,
    project: String,
    /// The project's GUID (`SYSTEM_TEAMPROJECTID`), when known before the lookup: the policy
    /// evaluations' artifact id names it.
    project_id: Option<String>,
    /// `BUILD_REPOSITORY_ID`, else `BUILD_REPOSITORY_NAME` (the API takes either).
    repository: String,
    /// The repository as the summary names it: `BUILD_REPOSITORY_NAME` when set.
    name: String,
    commit: Option<String>,
    pr_id: Option<u64>,
    /// `BUILD_SOURCEBRANCH` when it is a branch: the fallback PR list asks for its PRs only.
    source_branch: Option<String>,
    wants: Wants,
    /// The running build (`BUILD_BUILDID`), as `ci::CurrentRun` knows it.
    current_run: crate::ci::CurrentRun,
}

/// A GUID as Azure writes them (the project and repository ids).
fn is_guid(v: &str) -> bool {
    let parts: Vec<&str> = v.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    parts.len() == 5
        && parts
            .iter()
            .zip(lens)
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

impl AzureDevops {
    /// Reads and checks Azure's variables; one error names every problem (`config::Problems`).
    pub fn from_config(cfg: &Config) -> Result<AzureDevops> {
        let env: AzureEnv = cfg.vars.typed()?;
        let mut problems = Problems::of_provider(cfg);
        let collection = problems.check(
            env.system_collectionuri
                .as_deref()
                .ok_or_else(|| {
                    Error::config(
                        "SYSTEM_COLLECTIONURI is not set: Azure Pipelines sets it; elsewhere set it to https://dev.azure.com/<organization>/ \
                         or your Azure DevOps Server collection URL",
                    )
                })
                .and_then(|u| config::parse_base_url("SYSTEM_COLLECTIONURI", u)),
        );
        let segment_ok = |c: char| !c.is_control() && !"/\\?#%".contains(c);
        let project = problems.check(
            env.system_teamproject
                .as_deref()
                .ok_or_else(|| {
                    Error::config("SYSTEM_TEAMPROJECT is not set: Azure Pipelines sets it; elsewhere set it to the project's name")
                })
                .and_then(|p| config::path_segment("SYSTEM_TEAMPROJECT", p, segment_ok, "use the project's name")),
        );
        let project_id = problems.check(
            env.system_teamprojectid
                .as_deref()
                .map(|v| match is_guid(v.trim()) {
                    true => Ok(v.trim().to_ascii_lowercase()),
                    false => Err(Error::config(format!(
                        "SYSTEM_TEAMPROJECTID={v:?} is not a project id: Azure Pipelines sets it to the project's GUID; leave it unset otherwise"
                    ))),
                })
                .transpose(),
        );
        let provider_ok = env
            .build_repository_provider
            .as_deref()
            .is_none_or(|p| p.eq_ignore_ascii_case("TfsGit"));
        if !provider_ok {
            problems.check::<()>(Err(Error::config(format!(
                "BUILD_REPOSITORY_PROVIDER={:?}: the repository is not in Azure Repos (TfsGit); for a GitHub repository set PROVIDER=github",
                env.build_repository_provider.as_deref().unwrap_or("")
            ))));
        }
        let repository = problems.check(match (&env.build_repository_id, &env.build_repository_name) {
            (Some(id), _) if is_guid(id.trim()) => Ok(id.trim().to_ascii_lowercase()),
            (Some(id), _) => Err(Error::config(format!(
                "BUILD_REPOSITORY_ID={id:?} is not a repository id: Azure Pipelines sets it to the repository's GUID; \
                 or set BUILD_REPOSITORY_NAME to its name instead"
            ))),
            (None, Some(name)) => config::path_segment("BUILD_REPOSITORY_NAME", name, segment_ok, "use the repository's name"),
            (None, None) => Err(Error::config(
                "BUILD_REPOSITORY_ID is not set: Azure Pipelines sets it; elsewhere set it to the repository's GUID, \
                 or BUILD_REPOSITORY_NAME to its name",
            )),
        });
        let pr_id = problems.check(
            env.system_pullrequest_pullrequestid
                .as_deref()
                .filter(|v| !v.trim().is_empty())
                .map(|v| config::pr_id("SYSTEM_PULLREQUEST_PULLREQUESTID", v))
                .transpose(),
        );
        let source_commit = problems.check(
            env.system_pullrequest_sourcecommitid
                .as_deref()
                .filter(|v| !v.trim().is_empty())
                .map(|c| config::commit("SYSTEM_PULLREQUEST_SOURCECOMMITID", c))
                .transpose(),
        );
        let version = problems.check(
            env.build_sourceversion
                .as_deref()
                .map(|c| config::commit("BUILD_SOURCEVERSION", c))
                .transpose(),
        );
        // Which commit: in a PR build the PR's own head (BUILD_SOURCEVERSION is the merge
        // commit Azure built), else the commit built.
        let commit = match (pr_id.flatten(), source_commit.flatten(), version.flatten()) {
            (Some(_), Some(head), _) => Some(Some(head)),
            (_, _, Some(c)) => Some(Some(c)),
            (Some(_), None, None) => Some(None),
            (None, _, None) if env.build_sourceversion.is_some() => None,
            (None, _, None) => problems.check(Err(Error::config(
                "BUILD_SOURCEVERSION is not set: Azure Pipelines sets it; elsewhere set it to the 40-hex commit id being built",
            ))),
        };
        let mut redactor = Redactor::default();
        let auth = problems.check(credential(&cfg.vars, &mut redactor));
        problems.finish()?;
        let (Some(collection), Some(project), Some(project_id), Some(repository), Some(pr_id), Some(commit), Some(auth)) =
            (collection, project, project_id, repository, pr_id, commit, auth)
        else {
            return Err(Problems::incomplete());
        };
        let form = auth.form;
        let hint = auth_hint(form);
        let http = Http::new(FORGE, collection.clone(), Some(auth), &cfg.http, redactor, hint)?;
        let name = env
            .build_repository_name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or(&repository)
            .to_string();
        let source_branch = env
            .build_sourcebranch
            .filter(|b| b.starts_with("refs/heads/") && !b.chars().any(char::is_control));
        Ok(AzureDevops {
            http,
            form,
            collection,
            project,
            project_id,
            repository,
            name,
            commit,
            pr_id,
            source_branch,
            wants: cfg.wants(),
            current_run: cfg.gate.current_run.clone(),
        })
    }

    fn http_form(&self) -> Form {
        self.form
    }

    /// The repository's web page.
    fn web(&self) -> String {
        let mut url = self.collection.clone();
        let path = format!(
            "{}/{}/_git/{}",
            self.collection.path().trim_end_matches('/'),
            self.project,
            self.name
        );
        url.set_path(&path);
        url.to_string()
    }
}

/// Azure DevOps in the registry (`provider::registry::FORGES`).
pub static ENTRY: Entry = Entry {
    name: "azure-devops",
    ci: Some("Azure Pipelines"),
    precedence: 50,
    detected_when: "TF_BUILD=True",
    detect: |vars| config::is_true(vars.get("TF_BUILD")).then_some("TF_BUILD=True"),
    reads: &[
        "TF_BUILD",
        "SYSTEM_COLLECTIONURI",
        "SYSTEM_TEAMPROJECT",
        "SYSTEM_TEAMPROJECTID",
        "BUILD_REPOSITORY_ID",
        "BUILD_REPOSITORY_NAME",
        "BUILD_REPOSITORY_PROVIDER",
        "BUILD_SOURCEVERSION",
        "BUILD_SOURCEBRANCH",
        "BUILD_BUILDID",
        "SYSTEM_PULLREQUEST_PULLREQUESTID",
        "SYSTEM_PULLREQUEST_SOURCECOMMITID",
    ],
    read_prefixes: &[],
    credentials: &[ACCESS_TOKEN, PAT],
    open: |cfg| Ok(Box::new(AzureDevops::from_config(cfg)?)),
    own_run: Some(build_run),
    ci_output: Some(output::logging_commands),
};

/// Azure Pipelines' running build, `BUILD_BUILDID`: a build policy's evaluation names it
/// (its run), a status links to `.../_build/results?buildId=N`.
pub fn build_run(vars: &Vars) -> Option<OwnRun> {
    Some(OwnRun {
        ci: CI,
        id: ci::digits(vars, "BUILD_BUILDID")?,
        names: |id, build| ci::filed_under(id, build) || links_to_build(build.url.as_deref().unwrap_or(""), id),
    })
}

/// Whether `url` is the results page of build `id` (`?buildId=N`, whole ids only).
fn links_to_build(url: &str, id: &str) -> bool {
    let Ok(url) = Url::parse(url) else { return false };
    url.path().ends_with("/_build/results") && url.query_pairs().any(|(k, v)| k.eq_ignore_ascii_case("buildId") && v == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_and_build_links() {
        assert!(is_guid("3411ebc1-d5aa-464f-9615-0b527bc66719"));
        assert!(!is_guid("3411ebc1-d5aa-464f-9615-0b527bc6671"));
        assert!(!is_guid("repo"));
        let u = "https://dev.azure.com/o/p/_build/results?buildId=12&view=logs";
        assert!(links_to_build(u, "12"));
        assert!(!links_to_build(u, "1"));
        assert!(!links_to_build("https://dev.azure.com/o/p/_build/results?buildId=123", "12"));
        assert!(!links_to_build("not a url", "12"));
    }
}
