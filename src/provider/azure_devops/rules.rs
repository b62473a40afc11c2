//! The repository's own merge rules: Azure's branch policies as they apply to one PR (its
//! policy evaluations) are its merge verdict, the minimum-reviewer policy gives the approvals
//! threshold and whether votes reset on push, the blocking build policies the required builds;
//! and at which head each approval was given (the vote updates in the PR's threads, the heads
//! in its iterations). See docs/azure-devops.md.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

use super::api::{people, ApiCommitRef, ApiEvaluation, ApiIdentity, BUILD_POLICY, MIN_REVIEWERS_POLICY};
use super::lookup::{Fetched, PrBuilds};
use super::AzureDevops;
use crate::error::Result;
use crate::model::{MergeVeto, PrState, PullRequest, ReviewState, Rules};
use crate::provider::server_commit;

/// A comment thread of a PR; Azure records each vote as a system thread of type `VoteUpdate`.
#[derive(Debug, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApiThread {
    published_date: Option<String>,
    /// `{"CodeReviewThreadType": {"$type": "System.String", "$value": "VoteUpdate"}, ...}`.
    properties: Option<HashMap<String, Value>>,
    /// The identities the properties refer to by key, on some servers.
    identities: Option<HashMap<String, ApiIdentity>>,
    comments: Option<Vec<ApiComment>>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct ApiComment {
    author: Option<ApiIdentity>,
    published_date: Option<String>,
}

/// One push to a PR: the head it made and when.
#[derive(Debug, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApiIteration {
    created_date: Option<String>,
    source_ref_commit: Option<ApiCommitRef>,
}

impl ApiThread {
    fn property(&self, name: &str) -> Option<String> {
        match self.properties.as_ref()?.get(name)? {
            Value::Object(o) => match o.get("$value")? {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            },
            Value::String(s) => Some(s.clone()),
            _ => None,
        }
    }

    /// A vote update: who voted, what, and when.
    fn vote(&self) -> Option<(String, i64, String)> {
        if self.property("CodeReviewThreadType")? != "VoteUpdate" {
            return None;
        }
        let vote = self.property("CodeReviewVoteResult")?.trim().parse::<i64>().ok()?;
        let first = self.comments.as_ref().and_then(|c| c.first());
        let voter = match self.property("CodeReviewVotedByIdentity") {
            Some(key) => match self.identities.as_ref().and_then(|i| i.get(&key)) {
                Some(identity) => identity.id.clone()?,
                None => key,
            },
            None => first?.author.as_ref()?.id.clone()?,
        };
        let at = self
            .published_date
            .clone()
            .or_else(|| first?.published_date.clone())
            .filter(|t| rfc3339(t).is_some())?;
        Some((voter, vote, at))
    }
}

fn rfc3339(text: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339).ok()
}

/// When `reviewer` last gave an approving vote (10 or 5), from the vote updates.
fn approved_at(threads: &[ApiThread], reviewer: Option<&str>) -> Option<String> {
    let reviewer = reviewer?;
    threads
        .iter()
        .filter_map(ApiThread::vote)
        .filter(|(who, vote, _)| who.eq_ignore_ascii_case(reviewer) && matches!(vote, 10 | 5))
        .filter_map(|(_, _, at)| Some((rfc3339(&at)?, at)))
        .max_by_key(|(t, _)| *t)
        .map(|(_, at)| at)
}

/// The PR's head at `at`: the newest iteration created at or before it.
fn head_at(iterations: &[ApiIteration], at: &str) -> Option<String> {
    let at = rfc3339(at)?;
    iterations
        .iter()
        .filter_map(|i| {
            let created = rfc3339(i.created_date.as_deref()?)?;
            Some((created, i.source_ref_commit.as_ref()?.commit_id.as_deref()?))
        })
        .filter(|(created, _)| *created <= at)
        .max_by_key(|(created, _)| *created)
        .and_then(|(_, head)| server_commit(head))
}

/// The blocking policies that apply, with what each says.
fn applying(evaluations: &[ApiEvaluation]) -> impl Iterator<Item = &ApiEvaluation> {
    evaluations
        .iter()
        .filter(|e| e.is_required() && e.status() != "notapplicable")
}

/// A whole-number setting.
fn count(e: &ApiEvaluation, name: &str) -> Option<u32> {
    e.setting(name).and_then(Value::as_u64).map(|n| n.min(u32::MAX as u64) as u32)
}

fn flag(e: &ApiEvaluation, name: &str) -> bool {
    e.setting(name).and_then(Value::as_bool) == Some(true)
}

