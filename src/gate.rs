//! The gate: which `REQUIRE` conditions each pull request meets, whether the step passes,
//! fails or is pending, which PR is "the" PR, and the exit code.

use std::fmt;

use serde::Serialize;
use time::OffsetDateTime;

use crate::ci::CurrentRun;
use crate::error::{Error, Result};
pub use crate::model::Outcome;
use crate::model::{Build, BuildState, BuildSummary, Capabilities, Freshness, PrState, PullRequest};

/// One `REQUIRE` condition (docs/contract.md, "The gate").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Condition {
    /// At least one PR contains the commit.
    Pr,
    Open,
    Merged,
    NotDraft,
    /// At least `MIN_APPROVALS` approvals, the author's own not counted.
    Approved,
    NoChangesRequested,
    NoOpenTasks,
    /// Every build not ignored is SUCCESSFUL; none at all also passes.
    BuildsPassed,
    /// The forge's own merge verdict: no rule of the repository blocks the merge.
    Mergeable,
}

impl Condition {
    pub const ALL: [Condition; 9] = [
        Condition::Pr,
        Condition::Open,
        Condition::Merged,
        Condition::NotDraft,
        Condition::Approved,
        Condition::NoChangesRequested,
        Condition::NoOpenTasks,
        Condition::BuildsPassed,
        Condition::Mergeable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Pr => "pr",
            Condition::Open => "open",
            Condition::Merged => "merged",
            Condition::NotDraft => "not-draft",
            Condition::Approved => "approved",
            Condition::NoChangesRequested => "no-changes-requested",
            Condition::NoOpenTasks => "no-open-tasks",
            Condition::BuildsPassed => "builds-passed",
            Condition::Mergeable => "mergeable",
        }
    }

    /// Parses `REQUIRE`: comma-separated, any case, spaces and empty items ignored, duplicates
    /// dropped.
    pub fn parse_list(text: &str) -> Result<Vec<Condition>> {
        let mut out = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let lower = item.to_ascii_lowercase();
            let Some(c) = Condition::ALL.into_iter().find(|c| c.as_str() == lower) else {
                let names: Vec<_> = Condition::ALL.iter().map(|c| c.as_str()).collect();
                return Err(Error::config(format!(
                    "REQUIRE has an unknown condition {item:?}: use a comma-separated list of {}",
                    names.join(", ")
                )));
            };
            if !out.contains(&c) {
                out.push(c);
            }
        }
        Ok(out)
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Condition {
    /// Whether a forge that reports `caps` can answer this condition. A draft flag or a
    /// verdict the forge leaves out of one answer is judged per pull request (fail closed);
    /// this is about what the forge has no notion of at all.
    pub fn answerable(self, caps: &Capabilities) -> bool {
        match self {
            Condition::NoOpenTasks => caps.tasks,
            _ => true,
        }
    }
}

/// `REQUIRE` conditions the forge `provider` cannot answer, given what it reports: a
/// configuration error (docs/contract.md: `no-open-tasks` on GitHub and GitLab), found before any request.
pub fn refuse_unanswerable(require: &[Condition], caps: &Capabilities, provider: &str) -> Result<()> {
    let refused: Vec<&str> = require
        .iter()
        .filter(|c| !c.answerable(caps))
        .map(|c| c.as_str())
        .collect();
    if refused.is_empty() {
        return Ok(());
    }
    Err(Error::config(format!(
        "REQUIRE has {} which {provider} cannot answer: remove it from REQUIRE",
        refused.join(", ")
    )))
}

/// A pull request with the gate's judgement, as the summaries show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluated {
    #[serde(flatten)]
    pub pr: PullRequest,
    pub build_summary: BuildSummary,
    pub qualifies: bool,
    pub unmet: Vec<Condition>,
}

