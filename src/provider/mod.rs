//! The provider interface: a forge turns "this commit" into normalized pull requests.
//! One file (or folder) per forge; each translates its own JSON at the edge and nothing else
//! sees it. A forge is that file, its `Entry` (everything forge-specific the rest of the step
//! needs: its `PROVIDER` name, detection, variables, credential forms, construction, the CI's
//! own run and output conventions), and one line in the `forges!` list below.

pub mod demo;
pub(crate) mod flow;
pub mod registry;

/// Declares each forge's module and lists its `ENTRY` in `FORGES`: one line per forge.
macro_rules! forges {
    ($($forge:ident),* $(,)?) => {
        $(pub mod $forge;)*
        /// Every forge `PROVIDER` can name (`registry` chooses among them). The order does
        /// not matter: `Entry::precedence` orders the detection.
        pub static FORGES: &[&Entry] = &[$(&$forge::ENTRY),*];
    };
}

// The registry: one line per forge (its file or folder `src/provider/<name>`).
forges! {
    azure_devops,
    bitbucket_cloud,
    bitbucket_datacenter,
    github,
    gitlab,
}

use futures_util::future::LocalBoxFuture;

use crate::ci::OwnRun;
use crate::config::{Config, Outputs, Vars};
use crate::credentials::Form;
use crate::error::Result;
use crate::http::Http;
use crate::model::{Capabilities, Lookup, Repository};
use crate::post::{Post, Verdict};
use crate::summary::Summary;

/// Which provider answers: its registry entry. Compared by name.
pub type ProviderKind = &'static Entry;

/// One forge, as the rest of the step knows it. Each forge file defines one (`pub static
/// ENTRY: Entry`) and `registry::FORGES` lists it; nothing else names the forge.
pub struct Entry {
    /// The `PROVIDER` value, the summary's `provider` (the schema's enum value).
    pub name: &'static str,
    /// The CI system whose own variables configure this forge, for `--help`: "GitHub Actions".
    pub ci: Option<&'static str>,
    /// Detection order when `PROVIDER` is unset: the lowest precedence whose `detect` matches
    /// wins (docs/variables.md's provider table, top row first).
    pub precedence: u8,
    /// When detection picks it, for `--help`: "GITHUB_ACTIONS=true".
    pub detected_when: &'static str,
    /// The variable that selects this forge when `PROVIDER` is unset (as messages quote it:
    /// `"GITHUB_ACTIONS=true"`), or `None`.
    pub detect: fn(&Vars) -> Option<&'static str>,
    /// Exact names of the variables this forge reads besides `read_prefixes`: a value that is
    /// not UTF-8 is refused (`Vars::refuse_not_utf8`), never converted.
    pub reads: &'static [&'static str],
    /// Name prefixes of the variables this forge (and its CI) reads.
    pub read_prefixes: &'static [&'static str],
    /// The credential forms it takes, in the order they are tried.
    pub credentials: &'static [Form],
    /// Builds the provider from the configuration: validates every variable of the forge
    /// (one error naming every problem, `config::Problems`) and sends nothing.
    pub open: fn(&Config) -> Result<Box<dyn DynProvider>>,
    /// The running build of this forge's CI, so that its own status never makes the gate
    /// wait for itself (`ci::CurrentRun`). Asked of every forge, whichever is chosen.
    pub own_run: Option<fn(&Vars) -> Option<OwnRun>>,
    /// This forge's CI's output conventions, after the summary files are written: the text to
    /// print on stdout (annotations, logging commands), redacted by the caller; empty for none.
    /// Asked of every forge, whichever is chosen: each checks that its CI is the one running.
    pub ci_output: Option<fn(&Summary, &Outputs, &Vars) -> String>,
}

