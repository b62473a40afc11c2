//! The one lookup flow every forge shares: list the pull requests → drop the ones listed twice
//! → read each PR's own details and the builds of each distinct head, all at the same time →
//! read the builds of heads that moved meanwhile → attach → normalize.
//!
//! The rules that make the gate fail closed live here once, not in four copies:
//! - a pull request listed twice (on two pages, or by a broken proxy) is reported once;
//! - a pull request whose head commit the forge did not send cannot have its builds read:
//!   it is reported with its builds marked unknown, which `builds-passed` never passes;
//! - a head's build list that could not be read (a 404 included, on every forge) is an error,
//!   never an empty list; a build list fetched early that no PR needs is not an error;
//! - at most `http::MAX_IN_FLIGHT` requests are in flight at once (the `Http` client holds
//!   the permits), however many PRs and heads there are;
//! - every build read goes through `http::build_read`, so that a poll of `WAIT_FOR_BUILDS`
//!   that re-reads only the builds (`http::builds_only`) sends these and reuses the rest;
//! - the list pages themselves are cross-checked against the forge's announced totals, and a
//!   page without its list is a malformed answer (`Http::paginate` and each forge's page type).
//!
//! A forge supplies only its requests and its JSON → model mapping (`Forge`).

use std::collections::BTreeSet;

use futures_util::future::join_all;

use crate::error::{Error, Result};
use crate::model::{Capabilities, Lookup, LookupKind, PullRequest};
use crate::provider::{ProviderKind, Site};

/// What a forge's list request found.
pub(crate) struct Listed<F: Forge + ?Sized> {
    pub kind: LookupKind,
    pub prs: Vec<F::Pr>,
    /// Build lists fetched alongside the list (the commit's own, usually the head of every
    /// PR), so they cost no extra round trip. An error here counts only if a PR needs it.
    pub known: Vec<(F::Head, Result<F::Builds>)>,
}

impl<F: Forge + ?Sized> Listed<F> {
    pub fn new(kind: LookupKind, prs: Vec<F::Pr>) -> Self {
        Listed {
            kind,
            prs,
            known: Vec::new(),
        }
    }

    /// The same, with the builds of `head` already fetched.
    pub fn knowing(mut self, head: F::Head, builds: Result<F::Builds>) -> Self {
        self.known.push((head, builds));
        self
    }
}

/// A head whose builds are read: a commit id, or a commit on a branch.
pub(crate) trait SameHead: Clone + std::fmt::Debug {
    /// Whether two heads are the same (abbreviated commit ids match their full form).
    fn same(&self, other: &Self) -> bool;
}

/// A commit id.
impl SameHead for String {
    fn same(&self, other: &Self) -> bool {
        crate::model::same_commit(self, other)
    }
}

/// A forge's part of the lookup: its requests and its JSON mapping, nothing else. Every
/// `Forge` that posts (`post::Post`) is a `Provider` (`provider`'s one implementation).
#[allow(async_fn_in_trait)]
pub(crate) trait Forge {
    /// A pull request as the list sent it.
    type Pr;
    /// A pull request with its own extra answers (reviews, approvals), ready to normalize.
    type Detail;
    /// Where builds are read: a commit, or a commit on a branch.
    type Head: SameHead;
    /// One head's build list as the forge sent it (`Default`: none, for a PR without a head).
    type Builds: Default;

    /// The pull requests that contain the commit (every page), or the CI's own PR.
    async fn list(&self) -> Result<Listed<Self>>;
    fn id(pr: &Self::Pr) -> u64;
    /// The head the list names, when it does (it may be older than the detail's).
    fn listed_head(pr: &Self::Pr) -> Option<Self::Head>;
    /// The PR's own further requests; most forges need none.
    async fn detail(&self, pr: Self::Pr) -> Result<Self::Detail>;
    /// The head whose builds belong to the PR; `None` when the forge did not send it.
    fn head(detail: &Self::Detail) -> Option<Self::Head>;
    /// The build list of one head: a missing or malformed list is an error.
    async fn builds(&self, head: &Self::Head) -> Result<Self::Builds>;
    /// The normalized pull request with its builds.
    fn normalize(&self, detail: Self::Detail, builds: &Self::Builds) -> Result<PullRequest>;

    // What the step knows of the forge besides its lookup (`Provider`).
    /// Its registry entry (`provider::Entry`).
    const ENTRY: ProviderKind;
    /// What it can report at all (`Provider::capabilities`): everything, unless said otherwise.
    const CAPABILITIES: Capabilities = Capabilities::ALL;
    /// The repository and commit as the summary names them, and the HTTP client.
    fn site(&self) -> Site<'_>;