/// What the gate decided for a whole lookup.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub outcome: Outcome,
    pub message: String,
    pub selected: Option<u64>,
    pub pull_requests: Vec<Evaluated>,
    /// The approvals threshold used (for the selected PR when it came from the rules).
    pub min_approvals: u32,
    pub min_approvals_source: Source,
    /// `REQUIRED_BUILDS` as used, the rules' required builds included (for the selected PR).
    pub required_builds: Vec<String>,
}

/// Where a threshold came from (`min_approvals_source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The variable (`MIN_APPROVALS=2`).
    Setting,
    /// The repository's rules (`MIN_APPROVALS=auto`).
    Rules,
}

/// The gate's settings, as `config::Config` reads them from the environment.
#[derive(Debug, Clone, Default)]
pub struct Gate {
    /// `REQUIRE`.
    pub require: Vec<Condition>,
    /// `MIN_APPROVALS`; `None` for `auto`: each PR's rules (the repository's) say.
    pub min_approvals: Option<u32>,
    /// `FRESH_APPROVALS`.
    pub fresh_approvals: Freshness,
    /// `DESTINATION_BRANCH`.
    pub destination_branch: Option<String>,
    /// `IGNORE_BUILDS`.
    pub ignore_builds: Vec<String>,
    /// `REQUIRED_BUILDS`: keys or names that `builds-passed` needs reported and SUCCESSFUL.
    pub required_builds: Vec<String>,
    /// `REQUIRED_BUILDS` has `auto`: each PR's rules add their required builds.
    pub required_builds_auto: bool,
    /// The CI's own running build, never waited for (`ci::CurrentRun`).
    pub current_run: CurrentRun,
}

/// The name pr-status posts its verdict under (`POST_RESULT`): the Code Insights report key
/// on Bitbucket, the status context on GitHub, the status name on GitLab. A build of that key
/// or name is never counted (`is_own_post`).
pub const POSTED_NAME: &str = "pr-status";

/// Whether `build` is a status pr-status itself posted (GitHub contexts are case-insensitive).
pub fn is_own_post(build: &Build) -> bool {
    build.key.eq_ignore_ascii_case(POSTED_NAME)
        || build
            .name
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case(POSTED_NAME))
}

/// Whether `b` is the build a `REQUIRED_BUILDS` or `IGNORE_BUILDS` entry names (key or name).
fn names(entry: &str, b: &Build) -> bool {
    entry == b.key || b.name.as_deref() == Some(entry)
}

impl Gate {
    /// The conditions `pr` does not meet (`pr` itself is met by being in the list).
    pub fn unmet(&self, pr: &PullRequest) -> Vec<Condition> {
        self.require.iter().copied().filter(|c| !self.meets(pr, *c)).collect()
    }

    fn meets(&self, pr: &PullRequest, c: Condition) -> bool {
        match c {
            Condition::Pr => true,
            Condition::Open => pr.state == PrState::Open,
            Condition::Merged => pr.state == PrState::Merged,
            // A draft flag the server does not report counts as not a draft (docs/contract.md).
            Condition::NotDraft => pr.draft != Some(true),
            // Auto settings whose rules were not read cannot pass.
            Condition::Approved => match (self.min_approvals_for(pr), self.fresh_for(pr)) {
                (Some(min), Some(true)) => pr.fresh_approvals() >= min,
                (Some(min), Some(false)) => pr.approvals >= min,
                _ => false,
            },
            Condition::Mergeable => pr.mergeable == Some(true),
            // Unknown verdicts cannot pass: a missing reviewers list is not "nobody objects".
            Condition::NoChangesRequested => pr.changes_requested == 0 && !pr.reviews_unknown,
            // Unknown tasks cannot pass: the provider check refuses this condition where the
            // forge has no tasks, so `None` here means the server left the count out.
            Condition::NoOpenTasks => pr.open_tasks == Some(0),
            Condition::BuildsPassed => {
                !pr.builds_unknown
                    && self.required_for(pr).is_some()
                    && self.unreported(pr).is_empty()
                    && pr
                        .builds
                        .iter()
                        .filter(|b| !b.ignored)
                        .all(|b| b.state == BuildState::Successful)
            }
        }
    }

