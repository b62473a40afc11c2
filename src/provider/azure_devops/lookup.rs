//! The requests of Azure DevOps' lookup and its part of the shared flow (`provider::flow`).

use std::collections::HashMap;

use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::api::{status_builds, ApiEvaluation, ApiList, ApiPr, ApiStatus, BUILD_POLICY};
use super::rules::{ApiIteration, ApiThread};
use super::{auth_hint, AzureDevops, API_PREVIEW, API_VERSION, FORGE};
use crate::error::{Error, Result};
use crate::http::{Page, Response};
use crate::model::{Capabilities, LookupKind, PullRequest, Repository};
use crate::provider::flow::{self, Forge, Listed};
use crate::provider::{ProviderKind, Site};
use crate::provider::same_commit;

/// The PR list's page size (the fallback when the pull request query does not answer).
const TOP: usize = 100;

/// Where a PR's builds are read: its statuses and policy evaluations, which belong to the PR
/// (the evaluations' artifact id names the project's GUID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    pr: u64,
    project_id: String,
}

/// A PR's builds belong to the PR, not to a commit: the same PR, the same head.
impl flow::SameHead for Head {
    fn same(&self, other: &Self) -> bool {
        self == other
    }
}

/// A PR as a list names it.
pub(crate) struct ListedPr {
    id: u64,
    project_id: Option<String>,
}

/// One PR's own answers.
pub(crate) struct Fetched {
    pub(super) pr: ApiPr,
    pub(super) project_id: Option<String>,
    /// The vote updates and the iterations (`FRESH_APPROVALS`): when and at which head each
    /// approval was given.
    pub(super) threads: Option<Vec<ApiThread>>,
    pub(super) iterations: Option<Vec<ApiIteration>>,
}

/// One PR's builds as Azure sent them: its statuses and its policy evaluations.
#[derive(Default)]
pub(crate) struct PrBuilds {
    pub(super) statuses: Vec<ApiStatus>,
    pub(super) evaluations: Vec<ApiEvaluation>,
}

/// The pull request query's answer: for each query, a map of commit → PRs.
#[derive(Deserialize)]
struct QueryAnswer {
    results: Option<Vec<HashMap<String, Vec<ApiPr>>>>,
}

impl AzureDevops {
    fn versioned(&self, segments: &[&str], version: &str) -> Url {
        let mut url = self.http.url(segments);
        url.query_pairs_mut().append_pair("api-version", version);
        url
    }

    /// `{collection}/{project}/_apis/git/repositories/{repository}/...`.
    pub(super) fn repo_url(&self, rest: &[&str]) -> Url {
        let mut segs = vec![self.project.as_str(), "_apis", "git", "repositories", self.repository.as_str()];
        segs.extend_from_slice(rest);
        self.versioned(&segs, API_VERSION)
    }

    /// Azure answers a request whose credentials it does not take with 203 and its sign-in
    /// page (HTML), not with 401: the same refusal, exit 3.
    pub(super) fn accepted(&self, resp: Response) -> Result<Response> {
        if resp.status != StatusCode::NON_AUTHORITATIVE_INFORMATION {
            return Ok(resp);
        }
        let form = self.http_form();
        Err(Error::Auth {
            status: 203,
            message: format!(
                "{FORGE} answered {} with 203 and a sign-in page instead of JSON: it did not accept the credentials. {}",
                resp.url.path(),
                auth_hint(form)(StatusCode::UNAUTHORIZED, "")
            ),
        })
    }

    pub(super) async fn get_json<T: DeserializeOwned>(&self, url: Url) -> Result<T> {
        self.accepted(self.http.get(url).await?)?.json()
    }

    /// Every page of a list: Azure's `x-ms-continuationtoken` header names the next one (sent
    /// back as `continuationToken`); a list paged with `$top` and `$skip` goes on while its
    /// pages are full.
    pub(super) async fn pages<T: DeserializeOwned>(&self, first: Url) -> Result<Vec<T>> {
        self.http
            .paginate(first, |current, resp| {
                if resp.status == StatusCode::NON_AUTHORITATIVE_INFORMATION {
                    return Err(self.signed_out(resp));
                }
                let list: ApiList<T> = resp.json()?;
                let items = list.value.ok_or_else(|| {
                    Error::api(None, format!("{FORGE} sent GET {} without its value list", current.path()))
                })?;
                let token = resp.header("x-ms-continuationtoken").map(str::trim).filter(|t| !t.is_empty());
                let top = current
                    .query_pairs()
                    .find(|(k, _)| k == "$top")
                    .and_then(|(_, v)| v.parse::<usize>().ok());
                let next = match (token, top) {
                    (Some(t), _) => Some(with_param(current, "continuationToken", t)),
                    (None, Some(top)) if items.len() >= top && top > 0 => {
                        let skip = current
                            .query_pairs()
                            .find(|(k, _)| k == "$skip")
                            .and_then(|(_, v)| v.parse::<usize>().ok())
                            .unwrap_or(0);
                        Some(with_param(current, "$skip", &(skip + top).to_string()))
                    }
                    _ => None,
                };
                Ok(Page::new(items, next))
            })
            .await
    }