    /// The whole lookup (`Provider::lookup`): this flow, to which a forge may add its
    /// repository rules.
    async fn find(&mut self) -> Result<Lookup>
    where
        Self: Sized,
    {
        lookup(&*self).await
    }
}

/// Heads in `wanted` that are not in `have` yet, each once.
fn missing<F: Forge>(wanted: impl IntoIterator<Item = F::Head>, have: &[(F::Head, Result<F::Builds>)]) -> Vec<F::Head> {
    let mut out: Vec<F::Head> = Vec::new();
    for h in wanted {
        let known = have.iter().any(|(k, _)| k.same(&h)) || out.iter().any(|k| k.same(&h));
        if !known {
            out.push(h);
        }
    }
    out
}

/// Runs the whole lookup for one forge.
pub(crate) async fn lookup<F: Forge>(forge: &F) -> Result<Lookup> {
    let listed = forge.list().await?;
    let kind = listed.kind;
    let mut seen = BTreeSet::new();
    let prs: Vec<F::Pr> = listed.prs.into_iter().filter(|p| seen.insert(F::id(p))).collect();
    let mut builds = listed.known;
    // A poll that re-reads only the builds (`http::builds_only`): the lists fetched alongside
    // the list came from kept answers, so their heads are read again like every other.
    let again: Vec<F::Head> = match crate::http::reading_builds_only() {
        true => builds.drain(..).map(|(h, _)| h).collect(),
        false => Vec::new(),
    };

    let wanted = missing::<F>(again.into_iter().chain(prs.iter().filter_map(F::listed_head)), &builds);
    let (details, fetched) = tokio::join!(
        join_all(prs.into_iter().map(|p| forge.detail(p))),
        join_all(wanted.iter().map(|h| crate::http::build_read(forge.builds(h))))
    );
    builds.extend(wanted.into_iter().zip(fetched));
    // The PRs' own errors first: they say more (a 404 names the PR id variable).
    let details: Vec<F::Detail> = details.into_iter().collect::<Result<_>>()?;

    // A head that moved after the list was read (or that only the detail names).
    let heads: Vec<Option<F::Head>> = details.iter().map(F::head).collect();
    let moved = missing::<F>(heads.iter().flatten().cloned(), &builds);
    let fetched = join_all(moved.iter().map(|h| crate::http::build_read(forge.builds(h)))).await;
    builds.extend(moved.into_iter().zip(fetched));

    let mut pull_requests = Vec::with_capacity(details.len());
    for (detail, head) in details.into_iter().zip(heads) {
        let Some(head) = head else {
            let mut pr = forge.normalize(detail, &F::Builds::default())?;
            pr.builds_unknown = true;
            pull_requests.push(pr);
            continue;
        };
        let at = builds
            .iter()
            .position(|(k, _)| k.same(&head))
            .ok_or_else(|| Error::api(None, format!("no build list was read for head {head:?}")))?;
        match &builds[at].1 {
            Ok(b) => pull_requests.push(forge.normalize(detail, b)?),
            Err(_) => {
                let (_, failed) = builds.swap_remove(at);
                let e = failed.err();
                return Err(e.unwrap_or_else(|| Error::api(None, "a build list could not be read")));
            }
        }
    }
    Ok(Lookup { kind, pull_requests })
}

/// The lookup, with something that does not depend on the list (a forge's repository rules)
/// read at the same time when `beside` is given, so that it costs no extra round trip. The
/// lookup's own error comes first.
pub(crate) async fn lookup_beside<F: Forge, T>(
    forge: &F,
    beside: Option<impl std::future::Future<Output = Result<T>>>,
) -> Result<(Lookup, Option<T>)> {
    match beside {
        Some(read) => {
            let (found, read) = tokio::join!(lookup(forge), read);
            Ok((found?, Some(read?)))
        }
        None => Ok((lookup(forge).await?, None)),
    }
}

/// A build list that could not be read: a 404 says so in the one wording every forge shares
/// (a bare 404 would read as "no such pull request", and is never "no builds"). `what` names
/// the list, for example "the check runs of commit 0123456789ab".
pub(crate) fn builds_unreadable(e: Error, what: &str) -> Error {
    e.explain_404(|| {
        format!("{what} cannot be read, so builds cannot be judged (a 404 is never taken as \"no builds\")")
    })
}

/// A commit id shortened for messages.
pub(crate) fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}