    /// The approvals threshold for `pr`: the setting, or its rules' (none set is 0). `None`:
    /// `auto` and the rules were not read.
    pub fn min_approvals_for(&self, pr: &PullRequest) -> Option<u32> {
        self.min_approvals
            .or_else(|| pr.rules.as_ref().map(|r| r.min_approvals.unwrap_or(0)))
    }

    /// Whether only approvals at the current head count for `pr`. `None`: `auto` and the
    /// rules were not read.
    pub fn fresh_for(&self, pr: &PullRequest) -> Option<bool> {
        match self.fresh_approvals {
            Freshness::Any => Some(false),
            Freshness::Fresh => Some(true),
            Freshness::Auto => pr.rules.as_ref().map(|r| r.fresh_approvals.unwrap_or(false)),
        }
    }

    /// The build keys or names `pr` needs reported and successful: `REQUIRED_BUILDS` and, with
    /// `auto`, its rules' required builds. `None`: `auto` and the rules were not read.
    pub fn required_for(&self, pr: &PullRequest) -> Option<Vec<String>> {
        let mut out = self.required_builds.clone();
        if self.required_builds_auto {
            let rules = pr.rules.as_ref()?;
            for r in &rules.required_builds {
                if !out.contains(r) {
                    out.push(r.clone());
                }
            }
        }
        Some(out)
    }

    /// The required builds no counted build of `pr` answers to yet: not reported is not
    /// passed. With `REQUIRED_BUILDS=auto`, a rule asking for a number of passing builds
    /// (Bitbucket Cloud) or for a pipeline (GitLab) that is not met by the builds reported so
    /// far is listed too, as a description.
    pub fn unreported(&self, pr: &PullRequest) -> Vec<String> {
        let Some(required) = self.required_for(pr) else {
            return vec!["the repository's required builds (its rules were not read)".into()];
        };
        let counted: Vec<&Build> = pr.builds.iter().filter(|b| !b.ignored).collect();
        let mut out: Vec<String> = required
            .into_iter()
            .filter(|r| !counted.iter().any(|b| names(r, b)))
            .collect();
        if let (true, Some(rules)) = (self.required_builds_auto, pr.rules.as_ref()) {
            let passed = counted.iter().filter(|b| b.state == BuildState::Successful).count() as u32;
            if let Some(n) = rules.required_build_count.filter(|n| passed < *n) {
                out.push(format!(
                    "{n} passing build(s) (the rules' require_passing_builds_to_merge; {passed} so far)"
                ));
            }
            // The running pipeline itself is a pipeline too (GitLab: the MR's head pipeline
            // when the step runs in it), though it is never waited for.
            let any_pipeline = !counted.is_empty() || pr.builds.iter().any(|b| self.current_run.is_own(b));
            if rules.builds_must_succeed && !any_pipeline {
                out.push("a pipeline (the rules say pipelines must succeed)".into());
            }
        }
        out
    }

    /// Marks the builds that `builds-passed` leaves out: `IGNORE_BUILDS` (key or name), the
    /// running pipeline's own status, and the status pr-status itself posts (`POST_RESULT`,
    /// whether or not it is on in this run): its own verdict is never read back as a build.
    fn mark_ignored(&self, pr: &mut PullRequest) {
        let required = self.required_for(pr).unwrap_or_default();
        for b in &mut pr.builds {
            let listed = self.ignore_builds.iter().any(|i| names(i, b));
            b.ignored = listed || self.current_run.is_own(b) || is_own_post(b);
            b.required = required.iter().any(|r| names(r, b));
        }
    }

    /// Would this PR qualify once its running builds finish successfully and its required
    /// builds that have not reported yet report success?
    /// The forge's own verdict still being computed counts as waiting too.
    fn waits_only_on_builds(&self, e: &Evaluated) -> bool {
        let builds_may_pass = || {
            !e.pr.builds_unknown
                && self.required_for(&e.pr).is_some()
                && e.pr
                    .builds
                    .iter()
                    .filter(|b| !b.ignored)
                    .all(|b| matches!(b.state, BuildState::Successful | BuildState::Inprogress))
        };
        !e.unmet.is_empty()
            && e.unmet.iter().all(|c| match c {
                Condition::BuildsPassed => builds_may_pass(),
                Condition::Mergeable => e.pr.merge_pending,
                _ => false,
            })
    }

