//! The requests of the lookup and Data Center's part of the shared flow (`flow::Forge`).

use reqwest::Url;
use serde::de::DeserializeOwned;

use super::api::{ApiPr, Page};
use super::{BitbucketDatacenter, FORGE};
use crate::error::{Error, Result};
use crate::http::Page as HttpPage;
use crate::model::{Lookup, LookupKind, PullRequest, Repository};
use crate::provider::flow::{self, Forge, Listed};
use crate::provider::Site;
use crate::provider::{BitbucketStatus};

/// Page sizes asked for; servers cap `limit` themselves (build statuses at 100).
const PR_LIMIT: &str = "100";
const BUILD_LIMIT: &str = "100";

impl BitbucketDatacenter {
    /// `{base}/rest/api/latest/projects/{key}/repos/{slug}/...`
    pub(super) fn repo_url(&self, rest: &[&str]) -> Url {
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
    pub(super) async fn pages<T: DeserializeOwned>(&self, url: Url, limit: &str) -> Result<Vec<T>> {
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
        self.pages(url, PR_LIMIT).await.map_err(|e| {
            e.explain_404(|| {
                format!(
                    "check BITBUCKET_PROJECT_KEY={} and BITBUCKET_REPO_SLUG={}, that the commit was pushed \
                     to this repository, and that the credentials can read it",
                    self.project, self.slug
                )
            })
        })
    }

    /// Build statuses of one commit, from the build-status resource (see the module doc).
    async fn build_statuses(&self, commit: &str) -> Result<Vec<BitbucketStatus>> {
        let url = self.http.url(&["rest", "build-status", "latest", "commits", commit]);
        match self.pages(url, BUILD_LIMIT).await {
            // Without the list the builds are unknown; an empty list would pass builds-passed.
            Err(e @ Error::Api { status: Some(404), .. }) => Err(e.explain_404(|| {
                "the build statuses cannot be read, so builds cannot be reported; \
                 check that the server's build-status resource is reachable through any proxy in front of it"
                    .into()
            })),
            Err(e @ Error::Auth { .. }) => Err(crate::http::add_hint(
                e,
                "build statuses are read from /rest/build-status, which needs a licensed user; \
                 if a project or repository token is refused there, use a personal HTTP access token",
            )),
            other => other,
        }
    }

    pub(super) fn pr_not_found(&self, id: u64, e: Error) -> Error {
        e.explain_404(|| {
            format!(
                "check BITBUCKET_PR_ID={id}, BITBUCKET_PROJECT_KEY={} and BITBUCKET_REPO_SLUG={}",
                self.project, self.slug
            )
        })
    }
}

impl Forge for BitbucketDatacenter {
    crate::provider::bitbucket_forge!();

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
                Err(e @ Error::Api { status: Some(404), .. }) => return Err(self.pr_not_found(id, e)),
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

    /// The list already carries everything but the merge verdict (`REQUIRE=mergeable`).
    async fn detail(&self, mut pr: ApiPr) -> Result<ApiPr> {
        if self.wants.verdict && pr.verdict.is_none() {
            pr.verdict = Some(self.merge_verdict(pr.id, pr.state.as_deref()).await?);
        }
        Ok(pr)
    }

    async fn builds(&self, head: &String) -> Result<Vec<BitbucketStatus>> {
        self.build_statuses(head).await
    }

    fn normalize(&self, pr: ApiPr, builds: &Vec<BitbucketStatus>) -> Result<PullRequest> {
        pr.normalize(builds)
    }

    fn site(&self) -> Site<'_> {
        // The web page: personal repositories live under /users/{user}/repos/{slug}.
        let web = match self.project.strip_prefix('~') {
            Some(user) => self.http.url(&["users", user, "repos", &self.slug]),
            None => self.http.url(&["projects", &self.project, "repos", &self.slug]),
        };
        let full_name = format!("{}/{}", self.project, self.slug);
        let repository = Repository { full_name, url: Some(web.to_string()) };
        Site { repository, commit: self.commit.clone(), http: &self.http }
    }

    /// The flow, with the repository's rules (they do not depend on the list) read beside its
    /// first round trip, once, and applied to each PR.
    async fn find(&mut self) -> Result<Lookup> {
        let unread = self.needs.any() && self.rules.is_none();
        let (mut found, read) = flow::lookup_beside(&*self, unread.then(|| self.read_rules(self.needs))).await?;
        if read.is_some() {
            self.rules = read;
        }
        if let Some(rules) = &self.rules {
            for pr in &mut found.pull_requests {
                pr.rules = rules.for_pr(pr)?;
            }
        }
        Ok(found)
    }
}
