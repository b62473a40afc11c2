//! The requests of the lookup and GitHub's part of the shared flow (`flow::Forge`).

use reqwest::Url;
use serde::de::DeserializeOwned;

use super::api::{to_builds, ApiPr, ApiReview, CheckRuns, CombinedStatus};
use super::rules::BranchRules;
use super::verdict;
use super::{Github, Target, PER_PAGE};
use crate::error::{Error, Result};
use crate::http::Page as HttpPage;
use crate::model::{Build, Capabilities, LookupKind, PullRequest, Repository};
use crate::provider::flow::{self, Forge, Listed};
use crate::provider::{ProviderKind, Site};
use crate::provider::server_commit;

impl Github {
    pub(super) fn repo_url(&self, rest: &[&str]) -> Url {
        let mut segs = vec!["repos", self.owner.as_str(), self.repo.as_str()];
        segs.extend_from_slice(rest);
        self.http.url(&segs)
    }

    fn paged(&self, rest: &[&str]) -> Url {
        let mut url = self.repo_url(rest);
        url.query_pairs_mut().append_pair("per_page", PER_PAGE);
        url
    }

    /// Every page of a list, following the `Link: rel="next"` header on the API's origin only.
    /// `items` takes one page apart into its items and the list's announced total.
    pub(super) async fn pages<P: DeserializeOwned, T>(&self, first: Url, items: fn(P) -> (Vec<T>, Option<u64>)) -> Result<Vec<T>> {
        self.http
            .paginate(first, |_, resp| {
                let (list, total) = items(resp.json::<P>()?);
                Ok(HttpPage::new(list, self.http.link_next(resp)?).with_total(total))
            })
            .await
    }

    fn not_found(&self, what: &str) -> Error {
        Error::api(
            Some(404),
            format!(
                "{what} in {}/{} was not found, or GITHUB_TOKEN cannot see it: check GITHUB_REPOSITORY, and for a private repository give the token `contents: read`",
                self.owner, self.repo
            ),
        )
    }

    /// The PRs containing the commit: merged ones that introduced it and open ones whose
    /// branch holds it, forks included.
    async fn commit_prs(&self, commit: &str) -> Result<Vec<ApiPr>> {
        let url = self.paged(&["commits", commit, "pulls"]);
        match self.pages(url, array::<ApiPr>).await {
            Ok(prs) => Ok(prs),
            Err(Error::Api { status: Some(422), .. }) => Err(Error::api(
                Some(422),
                format!(
                    "commit {} is not in {}/{} (422 from /commits/{{sha}}/pulls): check GITHUB_SHA, and that the commit was pushed",
                    &commit[..commit.len().min(12)],
                    self.owner,
                    self.repo
                ),
            )),
            Err(Error::Api { status: Some(404), .. }) => Err(self.not_found("the repository or the commit")),
            Err(e) => Err(e),
        }
    }

    /// One pull request (`/pulls/{number}`): the only answer with GitHub's merge verdict.
    pub(super) async fn single_pr(&self, number: u64, from: &str) -> Result<ApiPr> {
        let url = self.repo_url(&["pulls", &number.to_string()]);
        match self.http.get(url).await {
            Err(Error::Api { status: Some(404), .. }) => Err(self.not_found(&format!("pull request #{number}{from}"))),
            other => other?.json(),
        }
    }

    async fn reviews(&self, number: u64) -> Result<Vec<ApiReview>> {
        let url = self.paged(&["pulls", &number.to_string(), "reviews"]);
        self.pages(url, array::<ApiReview>).await
    }

    /// Check runs and commit statuses of one commit. A 404 is an error like on every forge
    /// (see `flow`): the commit is the head of a PR GitHub just sent.
    async fn commit_builds(&self, head: &str) -> Result<Vec<Build>> {
        let runs_url = self.paged(&["commits", head, "check-runs"]);
        let status_url = self.paged(&["commits", head, "status"]);
        let (runs, statuses) = tokio::join!(
            self.pages(runs_url, |p: CheckRuns| (p.check_runs, p.total_count)),
            self.pages(status_url, |p: CombinedStatus| (p.statuses, p.total_count))
        );
        let unreadable =
            |e: Error, what: &str| flow::builds_unreadable(e, &format!("the {what} of commit {}", flow::short(head)));
        let runs = runs.map_err(|e| unreadable(e, "check runs"))?;
        let statuses = statuses.map_err(|e| unreadable(e, "commit statuses"))?;
        Ok(to_builds(runs, statuses))
    }
}