    /// Judges every pull request and the lookup as a whole.
    pub fn decide(&self, prs: Vec<PullRequest>, commit: Option<&str>) -> Decision {
        let pull_requests: Vec<Evaluated> = prs
            .into_iter()
            .filter(|pr| match &self.destination_branch {
                Some(branch) => pr.destination_branch.as_deref() == Some(branch.as_str()),
                None => true,
            })
            .map(|mut pr| {
                self.mark_ignored(&mut pr);
                let unmet = self.unmet(&pr);
                let counted: Vec<_> = pr.builds.iter().filter(|b| !b.ignored).cloned().collect();
                Evaluated {
                    build_summary: BuildSummary::of(&counted),
                    qualifies: unmet.is_empty(),
                    unmet,
                    pr,
                }
            })
            .collect();

        let selected = select(&pull_requests);
        let what = match commit {
            Some(c) => format!("commit {}", &c[..c.len().min(12)]),
            None => "the pull request".to_string(),
        };
        let into = self
            .destination_branch
            .as_ref()
            .map(|b| format!(" into {b}"))
            .unwrap_or_default();
        let count = pull_requests.len();
        let (outcome, message) = if self.require.is_empty() {
            (
                Outcome::Pass,
                format!("{count} pull request(s){into} contain {what}; REQUIRE is empty, so the gate passes"),
            )
        } else if let Some(q) = pull_requests.iter().find(|e| e.qualifies) {
            let conds: Vec<_> = self.require.iter().map(|c| c.as_str()).collect();
            // A gate that passes builds-passed on nothing says so: a step run before the CI
            // posted its first status would otherwise read like a green build.
            let none = self.require.contains(&Condition::BuildsPassed) && q.pr.builds.iter().all(|b| b.ignored);
            let note = if none {
                "; no build was reported for its head (set REQUIRED_BUILDS to require one)"
            } else {
                ""
            };
            (
                Outcome::Pass,
                format!("PR #{} meets {}{note}", q.pr.id, conds.join(", ")),
            )
        } else if pull_requests.is_empty() {
            (Outcome::Fail, format!("no pull request{into} contains {what}"))
        } else if let Some(p) = pull_requests.iter().find(|e| self.waits_only_on_builds(e)) {
            let unreported = self.unreported(&p.pr);
            let message = if !p.unmet.contains(&Condition::BuildsPassed) {
                format!(
                    "PR #{} waits on the forge's merge verdict, still being computed",
                    p.pr.id
                )
            } else if unreported.is_empty() {
                format!("PR #{} waits only on running builds", p.pr.id)
            } else {
                format!(
                    "PR #{} waits on required build(s) not reported yet: {}",
                    p.pr.id,
                    unreported.join(", ")
                )
            };
            (Outcome::Pending, message)
        } else {
            let reasons: Vec<String> = pull_requests
                .iter()
                .take(5)
                .map(|e| {
                    let unmet: Vec<_> = e.unmet.iter().map(|c| c.as_str()).collect();
                    let why = if e.pr.builds_unknown && e.unmet.contains(&Condition::BuildsPassed) {
                        " (its head commit was not sent, so its builds are unknown)"
                    } else if e.pr.reviews_unknown && e.unmet.contains(&Condition::NoChangesRequested) {
                        " (the forge sent no reviewer verdicts, so changes requested are unknown)"
                    } else if e.unmet.contains(&Condition::Approved) && self.min_approvals_for(&e.pr).is_none() {
                        " (MIN_APPROVALS=auto but the repository's rules were not read)"
                    } else {
                        ""
                    };
                    let vetoes = if e.unmet.contains(&Condition::Mergeable) {
                        vetoes(&e.pr)
                    } else {
                        String::new()
                    };
                    format!("#{} fails {}{why}{vetoes}", e.pr.id, unmet.join(", "))
                })
                .collect();
            (
                Outcome::Fail,
                format!("no pull request qualifies: {}", reasons.join("; ")),
            )
        };
        let chosen = selected.and_then(|id| pull_requests.iter().find(|e| e.pr.id == id));
        let (min_approvals, min_approvals_source) = match self.min_approvals {
            Some(n) => (n, Source::Setting),
            None => (
                chosen.and_then(|e| self.min_approvals_for(&e.pr)).unwrap_or(0),
                Source::Rules,
            ),
        };
        let required_builds = chosen
            .and_then(|e| self.required_for(&e.pr))
            .unwrap_or_else(|| self.required_builds.clone());
        Decision {
            outcome,
            message,
            selected,
            pull_requests,
            min_approvals,
            min_approvals_source,
            required_builds,
        }
    }
}

