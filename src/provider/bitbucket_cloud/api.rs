//! Bitbucket Cloud's JSON, only the fields used (unknown fields are ignored), and its mapping
//! onto the model.

use serde::Deserialize;

use super::FORGE;
use crate::error::Result;
use crate::model::{PrState, PullRequest, ReviewState, Reviewer};
use crate::provider::{bitbucket_pr, BitbucketStatus};

/// The PR fields the summary needs; `values.` is prefixed for list answers.
pub(super) const PR_FIELDS: [&str; 24] = [
    "id",
    "title",
    "state",
    "draft",
    "links.html.href",
    "author.display_name",
    "author.nickname",
    "author.uuid",
    "author.account_id",
    "source.branch.name",
    "source.commit.hash",
    "destination.branch.name",
    "created_on",
    "updated_on",
    "participants.user.display_name",
    "participants.user.nickname",
    "participants.user.uuid",
    "participants.user.account_id",
    "participants.role",
    "participants.approved",
    "participants.state",
    "participants.participated_on",
    "task_count",
    "comment_count",
];

#[derive(Debug, Deserialize)]
pub(super) struct Page<T> {
    /// Required: an answer without its list is not "no pull requests" (which would close the
    /// gate on garbage) but a malformed answer.
    pub(super) values: Vec<T>,
    pub(super) next: Option<String>,
    /// The whole list's length, when Bitbucket counts it.
    pub(super) size: Option<u64>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub(super) struct Account {
    display_name: Option<String>,
    nickname: Option<String>,
    uuid: Option<String>,
    account_id: Option<String>,
}

impl Account {
    fn name(&self) -> String {
        self.display_name
            .clone()
            .or_else(|| self.nickname.clone())
            .or_else(|| self.account_id.clone())
            .or_else(|| self.uuid.clone())
            .unwrap_or_else(|| "unknown".into())
    }

    pub(super) fn same(&self, other: &Account) -> bool {
        match (&self.uuid, &other.uuid, &self.account_id, &other.account_id) {
            (Some(a), Some(b), _, _) => a == b,
            (_, _, Some(a), Some(b)) => a == b,
            _ => self.display_name.is_some() && self.display_name == other.display_name,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct Named {
    pub(super) name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Hash {
    hash: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Endpoint {
    branch: Option<Named>,
    commit: Option<Hash>,
}

#[derive(Debug, Deserialize)]
struct Href {
    href: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Links {
    html: Option<Href>,
}

#[derive(Debug, Deserialize)]
struct Participant {
    user: Option<Account>,
    role: Option<String>,
    approved: Option<bool>,
    state: Option<String>,
    /// When an approver approved (for others: when they last commented).
    participated_on: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ApiPr {
    pub(super) id: u64,
    title: Option<String>,
    state: Option<String>,
    draft: Option<bool>,
    links: Option<Links>,
    author: Option<Account>,
    source: Option<Endpoint>,
    destination: Option<Endpoint>,
    created_on: Option<String>,
    updated_on: Option<String>,
    participants: Option<Vec<Participant>>,
    task_count: Option<u32>,
    comment_count: Option<u32>,
}

impl Participant {
    fn verdict(&self) -> ReviewState {
        match (self.state.as_deref(), self.approved) {
            (Some("approved"), _) | (None, Some(true)) => ReviewState::Approved,
            (Some("changes_requested"), _) => ReviewState::ChangesRequested,
            (_, Some(true)) => ReviewState::Approved,
            _ => ReviewState::Pending,
        }
    }
}

impl ApiPr {
    /// The accounts that approved, the author left out (for the default reviewers' rule).
    pub(super) fn approvers(&self) -> Vec<Account> {
        let author = self.author.clone().unwrap_or_default();
        self.participants
            .iter()
            .flatten()
            .filter(|p| p.verdict() == ReviewState::Approved)
            .filter_map(|p| p.user.clone())
            .filter(|u| !u.same(&author))
            .collect()
    }

    pub(super) fn head(&self) -> Option<&str> {
        self.source.as_ref()?.commit.as_ref()?.hash.as_deref()
    }
}

/// Cloud's pull request states.
const STATES: &[(&str, PrState)] = &[
    ("OPEN", PrState::Open),
    ("MERGED", PrState::Merged),
    ("DECLINED", PrState::Declined),
    ("SUPERSEDED", PrState::Superseded),
];

impl ApiPr {
    /// The normalized pull request with these builds.
    pub(super) fn normalize(self, statuses: &[BitbucketStatus]) -> Result<PullRequest> {
        let mut pr = bitbucket_pr(FORGE, STATES, self.id, self.title.clone(), self.state.as_deref(), self.draft)?;
        pr.url = self
            .links
            .as_ref()
            .and_then(|l| l.html.as_ref())
            .and_then(|h| h.href.clone());
        pr.author = self.author.as_ref().map(Account::name);
        pr.source_branch = self
            .source
            .as_ref()
            .and_then(|e| e.branch.as_ref())
            .and_then(|b| b.name.clone());
        pr.destination_branch = self
            .destination
            .as_ref()
            .and_then(|e| e.branch.as_ref())
            .and_then(|b| b.name.clone());
        pr.source_commit = self.head().map(String::from);
        pr.created_on = self.created_on.clone();
        pr.updated_on = self.updated_on.clone();
        pr.open_tasks = self.task_count;
        pr.comment_count = self.comment_count;
        let author = self.author.unwrap_or_default();
        // Without the participants list no verdict is known (the `fields=` list asks for it).
        pr.reviews_unknown = self.participants.is_none();
        let reviews = self.participants.unwrap_or_default().into_iter().filter_map(|p| {
            let state = p.verdict();
            let user = p.user.unwrap_or_default();
            if user.same(&author) {
                return None;
            }
            // A participant who only commented is not a reviewer.
            let reviewer = p.role.as_deref() == Some("REVIEWER");
            // For an approver `participated_on` is the approval's time (the evidence).
            let at = p.participated_on.as_deref().filter(|_| state == ReviewState::Approved);
            (reviewer || state != ReviewState::Pending).then(|| Reviewer::new(user.name(), state).given_on(at))
        });
        pr.set_reviews(reviews.collect::<Vec<_>>());
        pr.builds = statuses.iter().map(BitbucketStatus::build).collect();
        Ok(pr)
    }
}

// ---- The parsers of answers on their own, for property tests and fuzzing. ----
// They run the same deserialization (`Page`, `ApiPr`, `BitbucketStatus`) and normalization as
// the lookup; only the HTTP is missing. Pages of pull requests: `/commit/{commit}/pullrequests`
// and `/pullrequests?q=...`; one pull request: `/pullrequests/{id}`; build statuses:
// `/commit/{commit}/statuses`.
crate::provider::bitbucket_parsers!(Page, ApiPr, parse_status_page);