    fn signed_out(&self, resp: &Response) -> Error {
        let copy = Response {
            status: resp.status,
            headers: resp.headers.clone(),
            body: Vec::new(),
            url: resp.url.clone(),
        };
        self.accepted(copy).err().unwrap_or_else(|| Error::api(Some(203), "203"))
    }

    /// A 404 that keeps the server's reason and says what to check.
    pub(super) fn not_found(&self, message: String, check: &str) -> Error {
        Error::api(
            Some(404),
            format!(
                "{message}: check {check}, and that the identity of the credentials can read repository {} of project {}",
                self.repository, self.project
            ),
        )
    }

    fn repo_not_found(e: Error, this: &AzureDevops) -> Error {
        match e {
            Error::Api {
                status: Some(404),
                message,
            } => this.not_found(
                message,
                "SYSTEM_COLLECTIONURI, SYSTEM_TEAMPROJECT and BUILD_REPOSITORY_ID (or BUILD_REPOSITORY_NAME)",
            ),
            other => other,
        }
    }

    /// The PRs of the commit: the pull request query (type `commit`, and `lastMergeCommit` for
    /// the merge commit of a PR build), else the active PRs matched by their head.
    async fn commit_prs(&self, commit: &str) -> Result<(LookupKind, Vec<ApiPr>)> {
        let url = self.versioned(
            &[self.project.as_str(), "_apis", "git", "repositories", self.repository.as_str(), "pullrequestquery"],
            API_PREVIEW,
        );
        let body = serde_json::json!({
            "queries": [
                {"type": "commit", "items": [commit]},
                {"type": "lastMergeCommit", "items": [commit]},
            ]
        });
        let answer = self
            .http
            .send(Method::POST, url, Some(("application/json", body.to_string())), None)
            .await;
        let results = match answer {
            Err(Error::Api {
                status: Some(400 | 404 | 405 | 501),
                ..
            }) => None,
            other => self.accepted(other?)?.json::<QueryAnswer>()?.results,
        };
        let Some(results) = results else {
            self.http.debug("the pull request query did not answer: listing the active pull requests");
            return Ok((LookupKind::Branch, self.listed_by_head(commit).await?));
        };
        let prs = results.into_iter().flat_map(|m| m.into_values()).flatten().collect();
        Ok((LookupKind::Commit, prs))
    }

    /// The active PRs (of the branch built, when it is one) whose head or merge commit is
    /// `commit`.
    async fn listed_by_head(&self, commit: &str) -> Result<Vec<ApiPr>> {
        let mut url = self.repo_url(&["pullrequests"]);
        url.query_pairs_mut()
            .append_pair("searchCriteria.status", "active")
            .append_pair("$top", &TOP.to_string());
        if let Some(branch) = &self.source_branch {
            url.query_pairs_mut().append_pair("searchCriteria.sourceRefName", branch);
        }
        let all: Vec<ApiPr> = self.pages(url).await.map_err(|e| Self::repo_not_found(e, self))?;
        let matches = |c: Option<&str>| c.is_some_and(|c| same_commit(c, commit));
        Ok(all
            .into_iter()
            .filter(|p| matches(p.head()) || matches(p.merge_commit()))
            .collect())
    }

    /// One PR, with its threads and iterations when `FRESH_APPROVALS` asks (concurrently).
    async fn fetch(&self, id: u64) -> Result<Fetched> {
        let n = id.to_string();
        let fresh = self.wants.freshness;
        let (pr, threads, iterations) = tokio::join!(
            self.get_json::<ApiPr>(self.repo_url(&["pullrequests", &n])),
            async {
                match fresh {
                    true => Some(self.pages::<ApiThread>(self.repo_url(&["pullrequests", &n, "threads"])).await),
                    false => None,
                }
            },
            async {
                match fresh {
                    true => Some(self.pages::<ApiIteration>(self.repo_url(&["pullrequests", &n, "iterations"])).await),
                    false => None,
                }
            }
        );
        let pr = pr.map_err(|e| match e {
            Error::Api {
                status: Some(404),
                message,
            } => self.not_found(message, &format!("that pull request !{id} exists (SYSTEM_PULLREQUEST_PULLREQUESTID)")),
            other => other,
        })?;
        let project_id = pr.project_id().map(str::to_ascii_lowercase).or_else(|| self.project_id.clone());
        Ok(Fetched {
            pr,
            project_id,
            threads: threads.transpose()?,
            iterations: iterations.transpose()?,
        })
    }