impl Entry {
    /// The `PROVIDER` value.
    pub fn as_str(&self) -> &'static str {
        self.name
    }

    /// Whether this forge reads the variable `name`.
    pub fn reads(&self, name: &str) -> bool {
        self.reads.contains(&name)
            || self.read_prefixes.iter().any(|p| name.starts_with(p))
            || self.credentials.iter().any(|f| f.variables.contains(&name))
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Entry {}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// A forge's pull-request lookup. Constructing one validates its variables and sends
/// nothing; `lookup` does the network work and may be called again while waiting for builds.
#[allow(async_fn_in_trait)]
pub trait Provider {
    fn kind(&self) -> ProviderKind;
    fn repository(&self) -> Repository;
    /// The commit being looked up, when known before the lookup.
    fn commit(&self) -> Option<String>;
    /// What this forge can report at all; the gate refuses the `REQUIRE` conditions it
    /// could never answer (`gate::refuse_unanswerable`). Everything, unless said otherwise.
    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }
    /// The HTTP client, for its redactor and request count (none for the demo).
    fn http(&self) -> Option<&Http>;
    async fn lookup(&mut self) -> Result<Lookup>;
    /// `POST_RESULT`: posts the decided verdict to the forge once (docs/post-result.md). A
    /// refusal names the write permission it needs (`post::refused`). The default, for the
    /// demo, posts nothing and says so.
    async fn post_result(&self, _verdict: &Verdict) -> Result<()> {
        crate::post::nowhere(self.kind().as_str())
    }
}

/// A `Provider` as the step drives it, whichever forge it is: the same methods, their futures
/// boxed (`Provider` uses `async fn`, which a trait object cannot). Every `Provider` is one.
pub trait DynProvider {
    fn kind(&self) -> ProviderKind;
    fn repository(&self) -> Repository;
    fn commit(&self) -> Option<String>;
    fn capabilities(&self) -> Capabilities;
    fn http(&self) -> Option<&Http>;
    fn lookup(&mut self) -> LocalBoxFuture<'_, Result<Lookup>>;
    fn post_result<'a>(&'a self, verdict: &'a Verdict) -> LocalBoxFuture<'a, Result<()>>;
}

impl<P: Provider> DynProvider for P {
    fn kind(&self) -> ProviderKind {
        Provider::kind(self)
    }
    fn repository(&self) -> Repository {
        Provider::repository(self)
    }
    fn commit(&self) -> Option<String> {
        Provider::commit(self)
    }
    fn capabilities(&self) -> Capabilities {
        Provider::capabilities(self)
    }
    fn http(&self) -> Option<&Http> {
        Provider::http(self)
    }
    fn lookup(&mut self) -> LocalBoxFuture<'_, Result<Lookup>> {
        Box::pin(Provider::lookup(self))
    }
    fn post_result<'a>(&'a self, verdict: &'a Verdict) -> LocalBoxFuture<'a, Result<()>> {
        Box::pin(Provider::post_result(self, verdict))
    }
}

/// What a forge tells the step before its lookup (`flow::Forge::site`): the repository and
/// commit the summary shows, and the HTTP client.
pub(crate) struct Site<'a> {
    pub repository: Repository,
    /// The commit being looked up, when known before the lookup.
    pub commit: Option<String>,
    pub http: &'a Http,
}

/// Every forge is a `Provider` through its part of the lookup (`flow::Forge`) and its
/// `POST_RESULT` (`post::Post`): written once, here.
impl<F: flow::Forge + Post> Provider for F {
    fn kind(&self) -> ProviderKind {
        F::ENTRY
    }
    fn repository(&self) -> Repository {
        self.site().repository
    }
    fn commit(&self) -> Option<String> {
        self.site().commit
    }
    fn capabilities(&self) -> Capabilities {
        F::CAPABILITIES
    }
    fn http(&self) -> Option<&Http> {
        Some(self.site().http)
    }
    async fn lookup(&mut self) -> Result<Lookup> {
        self.find().await
    }
    async fn post_result(&self, verdict: &Verdict) -> Result<()> {
        Post::post(self, verdict).await
    }
}

pub use crate::config::server_commit;
pub use crate::model::same_commit;

/// Parses one answer body the way `Response::json` does (the same `http::parse_json`), without
/// the request: the providers' public `parse_*` functions, which property tests and fuzzing
/// call, go through it so that they exercise the lookup's own deserialization.
pub(crate) fn parse_body<T: serde::de::DeserializeOwned>(what: &str, body: &[u8]) -> Result<T> {
    crate::http::parse_json(what, None, &reqwest::header::HeaderMap::new(), body)
}

