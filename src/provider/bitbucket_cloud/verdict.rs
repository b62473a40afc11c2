//! What the branch restrictions (`rules`) say of each pull request: the merge verdict of
//! `REQUIRE=mergeable`, the `auto` thresholds, and at which head each approval was given.
//! Bitbucket Cloud has no "can this merge?" endpoint, so pr-status computes the verdict from the
//! restrictions that apply to the PR's destination branch (docs/rules-bitbucket-cloud.md).
//!
//! After the lookup, at most one more round trip, all at the same time: the default reviewers
//! (`GET .../effective-default-reviewers`, only when their rule applies) and the date of each
//! distinct head commit (`GET .../commit/{hash}`, only when approvals must be fresh).

use futures_util::future::join_all;
use serde::Deserialize;

use super::api::Account;
use super::rules::{refused, Kind, RepoRules};
use super::{BitbucketCloud, FORGE};
use crate::error::{Error, Result};
use crate::model::{BuildState, Freshness, MergeVeto, PrState, PullRequest, ReviewState, Rules};

/// `default_reviewer_and_type` (the field used).
#[derive(Debug, Deserialize)]
struct DefaultReviewer {
    user: Option<Account>,
}

/// `commit` (the fields used).
#[derive(Debug, Deserialize)]
struct Commit {
    date: Option<String>,
}

/// How one rule stands for one PR.
enum Stand {
    Met,
    /// Blocks the merge: `mergeable: false`.
    Fails(String),
    /// Not decided yet (builds still to come): pending.
    Waits(String),
    /// Cannot be known: `mergeable: null`, never a pass.
    Unknown(String),
}

fn rfc3339(text: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339).ok()
}

impl BitbucketCloud {
    /// Fills in the verdict, the rules and the approvals' evidence this run asked for.
    pub(super) async fn judge(&mut self, prs: &mut [PullRequest]) -> Result<()> {
        let rules = self.rules.clone();
        if let Some(rules) = &rules {
            for pr in prs.iter_mut() {
                pr.rules = match pr.destination_branch.as_deref() {
                    Some(dest) => Some(for_branch(rules, dest)?),
                    None => None,
                };
            }
        }
        let dests: Vec<&str> = prs.iter().filter_map(|p| p.destination_branch.as_deref()).collect();
        let want_defaults = self.wants.verdict
            && self.default_reviewers.is_none()
            && match &rules {
                Some(r) => r.any_on(dests, |k| matches!(k, Kind::DefaultApprovals(_)))?,
                None => false,
            };
        let fresh = |pr: &PullRequest| match self.freshness {
            Freshness::Any => false,
            Freshness::Fresh => true,
            Freshness::Auto => pr.rules.as_ref().is_none_or(|r| r.fresh_approvals != Some(false)),
        };
        let mut heads: Vec<String> = Vec::new();
        for pr in prs.iter().filter(|p| fresh(p)) {
            if let Some(h) = &pr.source_commit {
                if !heads.contains(h) {
                    heads.push(h.clone());
                }
            }
        }
        let (defaults, dates) = tokio::join!(
            async {
                match want_defaults {
                    true => self.read_default_reviewers().await.map(Some),
                    false => Ok(None),
                }
            },
            join_all(heads.iter().map(|h| self.head_date(h)))
        );
        if let Some(d) = defaults? {
            self.default_reviewers = Some(d);
        }
        let dates: Vec<(String, Option<String>)> = heads.into_iter().zip(dates.into_iter().collect::<Result<Vec<_>>>()?).collect();
        for pr in prs.iter_mut() {
            if let Some((_, Some(date))) = pr.source_commit.as_ref().and_then(|h| dates.iter().find(|(k, _)| k == h)) {
                evidence(pr, date);
            }
            if self.wants.verdict {
                self.verdict(pr, rules.as_ref())?;
            }
        }
        Ok(())
    }