    /// A PR's statuses and policy evaluations, at the same time.
    async fn pr_builds(&self, head: &Head) -> Result<PrBuilds> {
        let n = head.pr.to_string();
        let mut evaluations = self.versioned(&[self.project.as_str(), "_apis", "policy", "evaluations"], API_PREVIEW);
        let artifact = format!("vstfs:///CodeReview/CodeReviewId/{}/{}", head.project_id, head.pr);
        evaluations.query_pairs_mut().append_pair("artifactId", &artifact);
        let (statuses, evaluations) = tokio::join!(
            self.pages::<ApiStatus>(self.repo_url(&["pullrequests", &n, "statuses"])),
            self.pages::<ApiEvaluation>(evaluations)
        );
        let statuses = statuses.map_err(|e| flow::builds_unreadable(e, &format!("the statuses of pull request !{n}")))?;
        let evaluations = evaluations
            .map_err(|e| flow::builds_unreadable(e, &format!("the policy evaluations of pull request !{n}")))?;
        Ok(PrBuilds { statuses, evaluations })
    }
}

/// `url` with the query parameter `name` set to `value` (replaced when present).
fn with_param(url: &Url, name: &str, value: &str) -> Url {
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut next = url.clone();
    next.query_pairs_mut().clear().extend_pairs(kept).append_pair(name, value);
    next
}

impl Forge for AzureDevops {
    type Pr = ListedPr;
    type Detail = Fetched;
    type Head = Head;
    type Builds = PrBuilds;

    async fn list(&self) -> Result<Listed<Self>> {
        if let Some(id) = self.pr_id {
            let pr = ListedPr {
                id,
                project_id: self.project_id.clone(),
            };
            return Ok(Listed::new(LookupKind::PrId, vec![pr]));
        }
        let commit = self.commit.clone().unwrap_or_default();
        let (kind, prs) = self.commit_prs(&commit).await.map_err(|e| Self::repo_not_found(e, self))?;
        let listed = prs
            .into_iter()
            .map(|p| ListedPr {
                id: p.pull_request_id,
                project_id: p.project_id().map(str::to_ascii_lowercase).or_else(|| self.project_id.clone()),
            })
            .collect();
        Ok(Listed::new(kind, listed))
    }

    fn id(pr: &ListedPr) -> u64 {
        pr.id
    }

    fn listed_head(pr: &ListedPr) -> Option<Head> {
        Some(Head {
            pr: pr.id,
            project_id: pr.project_id.clone()?,
        })
    }

    async fn detail(&self, pr: ListedPr) -> Result<Fetched> {
        self.fetch(pr.id).await
    }

    fn head(f: &Fetched) -> Option<Head> {
        Some(Head {
            pr: f.pr.pull_request_id,
            project_id: f.project_id.clone()?,
        })
    }

    async fn builds(&self, head: &Head) -> Result<PrBuilds> {
        self.pr_builds(head).await
    }

    fn normalize(&self, f: Fetched, builds: &PrBuilds) -> Result<PullRequest> {
        let mut pr = f.pr.normalize(&self.web())?;
        let collection = self.collection.as_str();
        pr.builds = status_builds(&builds.statuses);
        pr.builds.extend(
            builds
                .evaluations
                .iter()
                .filter(|e| e.is_type(BUILD_POLICY))
                .filter_map(|e| e.build(collection, &self.project)),
        );
        self.apply(&mut pr, &f, builds)?;
        Ok(pr)
    }

    const ENTRY: ProviderKind = &super::ENTRY;
    /// It has no tasks to count: `no-open-tasks` could never be answered.
    const CAPABILITIES: Capabilities = Capabilities::NO_TASKS;

    fn site(&self) -> Site<'_> {
        Site {
            repository: Repository {
                full_name: format!("{}/{}", self.project, self.name),
                url: Some(self.web()),
            },
            commit: self.commit.clone(),
            http: &self.http,
        }
    }
}