/// The forge's vetoes of `pr`, for the gate's message: " (vetoed by rule: message; ...)", or
/// why the verdict is unknown.
fn vetoes(pr: &PullRequest) -> String {
    format!(" ({})", merge_why(pr))
}

/// Why `pr` does not meet `mergeable`, in a few words: the forge's vetoes (rule: message), or
/// why its verdict is unknown.
pub fn merge_why(pr: &PullRequest) -> String {
    if pr.merge_vetoes.is_empty() {
        return match (pr.merge_pending, pr.mergeable) {
            (true, _) => "the forge is still computing its merge verdict".into(),
            (false, Some(false)) => "the forge says it cannot be merged".into(),
            _ => "the forge's merge verdict is unknown".into(),
        };
    }
    let list: Vec<String> = pr
        .merge_vetoes
        .iter()
        .take(5)
        .map(|v| format!("{}: {}", v.rule, v.message))
        .collect();
    format!("vetoed by {}", list.join("; "))
}

/// docs/contract.md: the first that qualifies, else the most recently updated open one, else the most
/// recently updated.
fn select(prs: &[Evaluated]) -> Option<u64> {
    if let Some(q) = prs.iter().find(|e| e.qualifies) {
        return Some(q.pr.id);
    }
    let latest = |open_only: bool| {
        prs.iter()
            .filter(|e| !open_only || e.pr.state == PrState::Open)
            .max_by(|a, b| updated(a).cmp(&updated(b)))
            .map(|e| e.pr.id)
    };
    latest(true).or_else(|| latest(false))
}

