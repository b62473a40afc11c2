//! Data Center's JSON, only the fields used (unknown fields are ignored), and its mapping to
//! the model.

use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::model::MergeVerdict;
use super::FORGE;
use crate::error::Result;
use crate::model::{PrState, PullRequest, ReviewState, Reviewer};
use crate::provider::{bitbucket_pr, server_commit, BitbucketStatus};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Page<T> {
    /// Required: a page without its list is a malformed answer, never "no pull requests"
    /// or "no builds" (which would pass `builds-passed`).
    pub values: Vec<T>,
    pub is_last_page: Option<bool>,
    pub next_page_start: Option<u64>,
}

#[derive(Debug, Deserialize, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
struct User {
    id: Option<u64>,
    name: Option<String>,
    slug: Option<String>,
    display_name: Option<String>,
}

impl User {
    fn label(&self) -> String {
        [&self.display_name, &self.name, &self.slug]
            .into_iter()
            .flatten()
            .find(|s| !s.trim().is_empty())
            .cloned()
            .unwrap_or_else(|| "unknown".into())
    }

    /// Same account: by numeric id when both have one, else by slug, else by login name.
    fn same(&self, other: &User) -> bool {
        match (self.id, other.id, &self.slug, &other.slug) {
            (Some(a), Some(b), _, _) => a == b,
            (_, _, Some(a), Some(b)) => a == b,
            _ => self.name.is_some() && self.name == other.name,
        }
    }
}

#[derive(Debug, Deserialize)]
struct Participant {
    user: Option<User>,
    /// `APPROVED`, `NEEDS_WORK` or `UNAPPROVED`; servers before 4.2 only sent `approved`.
    status: Option<String>,
    approved: Option<bool>,
    /// The head at which the participant last approved or asked for changes (Data Center
    /// 4.9+); reset to none when the server cannot keep it.
    #[serde(rename = "lastReviewedCommit")]
    last_reviewed_commit: Option<String>,
}

