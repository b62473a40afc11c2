//! The requests of GitLab's lookup and its part of the shared flow (`provider::flow`).

use reqwest::Url;
use serde::de::DeserializeOwned;

use super::api::{ApiApprovals, ApiMr, ApiReviewer, ApiStatus};
use super::{Fetched, Gitlab, Head, PER_PAGE};
use crate::error::{Error, Result};
use crate::http::Page as HttpPage;
use crate::model::{Capabilities, LookupKind, PullRequest, Repository};
use crate::provider::flow::{self, Forge, Listed};
use crate::provider::{ProviderKind, Site};
use crate::provider::same_commit;

impl Gitlab {
    pub(super) fn project_url(&self, rest: &[&str]) -> Url {
        let mut segs = vec!["projects", self.project.as_str()];
        segs.extend_from_slice(rest);
        self.http.url(&segs)
    }

    /// Every page of a list: the `Link: rel="next"` header (on the API's origin only), else
    /// GitLab's `x-next-page` (which is all that some servers and proxies pass on).
    pub(super) async fn pages<T: DeserializeOwned>(&self, first: Url) -> Result<Vec<T>> {
        self.http
            .paginate(first, |current, resp| {
                let items = resp.json::<Vec<T>>()?;
                // GitLab counts the whole list in `x-total` (left out past 10,000 items).
                let total = resp.header("x-total").and_then(|t| t.trim().parse::<u64>().ok());
                if let Some(next) = self.http.link_next(resp)? {
                    return Ok(HttpPage::new(items, Some(next)).with_total(total));
                }
                let next_page = resp
                    .header("x-next-page")
                    .map(str::trim)
                    .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
                let next = next_page.map(|n| {
                    let kept: Vec<(String, String)> = current
                        .query_pairs()
                        .filter(|(k, _)| k != "page")
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect();
                    let mut next = current.clone();
                    next.query_pairs_mut().clear().extend_pairs(kept).append_pair("page", n);
                    next
                });
                Ok(HttpPage::new(items, next).with_total(total))
            })
            .await
    }

    pub(super) fn paged(&self, rest: &[&str]) -> Url {
        let mut url = self.project_url(rest);
        url.query_pairs_mut().append_pair("per_page", PER_PAGE);
        url
    }

    /// A 404 that keeps the server's reason and says what to check.
    pub(super) fn not_found(&self, message: String, check: &str) -> Error {
        Error::api(
            Some(404),
            format!(
                "{message}: check {check}, and that GITLAB_TOKEN's user is a member of project {} (Reporter role or higher)",
                self.name
            ),
        )
    }

    /// The MRs containing the commit (their numbers; each is fetched in full afterwards).
    pub(super) async fn commit_mrs(&self, commit: &str) -> Result<Vec<ApiMr>> {
        let url = self.paged(&["repository", "commits", commit, "merge_requests"]);
        match self.pages::<ApiMr>(url).await {
            Err(Error::Api {
                status: Some(404),
                message,
            }) => Err(self.not_found(message, "CI_PROJECT_ID and CI_COMMIT_SHA")),
            other => other,
        }
    }

    /// One MR with its head pipeline, approvals and reviewers, fetched at the same time; with
    /// them, when the run needs them, its diff versions (`FRESH_APPROVALS`) and the project's
    /// settings (read once per run). While GitLab is still computing the MR's merge status
    /// (`REQUIRE=mergeable`), the MR is asked for again (see `rules`).
    pub(super) async fn fetch(&self, iid: u64) -> Result<Fetched> {
        let id = iid.to_string();
        let versions_wanted = self.versions_wanted();
        // The MR carries its head pipeline's status, a build: read again by every poll.
        let (mr, approvals, reviewers, versions, settings) = tokio::join!(
            crate::http::build_read(self.http.get(self.project_url(&["merge_requests", &id]))),
            self.http.get(self.project_url(&["merge_requests", &id, "approvals"])),
            self.pages::<ApiReviewer>(self.paged(&["merge_requests", &id, "reviewers"])),
            async {
                match versions_wanted {
                    true => Some(self.versions(iid).await),
                    false => None,
                }
            },
            self.settings_if_wanted()
        );
        let mr = self.mr_answer(iid, mr)?;
        let approvals = self.approvals_answer(iid, approvals)?;
        let reviewers: Option<Vec<ApiReviewer>> = match reviewers {
            Err(Error::Api { status: Some(404), .. }) => {
                self.http.debug(&format!("no reviewers API for !{iid} (404)"));
                None
            }
            other => Some(other?),
        };
        let versions = versions.transpose()?;
        let settings = settings?;
        let (mr, approvals) = self.until_computed(iid, mr, approvals).await?;
        Ok(Fetched {
            mr,
            approvals,
            reviewers,
            versions,
            settings,
        })
    }