fn updated(e: &Evaluated) -> (Option<OffsetDateTime>, Option<&str>) {
    let text = e.pr.updated_on.as_deref();
    let parsed = text.and_then(|t| OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok());
    (parsed, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ReviewState, Reviewer};

    #[test]
    fn conditions_a_forge_cannot_answer_are_refused_by_name() {
        let all = Capabilities::ALL;
        let mut no_tasks = Capabilities::ALL;
        no_tasks.tasks = false;
        let require = Condition::parse_list("open,no-open-tasks,builds-passed").unwrap();
        assert!(refuse_unanswerable(&require, &all, "x").is_ok());
        let err = refuse_unanswerable(&require, &no_tasks, "github").unwrap_err();
        assert_eq!(err.kind(), crate::error::ErrorKind::Config);
        assert_eq!(
            err.to_string(),
            "REQUIRE has no-open-tasks which github cannot answer: remove it from REQUIRE"
        );
        assert!(refuse_unanswerable(&require[..1], &no_tasks, "github").is_ok());
    }

    /// The running Bitbucket Pipelines build number `n`.
    fn pipelines_build(n: u32) -> CurrentRun {
        let vars = crate::env::Vars::from_pairs([("BITBUCKET_BUILD_NUMBER".to_string(), n.to_string())]);
        CurrentRun::new(
            crate::provider::bitbucket_cloud::pipelines_run(&vars)
                .into_iter()
                .collect(),
        )
    }

    fn pr(id: u64, state: PrState) -> PullRequest {
        let mut p = PullRequest::new(id, format!("PR {id}"), state);
        p.destination_branch = Some("main".into());
        p
    }

    fn gate(req: &str) -> Gate {
        Gate {
            require: Condition::parse_list(req).unwrap(),
            min_approvals: Some(1),
            ..Gate::default()
        }
    }

    fn build(key: &str, state: BuildState) -> Build {
        Build::new(key, Some(key.into()), state, None)
    }

    #[test]
    fn each_condition_passes_and_fails() {
        let mut good = pr(1, PrState::Open);
        good.draft = Some(false);
        good.set_reviews([Reviewer::new("a", ReviewState::Approved)]);
        good.open_tasks = Some(0);
        good.builds = vec![build("b", BuildState::Successful)];
        good.mergeable = Some(true);
        for c in Condition::ALL {
            if c == Condition::Merged {
                continue;
            }
            assert!(gate(c.as_str()).unmet(&good).is_empty(), "{c} should pass");
        }
        let mut bad = pr(2, PrState::Merged);
        bad.draft = Some(true);
        bad.set_reviews([Reviewer::new("a", ReviewState::ChangesRequested)]);
        bad.open_tasks = Some(2);
        bad.builds = vec![build("b", BuildState::Failed)];
        bad.mergeable = Some(false);
        for c in Condition::ALL {
            if matches!(c, Condition::Merged | Condition::Pr) {
                assert!(gate(c.as_str()).unmet(&bad).is_empty());
            } else {
                assert_eq!(gate(c.as_str()).unmet(&bad), vec![c], "{c} should fail");
            }
        }
        assert_eq!(gate("merged").unmet(&good), vec![Condition::Merged]);
    }

    #[test]
    fn min_approvals_and_missing_facts() {
        let mut p = pr(1, PrState::Open);
        p.set_reviews([Reviewer::new("a", ReviewState::Approved)]);
        let mut g = gate("approved");
        g.min_approvals = Some(2);
        assert_eq!(g.unmet(&p), vec![Condition::Approved]);
        g.min_approvals = Some(0);
        assert!(g.unmet(&PullRequest::new(3, "t", PrState::Open)).is_empty());
        // draft unknown counts as not a draft; tasks unknown do not pass
        assert!(gate("not-draft").unmet(&p).is_empty());
        assert_eq!(gate("no-open-tasks").unmet(&p), vec![Condition::NoOpenTasks]);
    }

    #[test]
    fn outcomes_and_exit_codes() {
        let g = gate("open,builds-passed");
        let d = g.decide(vec![], Some("abcdef1234567"));
        assert_eq!((d.outcome, d.outcome.exit_code().code()), (Outcome::Fail, 1));
        assert!(d.message.contains("abcdef123456"));
        assert_eq!(gate("").decide(vec![], None).outcome, Outcome::Pass);

        let mut running = pr(5, PrState::Open);
        running.builds = vec![build("a", BuildState::Successful), build("b", BuildState::Inprogress)];
        let d = g.decide(vec![running.clone()], None);
        assert_eq!(
            (d.outcome, d.outcome.exit_code().code(), d.selected),
            (Outcome::Pending, 8, Some(5))
        );

        running.builds.push(build("c", BuildState::Failed));
        assert_eq!(g.decide(vec![running], None).outcome, Outcome::Fail);
    }

    #[test]
    fn own_pipeline_and_ignored_builds_do_not_count() {
        let mut p = pr(1, PrState::Open);
        p.builds = vec![
            Build::new("own", Some("Pipeline #7 for main".into()), BuildState::Inprogress, None),
            build("flaky", BuildState::Failed),
            build("unit", BuildState::Successful),
        ];
        let mut g = gate("builds-passed");
        g.current_run = pipelines_build(7);
        assert_eq!(g.decide(vec![p.clone()], None).outcome, Outcome::Fail);
        g.ignore_builds = vec!["flaky".into()];
        let d = g.decide(vec![p], None);
        assert_eq!(d.outcome, Outcome::Pass);
        assert_eq!(d.pull_requests[0].build_summary.successful, 1);
        assert!(d.pull_requests[0].pr.builds[0].ignored);
    }

    #[test]
    fn its_own_posted_verdict_never_counts() {
        let mut p = pr(1, PrState::Open);
        p.builds = vec![
            build("pr-status", BuildState::Failed),
            Build::new("k-1", Some("pr-status".into()), BuildState::Inprogress, None),
            build("unit", BuildState::Successful),
        ];
        let d = gate("builds-passed").decide(vec![p], None);
        assert_eq!(d.outcome, Outcome::Pass, "{}", d.message);
        let builds = &d.pull_requests[0].pr.builds;
        assert!(builds[0].ignored && builds[1].ignored && !builds[2].ignored);
        assert_eq!(d.pull_requests[0].build_summary.successful, 1);
    }

    #[test]
    fn destination_filter_and_selection() {
        let mut a = pr(1, PrState::Merged);
        a.updated_on = Some("2026-01-02T00:00:00+00:00".into());
        let mut b = pr(2, PrState::Open);
        b.updated_on = Some("2026-01-01T00:00:00+00:00".into());
        let mut c = pr(3, PrState::Open);
        c.updated_on = Some("2026-01-03T00:00:00+00:00".into());
        c.destination_branch = Some("release".into());
        let mut g = gate("merged");
        let d = g.decide(vec![a.clone(), b.clone(), c.clone()], None);
        assert_eq!(d.selected, Some(1), "first qualifying wins");
        g.require = Condition::parse_list("approved").unwrap();
        assert_eq!(
            g.decide(vec![a.clone(), b.clone(), c.clone()], None).selected,
            Some(3),
            "latest open"
        );
        g.destination_branch = Some("main".into());
        let d = g.decide(vec![a, b, c], None);
        assert_eq!(d.pull_requests.len(), 2);
        assert_eq!(d.selected, Some(2));
    }

    #[test]
    fn required_builds_must_report_and_pass() {
        let mut g = gate("builds-passed");
        g.required_builds = vec!["jenkins".into(), "lint".into()];
        let mut p = pr(1, PrState::Open);
        // Nothing reported yet: pending, naming both.
        let d = g.decide(vec![p.clone()], None);
        assert_eq!(d.outcome, Outcome::Pending, "{}", d.message);
        assert!(d.message.contains("jenkins, lint"), "{}", d.message);
        // One by key, one by name; the unrelated build counts as always.
        p.builds = vec![
            build("jenkins", BuildState::Successful),
            Build::new("k-9", Some("lint".into()), BuildState::Successful, None),
        ];
        let d = g.decide(vec![p.clone()], None);
        assert_eq!(d.outcome, Outcome::Pass, "{}", d.message);
        assert!(d.pull_requests[0].pr.builds.iter().all(|b| b.required));
        // A required build that failed fails; one still running is pending.
        p.builds[1].state = BuildState::Failed;
        assert_eq!(g.decide(vec![p.clone()], None).outcome, Outcome::Fail);
        p.builds[1].state = BuildState::Inprogress;
        assert_eq!(g.decide(vec![p.clone()], None).outcome, Outcome::Pending);
        // The running pipeline's own status never stands in for a required build.
        p.builds = vec![
            build("jenkins", BuildState::Successful),
            Build::new(
                "lint",
                Some("Pipeline #7 for main".into()),
                BuildState::Successful,
                None,
            ),
        ];
        g.required_builds = vec!["Pipeline #7 for main".into()];
        g.current_run = pipelines_build(7);
        assert_eq!(g.decide(vec![p], None).outcome, Outcome::Pending);
    }

    #[test]
    fn builds_passed_on_no_build_says_so() {
        let g = gate("builds-passed");
        let d = g.decide(vec![pr(1, PrState::Open)], None);
        assert_eq!(d.outcome, Outcome::Pass);
        assert!(d.message.contains("no build was reported"), "{}", d.message);
        let mut p = pr(2, PrState::Open);
        p.builds = vec![build("unit", BuildState::Successful)];
        assert!(!g.decide(vec![p], None).message.contains("no build"));
    }

    #[test]
    fn require_parsing() {
        assert_eq!(
            Condition::parse_list(" Open, approved,,open ").unwrap(),
            vec![Condition::Open, Condition::Approved]
        );
        let e = Condition::parse_list("open;approved").unwrap_err().to_string();
        assert!(e.contains("REQUIRE") && e.contains("builds-passed"), "{e}");
    }

    #[test]
    fn rules_freshness_and_merge_verdict() {
        use crate::model::{Freshness, MergeVeto, Rules};
        let head = "0123456789abcdef";
        let mut p = pr(1, PrState::Open);
        p.source_commit = Some(head.into());
        p.set_reviews([
            Reviewer::new("a", ReviewState::Approved).given_at(Some(head), Some(head)),
            Reviewer::new("b", ReviewState::Approved).given_at(Some("fedcba9876543210"), Some(head)),
            Reviewer::new("c", ReviewState::Approved),
        ]);
        assert!(p.reviewers[1].stale && !p.reviewers[0].stale && !p.reviewers[2].stale);
        assert_eq!(p.fresh_approvals(), 1, "unknown freshness does not count");
        let mut g = gate("approved");
        g.min_approvals = Some(2);
        assert!(g.unmet(&p).is_empty());
        g.fresh_approvals = Freshness::Fresh;
        assert_eq!(g.unmet(&p), vec![Condition::Approved]);
        // auto without rules read: never met
        g.fresh_approvals = Freshness::Auto;
        assert_eq!(g.unmet(&p), vec![Condition::Approved]);
        g.min_approvals = None;
        p.rules = Some(Rules {
            min_approvals: Some(1),
            fresh_approvals: Some(true),
            ..Rules::default()
        });
        assert!(g.unmet(&p).is_empty());
        p.rules.as_mut().unwrap().min_approvals = Some(3);
        assert_eq!(g.unmet(&p), vec![Condition::Approved]);

        // REQUIRED_BUILDS=auto: names and counts from the rules; nothing reported is pending
        let mut g = gate("builds-passed");
        g.required_builds_auto = true;
        let mut q = pr(2, PrState::Open);
        assert_eq!(g.unmet(&q), vec![Condition::BuildsPassed], "rules not read");
        q.rules = Some(Rules {
            required_builds: vec!["ci".into()],
            required_build_count: Some(2),
            ..Rules::default()
        });
        q.builds = vec![build("ci", BuildState::Successful)];
        assert_eq!(g.unmet(&q), vec![Condition::BuildsPassed]);
        assert_eq!(g.decide(vec![q.clone()], None).outcome, Outcome::Pending);
        q.builds.push(build("lint", BuildState::Successful));
        let d = g.decide(vec![q.clone()], None);
        assert_eq!(d.outcome, Outcome::Pass, "{}", d.message);
        assert_eq!(d.required_builds, vec!["ci".to_string()]);

        // mergeable: true passes, false fails with the veto, computing is pending
        let g = gate("mergeable");
        let mut m = pr(3, PrState::Open);
        assert_eq!(g.decide(vec![m.clone()], None).outcome, Outcome::Fail);
        m.merge_pending = true;
        assert_eq!(g.decide(vec![m.clone()], None).outcome, Outcome::Pending);
        m.merge_pending = false;
        m.mergeable = Some(false);
        m.merge_vetoes = vec![MergeVeto::new("blocked", "2 approvals needed")];
        let d = g.decide(vec![m.clone()], None);
        assert_eq!(d.outcome, Outcome::Fail);
        assert!(d.message.contains("blocked: 2 approvals needed"), "{}", d.message);
        m.mergeable = Some(true);
        m.merge_vetoes.clear();
        assert_eq!(g.decide(vec![m], None).outcome, Outcome::Pass);
    }
}
