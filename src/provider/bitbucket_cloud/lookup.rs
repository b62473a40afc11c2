//! The requests of the lookup: the commit index (polled while Bitbucket indexes), the build
//! statuses, the branch fallback, and the shared flow's `Forge` part.

use std::time::{Duration, Instant};

use reqwest::{StatusCode, Url};
use serde::Deserialize;

use super::api::{ApiPr, Page, PR_FIELDS};
use super::{BitbucketCloud, FORGE};
use crate::error::{Error, Result};
use crate::http::Page as HttpPage;
use crate::model::{Lookup, LookupKind, PullRequest, Repository};
use crate::provider::flow::{self, Forge, Listed};
use crate::provider::Site;
use crate::provider::{same_commit, BitbucketStatus};

/// `size` (the list's total, when Bitbucket counts it) lets `Http::paginate` check the pages.
const STATUS_FIELDS: &str = "next,size,values.key,values.name,values.state,values.url";

impl BitbucketCloud {
    pub(super) fn repo_url(&self, rest: &[&str]) -> Url {
        let mut segs = vec!["repositories", self.workspace.as_str(), self.slug.as_str()];
        segs.extend_from_slice(rest);
        self.http.url(&segs)
    }



    /// Every page of a paginated list, following `next` only on the API's origin.
    /// `size`, the whole list's length, is checked against what the pages held.
    pub(super) async fn pages<T: for<'de> Deserialize<'de>>(&self, first: Url) -> Result<Vec<T>> {
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

    pub(super) fn with_query(mut url: Url, pairs: &[(&str, &str)]) -> Url {
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

    pub(super) fn not_found(&self) -> Error {
        Error::api(
            Some(404),
            format!(
                "repository {}/{} was not found, or these credentials cannot see it: check BITBUCKET_WORKSPACE and BITBUCKET_REPO_SLUG, and that the token belongs to this repository",
                self.workspace, self.slug
            ),
        )
    }
}

/// A build-status list that could not be read, saying so.
fn statuses_unreadable(e: Error, commit: &str) -> Error {
    flow::builds_unreadable(e, &format!("the build statuses of commit {}", flow::short(commit)))
}

impl Forge for BitbucketCloud {
    crate::provider::bitbucket_forge!();

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

    async fn detail(&self, pr: ApiPr) -> Result<ApiPr> {
        Ok(pr)
    }

    async fn builds(&self, head: &String) -> Result<Vec<BitbucketStatus>> {
        self.commit_statuses(head).await
    }

    fn normalize(&self, pr: ApiPr, statuses: &Vec<BitbucketStatus>) -> Result<PullRequest> {
        if self.wants.verdict {
            // Kept for the default reviewers' rule, which needs accounts, not names.
            if let Ok(mut approvers) = self.approvers.lock() {
                approvers.insert(pr.id, pr.approvers());
            }
        }
        pr.normalize(statuses)
    }

    fn site(&self) -> Site<'_> {
        let (workspace, slug) = (&self.workspace, &self.slug);
        Site {
            repository: Repository {
                full_name: format!("{workspace}/{slug}"),
                url: Some(format!("https://bitbucket.org/{workspace}/{slug}")),
            },
            commit: self.commit.clone(),
            http: &self.http,
        }
    }

    /// The flow, with the repository's rules read beside its first round trip (once), and the
    /// verdict and approvals judged after it.
    async fn find(&mut self) -> Result<Lookup> {
        self.exchange_oauth().await?;
        let rules_wanted = self.wants.verdict || self.wants.rules;
        let unread = rules_wanted && self.rules.is_none();
        let (mut found, read) = flow::lookup_beside(&*self, unread.then(|| self.read_rules())).await?;
        if read.is_some() {
            self.rules = read;
        }
        if rules_wanted || self.wants.freshness {
            self.judge(&mut found.pull_requests).await?;
        }
        Ok(found)
    }
}