impl Participant {
    fn verdict(&self) -> ReviewState {
        match self.status.as_deref().map(str::to_ascii_uppercase).as_deref() {
            Some("APPROVED") => ReviewState::Approved,
            Some("NEEDS_WORK") => ReviewState::ChangesRequested,
            Some(_) => ReviewState::Pending,
            None if self.approved == Some(true) => ReviewState::Approved,
            None => ReviewState::Pending,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Ref {
    id: Option<String>,
    display_id: Option<String>,
    latest_commit: Option<String>,
}

impl Ref {
    /// `displayId` is the branch name; else the ref id without `refs/heads/`.
    fn branch(&self) -> Option<String> {
        self.display_id.clone().filter(|d| !d.trim().is_empty()).or_else(|| {
            self.id
                .as_deref()
                .map(|id| id.strip_prefix("refs/heads/").unwrap_or(id).to_string())
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Properties {
    open_task_count: Option<u32>,
    comment_count: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct Href {
    href: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Links {
    #[serde(rename = "self")]
    self_: Option<Vec<Href>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApiPr {
    pub(super) id: u64,
    title: Option<String>,
    pub(super) state: Option<String>,
    draft: Option<bool>,
    created_date: Option<i64>,
    updated_date: Option<i64>,
    from_ref: Option<Ref>,
    to_ref: Option<Ref>,
    author: Option<Participant>,
    reviewers: Option<Vec<Participant>>,
    participants: Option<Vec<Participant>>,
    properties: Option<Properties>,
    links: Option<Links>,
    /// The merge verdict read for this PR (`REQUIRE=mergeable`); not part of the answer.
    #[serde(skip)]
    pub(super) verdict: Option<MergeVerdict>,
}

/// Epoch milliseconds as RFC 3339; a value out of range is left out rather than invented.
fn epoch_ms(ms: i64) -> Option<String> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()?
        .format(&Rfc3339)
        .ok()
}

impl ApiPr {
    pub(super) fn head(&self) -> Option<&str> {
        self.from_ref.as_ref()?.latest_commit.as_deref()
    }
}

/// Data Center's pull request states.
const STATES: &[(&str, PrState)] = &[("OPEN", PrState::Open), ("MERGED", PrState::Merged), ("DECLINED", PrState::Declined)];

impl ApiPr {
    /// The normalized pull request with these builds.
    pub(super) fn normalize(self, builds: &[BitbucketStatus]) -> Result<PullRequest> {
        let mut pr = bitbucket_pr(FORGE, STATES, self.id, self.title.clone(), self.state.as_deref(), self.draft)?;
        pr.url = self
            .links
            .as_ref()
            .and_then(|l| l.self_.as_ref())
            .and_then(|v| v.first())
            .and_then(|h| h.href.clone());
        pr.source_branch = self.from_ref.as_ref().and_then(Ref::branch);
        pr.destination_branch = self.to_ref.as_ref().and_then(Ref::branch);
        pr.source_commit = self.head().map(String::from);
        pr.created_on = self.created_date.and_then(epoch_ms);
        pr.updated_on = self.updated_date.and_then(epoch_ms);
        pr.open_tasks = self.properties.as_ref().and_then(|p| p.open_task_count);
        pr.comment_count = self.properties.as_ref().and_then(|p| p.comment_count);
        let author = self.author.and_then(|a| a.user).unwrap_or_default();
        pr.author = (author != User::default()).then(|| author.label());
        // Reviewers with whatever verdict, then other participants who gave one (approved or
        // needs work); the author never counts, and nobody counts twice.
        let mut seen: Vec<User> = Vec::new();
        let mut reviews: Vec<Reviewer> = Vec::new();
        // Neither list sent: no verdict is known.
        pr.reviews_unknown = self.reviewers.is_none() && self.participants.is_none();
        let reviewers = self.reviewers.unwrap_or_default().into_iter().map(|p| (p, true));
        let participants = self.participants.unwrap_or_default().into_iter().map(|p| (p, false));
        for (p, is_reviewer) in reviewers.chain(participants) {
            let state = p.verdict();
            let user = p.user.unwrap_or_default();
            if user.same(&author)
                || seen.iter().any(|u| u.same(&user))
                || (!is_reviewer && state == ReviewState::Pending)
            {
                continue;
            }
            // Data Center says at which head, not when: no time is known.
            let at = p.last_reviewed_commit.as_deref().and_then(server_commit);
            reviews.push(Reviewer::new(user.label(), state).given_at(at.as_deref(), pr.source_commit.as_deref()));
            seen.push(user);
        }
        pr.set_reviews(reviews);
        pr.builds = builds.iter().map(BitbucketStatus::build).collect();
        if let Some(v) = self.verdict {
            v.apply(&mut pr);
        }
        Ok(pr)
    }
}

// ---- The parsers of answers on their own, for property tests and fuzzing. ----
// They run the same deserialization (`Page`, `ApiPr`, `BitbucketStatus`) and normalization as
// the lookup; only the HTTP is missing. Pages of pull requests: `.../commits/{commit}/pull-requests`
// and `.../pull-requests`; one pull request: `.../pull-requests/{id}`; build statuses:
// `/rest/build-status/latest/commits/{commit}`.
crate::provider::bitbucket_parsers!(Page, ApiPr, parse_build_status_page);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_milliseconds_become_rfc3339() {
        assert_eq!(epoch_ms(1_541_687_143_031).as_deref(), Some("2018-11-08T14:25:43.031Z"));
        assert_eq!(epoch_ms(0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(epoch_ms(i64::MAX), None);
    }

    #[test]
    fn branch_falls_back_to_the_ref_id() {
        let r = |display: Option<&str>, id: Option<&str>| Ref {
            id: id.map(String::from),
            display_id: display.map(String::from),
            latest_commit: None,
        };
        assert_eq!(
            r(Some("feature/x"), Some("refs/heads/feature/x")).branch().unwrap(),
            "feature/x"
        );
        assert_eq!(r(None, Some("refs/heads/feature/x")).branch().unwrap(), "feature/x");
        assert_eq!(r(None, Some("refs/tags/v1")).branch().unwrap(), "refs/tags/v1");
        assert_eq!(r(None, None).branch(), None);
    }
}