    /// `REQUIRE=mergeable` for one PR.
    fn verdict(&self, pr: &mut PullRequest, rules: Option<&RepoRules>) -> Result<()> {
        let mut stands: Vec<(String, Stand)> = Vec::new();
        if pr.state != PrState::Open {
            let state = pr.state.as_str();
            stands.push(("not_open".into(), Stand::Fails(format!("the pull request is {state}: only an open pull request can be merged"))));
        }
        match (rules, pr.destination_branch.clone()) {
            (None, _) => stands.push(("branch-restrictions".into(), Stand::Unknown("the branch restrictions were not read".into()))),
            (_, None) => stands.push((
                "destination".into(),
                Stand::Unknown(format!("{FORGE} did not say which branch the pull request targets, so its branch restrictions are unknown")),
            )),
            (Some(rules), Some(dest)) => {
                for r in rules.on(&dest)? {
                    let stand = self.stand(pr, r.kind()?, &dest);
                    stands.push((r.name().to_string(), stand));
                }
            }
        }
        let mut vetoes = Vec::new();
        let (mut fails, mut unknown, mut waits) = (false, false, false);
        for (rule, stand) in stands {
            let message = match stand {
                Stand::Met => continue,
                Stand::Fails(m) => {
                    fails = true;
                    m
                }
                Stand::Waits(m) => {
                    waits = true;
                    m
                }
                Stand::Unknown(m) => {
                    unknown = true;
                    m
                }
            };
            vetoes.push(MergeVeto::new(rule, message));
        }
        pr.mergeable = match (fails, unknown || waits) {
            (true, _) => Some(false),
            (false, true) => None,
            (false, false) => Some(true),
        };
        pr.merge_pending = !fails && !unknown && waits;
        pr.merge_vetoes = vetoes;
        Ok(())
    }

    fn stand(&self, pr: &PullRequest, kind: Kind, dest: &str) -> Stand {
        match kind {
            Kind::Approvals(n) if pr.approvals < n => Stand::Fails(format!(
                "{n} approval(s) are required to merge into {dest}; it has {}",
                pr.approvals
            )),
            Kind::DefaultApprovals(n) => {
                let defaults = self.default_reviewers.as_deref().unwrap_or_default();
                let approvers = self.approvers.lock().map(|m| m.get(&pr.id).cloned()).ok().flatten();
                let Some(approvers) = approvers else {
                    return Stand::Unknown("the approvers' accounts are unknown".into());
                };
                let by_defaults = approvers.iter().filter(|a| defaults.iter().any(|d| d.same(a))).count() as u32;
                if by_defaults < n {
                    Stand::Fails(format!(
                        "{n} approval(s) from default reviewers are required to merge into {dest}; it has {by_defaults}"
                    ))
                } else {
                    Stand::Met
                }
            }
            Kind::Builds(n) => self.builds_stand(pr, n, dest),
            Kind::Tasks => match pr.open_tasks {
                Some(0) => Stand::Met,
                Some(k) => Stand::Fails(format!("all tasks must be completed to merge into {dest}; {k} are open")),
                None => Stand::Unknown(format!("{FORGE} did not send the task count, so open tasks are unknown")),
            },
            Kind::NoChangesRequested if pr.reviews_unknown => {
                Stand::Unknown(format!("{FORGE} did not send the participants, so requested changes are unknown"))
            }
            Kind::NoChangesRequested if pr.changes_requested > 0 => Stand::Fails(format!(
                "no changes may be requested to merge into {dest}; {} reviewer(s) requested changes",
                pr.changes_requested
            )),
            Kind::Unverifiable => Stand::Unknown(format!(
                "this merge check cannot be verified through {FORGE}'s API, so pr-status cannot tell whether it passes"
            )),
            _ => Stand::Met,
        }
    }

