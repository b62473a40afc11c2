//! The provider interface: a forge turns "this commit" into normalized pull requests.
//! One file per forge; each translates its own JSON at the edge and nothing else sees it.

pub mod bitbucket_cloud;
pub mod bitbucket_datacenter;
pub(crate) mod flow;
pub mod github;
pub mod gitlab;

use crate::config::ProviderKind;
use crate::error::Result;
use crate::gate::Condition;
use crate::http::Http;
use crate::model::Lookup;
use crate::summary::Repository;

/// A forge's pull-request lookup. Constructing one validates its variables and sends
/// nothing; `lookup` does the network work and may be called again while waiting for builds.
#[allow(async_fn_in_trait)]
pub trait Provider {
    fn kind(&self) -> ProviderKind;
    fn repository(&self) -> Repository;
    /// The commit being looked up, when known before the lookup.
    fn commit(&self) -> Option<String>;
    /// `REQUIRE` conditions this forge cannot answer: refused as a configuration error.
    fn unsupported(&self) -> &'static [Condition] {
        &[]
    }
    /// The HTTP client, for its redactor and request count (none for the demo).
    fn http(&self) -> Option<&Http>;
    async fn lookup(&mut self) -> Result<Lookup>;
    /// `POST_RESULT`: posts the decided verdict to the forge once (docs/post-result.md). A
    /// refusal names the write permission it needs (`post::refused`). The default, for the
    /// demo, posts nothing and says so.
    async fn post_result(&self, _verdict: &crate::post::Verdict) -> Result<()> {
        crate::post::nowhere(self.kind().as_str())
    }
}

/// True when a (possibly abbreviated) commit id names the same commit as another.
pub fn same_commit(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    a.len().min(b.len()) >= 7 && (a.starts_with(&b) || b.starts_with(&a))
}

/// Parses one answer body the way `Response::json` does (the same `http::parse_json`), without
/// the request: the providers' public `parse_*` functions, which property tests and fuzzing
/// call, go through it so that they exercise the lookup's own deserialization.
pub(crate) fn parse_body<T: serde::de::DeserializeOwned>(what: &str, body: &[u8]) -> Result<T> {
    crate::http::parse_json(what, None, &reqwest::header::HeaderMap::new(), body)
}

/// Validates a commit id the server sent before it goes into a URL.
pub fn server_commit(hash: &str) -> Option<String> {
    crate::config::commit("server", hash).ok()
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