/// A Bitbucket forge's public parsers, for property tests and fuzzing, defined once for Cloud
/// and Data Center: `parse_pull_request_page`, `parse_pull_request` and the build-status page
/// parser, named `$statuses`. `$page` is the forge's page type, `$pr` its pull request (with
/// the lookup's own `normalize`). Each parses one answer as the lookup does (`parse_body`, the
/// same normalization), without the request.
macro_rules! bitbucket_parsers {
    ($page:ident, $pr:ty, $statuses:ident) => {
        /// Parses one page of pull requests (the commit's, or the repository's list) into
        /// normalized pull requests without builds. Any answer that is not such a page is an
        /// `Error::Api`; it never panics, whatever the bytes.
        pub fn parse_pull_request_page(body: &[u8]) -> $crate::error::Result<Vec<$crate::model::PullRequest>> {
            let page: $page<$pr> = $crate::provider::parse_body("a page of pull requests", body)?;
            page.values.into_iter().map(|p| p.normalize(&[])).collect()
        }

        /// Parses one pull request into a normalized pull request without builds.
        pub fn parse_pull_request(body: &[u8]) -> $crate::error::Result<$crate::model::PullRequest> {
            $crate::provider::parse_body::<$pr>("a pull request", body)?.normalize(&[])
        }

        /// Parses one page of build statuses into builds.
        pub fn $statuses(body: &[u8]) -> $crate::error::Result<Vec<$crate::model::Build>> {
            use $crate::provider::BitbucketStatus;
            let page: $page<BitbucketStatus> = $crate::provider::parse_body("a page of build statuses", body)?;
            Ok(page.values.iter().map(BitbucketStatus::build).collect())
        }
    };
}
pub(crate) use bitbucket_parsers;

/// What a Bitbucket forge's `flow::Forge` shares, once for Cloud and Data Center: its entry, its
/// types (the listed PR is the one normalized, builds are read per commit) and its ids and
/// heads. Both list each pull request with its id and head commit, so the PR's own answer
/// (`detail`) has the same head as the list.
macro_rules! bitbucket_forge {
    () => {
        const ENTRY: $crate::provider::ProviderKind = &super::ENTRY;
        type Pr = super::api::ApiPr;
        type Detail = super::api::ApiPr;
        type Head = String;
        type Builds = Vec<$crate::provider::BitbucketStatus>;

        fn id(pr: &Self::Pr) -> u64 {
            pr.id
        }

        fn listed_head(pr: &Self::Pr) -> Option<String> {
            pr.head().and_then($crate::provider::server_commit)
        }

        fn head(pr: &Self::Detail) -> Option<String> {
            Self::listed_head(pr)
        }
    };
}
pub(crate) use bitbucket_forge;

/// A Bitbucket pull request's id, title, state and draft flag, read the same way on Cloud and
/// Data Center; `states` are the forge's state words (`PrState::from_forge`).
pub(crate) fn bitbucket_pr(
    forge: &str,
    states: &[(&str, crate::model::PrState)],
    id: u64,
    title: Option<String>,
    state: Option<&str>,
    draft: Option<bool>,
) -> Result<crate::model::PullRequest> {
    let state =
        crate::model::PrState::from_forge(state, states, || format!("{forge} sent pull request #{id} with state"))?;
    let mut pr = crate::model::PullRequest::new(id, title.unwrap_or_default(), state);
    pr.draft = draft;
    Ok(pr)
}

/// `BITBUCKET_REPO_SLUG`, checked the same way on Cloud and Data Center.
pub(crate) fn bitbucket_slug(slug: &str) -> Result<String> {
    crate::config::path_segment(
        "BITBUCKET_REPO_SLUG",
        slug,
        |c| c.is_ascii_alphanumeric() || "-_.".contains(c),
        "use the repository slug: letters, digits, '-', '_' and '.'",
    )
}

/// `BITBUCKET_PR_ID` when it is set, on Cloud and Data Center.
pub(crate) fn bitbucket_pr_id(value: Option<&str>) -> Result<Option<u64>> {
    value.map(|v| crate::config::pr_id("BITBUCKET_PR_ID", v)).transpose()
}

/// A Bitbucket build status, as Cloud (`commitstatus`) and Data Center (build-status API) both
/// send it: the same four members, the same state names.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct BitbucketStatus {
    key: Option<String>,
    name: Option<String>,
    state: Option<String>,
    url: Option<String>,
}

impl BitbucketStatus {
    pub(crate) fn build(&self) -> crate::model::Build {
        crate::model::Build::new(
            self.key.clone().unwrap_or_default(),
            self.name.clone(),
            self.state
                .as_deref()
                .map(crate::model::BuildState::from_bitbucket)
                .unwrap_or(crate::model::BuildState::Stopped),
            self.url.clone(),
        )
    }
}