    /// `require_passing_builds_to_merge`: Bitbucket wants n successful builds on the head and
    /// none failed or still running. The running pipeline's own status counts as passing (it is
    /// the run judging; `builds-passed` never waits for it either).
    fn builds_stand(&self, pr: &PullRequest, n: u32, dest: &str) -> Stand {
        if pr.builds_unknown {
            return Stand::Unknown(format!("{FORGE} did not send the head commit, so its builds are unknown"));
        }
        let (mut passed, mut running, mut failed) = (0u32, 0u32, Vec::new());
        for b in &pr.builds {
            match b.state {
                _ if self.current_run.is_own(b) => passed += 1,
                BuildState::Successful => passed += 1,
                BuildState::Inprogress => running += 1,
                BuildState::Failed | BuildState::Stopped => failed.push(b.name.clone().unwrap_or_else(|| b.key.clone())),
            }
        }
        if !failed.is_empty() {
            return Stand::Fails(format!(
                "builds must pass to merge into {dest}; not passed: {}",
                failed.join(", ")
            ));
        }
        if running > 0 || passed < n {
            return Stand::Waits(format!(
                "{n} passing build(s) and none running are required to merge into {dest}; {passed} passed, {running} running"
            ));
        }
        Stand::Met
    }

    /// The repository's effective default reviewers (every page).
    async fn read_default_reviewers(&self) -> Result<Vec<Account>> {
        let url = Self::with_query(self.repo_url(&["effective-default-reviewers"]), &[("pagelen", "100")]);
        let list: Vec<DefaultReviewer> = match self.pages(url).await {
            Err(Error::Api { status: Some(404), .. }) => return Err(self.not_found()),
            other => other.map_err(|e| {
                refused(
                    e,
                    "the rule require_default_reviewer_approvals_to_merge makes REQUIRE=mergeable read the default reviewers \
                     (GET .../effective-default-reviewers), which need the scope `pullrequest` (API tokens `read:pullrequest:bitbucket`)",
                )
            })?,
        };
        Ok(list.into_iter().filter_map(|d| d.user).collect())
    }

    /// The date of a head commit, for the approvals' freshness.
    async fn head_date(&self, hash: &str) -> Result<Option<String>> {
        let url = Self::with_query(self.repo_url(&["commit", hash]), &[("fields", "hash,date")]);
        match self.http.get(url).await {
            Ok(resp) => Ok(resp.json::<Commit>()?.date),
            Err(e @ Error::Api { status: Some(404), .. }) => Err(e.explain_404(|| {
                format!(
                    "head commit {} cannot be read, so it is unknown whether its approvals were given after it (FRESH_APPROVALS)",
                    crate::provider::flow::short(hash)
                )
            })),
            Err(e) => Err(refused(
                e,
                "FRESH_APPROVALS reads each head commit's date (GET .../commit/{hash}), which needs the scope `repository` \
                 (API tokens `read:repository:bitbucket`)",
            )),
        }
    }
}

/// The rules for merges into `dest`: the highest value of each kind that applies.
fn for_branch(rules: &RepoRules, dest: &str) -> Result<Rules> {
    let mut out = Rules {
        fresh_approvals: Some(false),
        ..Rules::default()
    };
    for r in rules.on(dest)? {
        match r.kind()? {
            Kind::Approvals(n) => out.min_approvals = Some(out.min_approvals.unwrap_or(0).max(n)),
            Kind::Builds(n) => out.required_build_count = Some(out.required_build_count.unwrap_or(0).max(n)),
            Kind::ResetOnChange => out.fresh_approvals = Some(true),
            _ => {}
        }
    }
    Ok(out)
}

/// Bitbucket Cloud does not say at which head an approval was given: it is inferred from the
/// dates. An approval given (`participated_on`) at or after the head commit's date was given at
/// the head; one before it is stale. Unknown dates leave it unknown, which is never fresh.
fn evidence(pr: &mut PullRequest, head_date: &str) {
    let (Some(head), Some(head_at)) = (pr.source_commit.clone(), rfc3339(head_date)) else {
        return;
    };
    for r in &mut pr.reviewers {
        if r.state != ReviewState::Approved {
            continue;
        }
        match r.approved_at.as_deref().and_then(rfc3339) {
            Some(at) if at >= head_at => *r = r.clone().given_at(Some(&head), Some(&head)),
            Some(_) => {
                r.commit = None;
                r.stale = true;
            }
            None => {}
        }
    }
}