/// The repository's rules for the PR, from its policy evaluations.
pub(super) fn rules(evaluations: &[ApiEvaluation]) -> Rules {
    let reviewers: Vec<&ApiEvaluation> = applying(evaluations).filter(|e| e.is_type(MIN_REVIEWERS_POLICY)).collect();
    Rules {
        min_approvals: reviewers.iter().filter_map(|e| count(e, "minimumApproverCount")).max(),
        required_builds: applying(evaluations)
            .filter(|e| e.is_type(BUILD_POLICY))
            .map(ApiEvaluation::build_key)
            .collect(),
        fresh_approvals: Some(
            reviewers
                .iter()
                .any(|e| flag(e, "resetOnSourcePush") || flag(e, "requireVoteOnLastIteration")),
        ),
        ..Rules::default()
    }
}

/// Azure's verdict as (mergeable, vetoes, still being evaluated). `own` says whether a build
/// policy's evaluation is the running build's, which is never waited for.
pub(super) fn verdict(
    pr: &PullRequest,
    merge_status: Option<&str>,
    evaluations: &[ApiEvaluation],
    own: impl Fn(&ApiEvaluation) -> bool,
) -> (Option<bool>, Vec<MergeVeto>, bool) {
    let mut vetoes = Vec::new();
    let mut pending = false;
    if pr.state != PrState::Open {
        vetoes.push(MergeVeto::new(
            "status",
            format!("Azure DevOps: the pull request is {}, not active", pr.state.as_str().to_ascii_lowercase()),
        ));
    }
    if pr.draft == Some(true) {
        vetoes.push(MergeVeto::new("isDraft", "Azure DevOps: the pull request is a draft, which cannot be completed"));
    }
    match merge_status.map(str::to_ascii_lowercase).as_deref() {
        Some("succeeded") => {}
        Some("conflicts") => vetoes.push(MergeVeto::new(
            "mergeStatus",
            "Azure DevOps: the source and target branches conflict (mergeStatus conflicts)",
        )),
        Some("rejectedbypolicy") | Some("failure") => vetoes.push(MergeVeto::new(
            "mergeStatus",
            format!("Azure DevOps: the merge could not be made (mergeStatus {})", merge_status.unwrap_or("")),
        )),
        // queued, notSet or none: the merge is still being worked out.
        _ => pending = true,
    }
    for e in applying(evaluations) {
        let name = e.name();
        match e.status().as_str() {
            "approved" => {}
            "rejected" => vetoes.push(MergeVeto::new(name.clone(), format!("Azure DevOps: the policy \"{name}\" rejected the pull request"))),
            "broken" => vetoes.push(MergeVeto::new(name.clone(), format!("Azure DevOps: the policy \"{name}\" is broken (it failed to evaluate)"))),
            "queued" | "running" if own(e) => {}
            "queued" | "running" => pending = true,
            other => vetoes.push(MergeVeto::new(
                name.clone(),
                format!("Azure DevOps: the policy \"{name}\" has the status {other:?}, which pr-status does not know: it counts as blocking"),
            )),
        }
    }
    match (vetoes.is_empty(), pending) {
        (false, _) => (Some(false), vetoes, false),
        (true, true) => (None, vetoes, true),
        (true, false) => (Some(true), vetoes, false),
    }
}

impl AzureDevops {
    /// Fills in what this run asked for beyond the common lookup: the verdict, the rules and
    /// at which head each approval was given.
    pub(super) fn apply(&self, pr: &mut PullRequest, f: &Fetched, builds: &PrBuilds) -> Result<()> {
        if self.wants.verdict {
            let collection = self.collection.as_str();
            let own = |e: &ApiEvaluation| {
                e.is_type(BUILD_POLICY) && e.build(collection, &self.project).is_some_and(|b| self.current_run.is_own(&b))
            };
            let (mergeable, vetoes, pending) = verdict(pr, f.pr.merge_status.as_deref(), &builds.evaluations, own);
            pr.mergeable = mergeable;
            pr.merge_vetoes = vetoes;
            pr.merge_pending = pending;
        }
        if let (Some(threads), Some(iterations)) = (&f.threads, &f.iterations) {
            let head = pr.source_commit.clone();
            let ids: Vec<Option<String>> = people(&f.pr).map(|r| r.who.id.clone()).collect();
            for (r, id) in pr.reviewers.iter_mut().zip(ids) {
                if r.state != ReviewState::Approved {
                    continue;
                }
                let at = approved_at(threads, id.as_deref());
                let commit = at.as_deref().and_then(|t| head_at(iterations, t));
                *r = r.clone().given_on(at.as_deref()).given_at(commit.as_deref(), head.as_deref());
            }
        }
        if self.wants.rules {
            pr.rules = Some(rules(&builds.evaluations));
        }
        Ok(())
    }
}