    /// The MR's own answer; a 404 names the MR id variable.
    pub(super) fn mr_answer(&self, iid: u64, answer: Result<crate::http::Response>) -> Result<ApiMr> {
        match answer {
            Err(Error::Api {
                status: Some(404),
                message,
            }) => Err(self.not_found(
                message,
                &format!("that merge request !{iid} exists (CI_MERGE_REQUEST_IID)"),
            )),
            other => other?.json(),
        }
    }

    /// The MR's approvals. Servers without the approvals API (older or Community editions)
    /// answer 404: there is then nothing to report from it.
    pub(super) fn approvals_answer(&self, iid: u64, answer: Result<crate::http::Response>) -> Result<Option<ApiApprovals>> {
        match answer {
            Err(Error::Api { status: Some(404), .. }) => {
                self.http.debug(&format!("no approvals API for !{iid} (404)"));
                Ok(None)
            }
            other => Ok(Some(other?.json()?)),
        }
    }

    /// The latest status of each job and external status of a commit on a branch (GitLab
    /// leaves out retried jobs by itself). A 404 is an error like on every forge (see `flow`):
    /// the commit is the head of an MR GitLab just sent.
    pub(super) async fn statuses(&self, head: &Head) -> Result<Vec<ApiStatus>> {
        let mut url = self.project_url(&["repository", "commits", &head.sha, "statuses"]);
        url.query_pairs_mut()
            .append_pair("ref", &head.branch)
            .append_pair("per_page", PER_PAGE);
        self.pages::<ApiStatus>(url).await.map_err(|e| {
            let what = format!("the commit statuses of {} on {}", flow::short(&head.sha), head.branch);
            flow::builds_unreadable(e, &what)
        })
    }
}

/// An MR as a list names it: its number and, when the list says, its head.
pub(crate) struct ListedMr {
    iid: u64,
    head: Option<Head>,
}

/// The same branch, and the same commit (abbreviated ids match their full form).
impl flow::SameHead for Head {
    fn same(&self, other: &Self) -> bool {
        self.branch == other.branch && same_commit(&self.sha, &other.sha)
    }
}

impl Forge for Gitlab {
    type Pr = ListedMr;
    type Detail = Fetched;
    /// A commit on the MR's source branch: GitLab answers a commit's statuses per branch.
    type Head = Head;
    type Builds = Vec<ApiStatus>;

    async fn list(&self) -> Result<Listed<Self>> {
        if let Some(iid) = self.iid {
            // The pipeline's variables name the MR's head: its statuses are read while the MR
            // itself is fetched.
            let mr = ListedMr {
                iid,
                head: self.expected_head.clone(),
            };
            return Ok(Listed::new(LookupKind::PrId, vec![mr]));
        }
        let commit = self.commit.clone().unwrap_or_default();
        // The project's settings do not depend on the list: read at the same time.
        let (mrs, settings) = tokio::join!(self.commit_mrs(&commit), self.settings_if_wanted());
        let mrs = mrs?;
        settings?;
        let listed = mrs
            .into_iter()
            .map(|mr| ListedMr {
                iid: mr.iid,
                head: Head::of(mr.sha.as_deref(), mr.source_branch.as_deref()),
            })
            .collect();
        Ok(Listed::new(LookupKind::Commit, listed))
    }

    fn id(mr: &ListedMr) -> u64 {
        mr.iid
    }

    fn listed_head(mr: &ListedMr) -> Option<Head> {
        mr.head.clone()
    }

    async fn detail(&self, mr: ListedMr) -> Result<Fetched> {
        self.fetch(mr.iid).await
    }

    fn head(f: &Fetched) -> Option<Head> {
        Head::of(f.mr.sha.as_deref(), f.mr.source_branch.as_deref())
    }

    async fn builds(&self, head: &Head) -> Result<Vec<ApiStatus>> {
        self.statuses(head).await
    }

    fn normalize(&self, f: Fetched, statuses: &Vec<ApiStatus>) -> Result<PullRequest> {
        let judged = self.judged(&f);
        let versions = f.versions;
        let settings = f.settings;
        let mut pr = f.mr.normalize(f.approvals, f.reviewers, statuses)?;
        self.apply(&mut pr, judged, versions.as_deref(), settings.as_ref())?;
        Ok(pr)
    }

    const ENTRY: ProviderKind = &super::ENTRY;
    /// It has no tasks to count: `no-open-tasks` could never be answered.
    const CAPABILITIES: Capabilities = Capabilities::NO_TASKS;

    fn site(&self) -> Site<'_> {
        let repository = Repository {
            full_name: self.name.clone(),
            url: self.web.clone(),
        };
        Site {
            repository,
            commit: self.commit.clone(),
            http: &self.http,
        }
    }
}