/// A page that is a JSON array: its items, no announced total.
fn array<T>(page: Vec<T>) -> (Vec<T>, Option<u64>) {
    (page, None)
}


/// One PR's own answers, ready to normalize.
pub(crate) struct Fetched {
    pr: ApiPr,
    reviews: Vec<ApiReview>,
    /// Its destination branch's rules, when an `auto` setting asks.
    rules: Option<BranchRules>,
}

impl Forge for Github {
    type Pr = ApiPr;
    type Detail = Fetched;
    type Head = String;
    /// A commit's check runs and commit statuses, already read as builds (`to_builds`).
    type Builds = Vec<Build>;

    async fn list(&self) -> Result<Listed<Self>> {
        match &self.target {
            Target::Pr { number, base, .. } => {
                // The event names the destination: its rules are read at the same time.
                let rules = async {
                    match (self.needs.any(), base) {
                        (true, Some(b)) => self.branch_rules(b).await.map(|_| ()),
                        _ => Ok(()),
                    }
                };
                let (pr, rules) = tokio::join!(
                    self.single_pr(*number, " (from the event at GITHUB_EVENT_PATH)"),
                    rules
                );
                let pr = pr?;
                rules?;
                Ok(Listed::new(LookupKind::PrId, vec![pr]))
            }
            Target::Commit(commit) => Ok(Listed::new(LookupKind::Commit, self.commit_prs(commit).await?)),
        }
    }

    fn id(pr: &ApiPr) -> u64 {
        pr.number
    }

    fn listed_head(pr: &ApiPr) -> Option<String> {
        pr.head_sha().and_then(server_commit)
    }

    /// The reviews; with `REQUIRE=mergeable` the single PR (a list has no verdict); with an
    /// `auto` setting the destination branch's rules: all at the same time.
    async fn detail(&self, pr: ApiPr) -> Result<Fetched> {
        let number = pr.number;
        let listed = matches!(self.target, Target::Commit(_));
        let single = async {
            match self.wants.verdict && listed && verdict::computing(&pr) {
                true => Some(self.single_pr(number, "").await),
                false => None,
            }
        };
        let base = pr.base_branch().map(String::from);
        let rules = async {
            match (self.needs.any(), base) {
                (true, Some(b)) => Some(self.branch_rules(&b).await),
                _ => None,
            }
        };
        let (reviews, single, rules) = tokio::join!(self.reviews(number), single, rules);
        let pr = match single {
            Some(s) => s?,
            None => pr,
        };
        let pr = self.until_computed(pr).await?;
        Ok(Fetched {
            pr,
            reviews: reviews?,
            rules: rules.transpose()?,
        })
    }

    fn head(f: &Fetched) -> Option<String> {
        Self::listed_head(&f.pr)
    }

    async fn builds(&self, head: &String) -> Result<Vec<Build>> {
        self.commit_builds(head).await
    }

    fn normalize(&self, f: Fetched, builds: &Vec<Build>) -> Result<PullRequest> {
        let merge = self.wants.verdict.then(|| verdict::verdict(&f.pr));
        let mut pr = f.pr.normalize(&f.reviews, builds.clone())?;
        if let Some(v) = merge {
            v.apply(&mut pr);
        }
        if let Some(rules) = &f.rules {
            pr.rules = Some(rules.for_needs(self.needs)?);
        }
        Ok(pr)
    }

    const ENTRY: ProviderKind = &super::ENTRY;
    /// It has no tasks to count: `no-open-tasks` could never be answered.
    const CAPABILITIES: Capabilities = Capabilities::NO_TASKS;

    fn site(&self) -> Site<'_> {
        let commit = match &self.target {
            Target::Commit(c) => Some(c.clone()),
            Target::Pr { commit, .. } => commit.clone(),
        };
        let full_name = format!("{}/{}", self.owner, self.repo);
        Site {
            repository: Repository { full_name, url: self.web.clone() },
            commit,
            http: &self.http,
        }
    }
}
