//! `POST_RESULT=true`: the gate's verdict, posted once where each forge shows it on the PR
//! page (docs/post-result.md). This module builds what every forge posts (result, message,
//! approvals, builds, unmet conditions, the link to the CI run) and runs the post; each
//! provider only turns a `Verdict` into its own request (`Provider::post_result`).
//!
//! Rules kept here once:
//! - only a decided gate is posted (pass, fail, pending), never a lookup that failed;
//! - never a Bitbucket build status: a FAILED one would fail the repository's "passing builds"
//!   merge check and block the merge it judges (Bitbucket gets a Code Insights report);
//! - a failed post is one warning line, never the verdict: the exit code stays the gate's;
//! - what is posted is redacted like every other output.

use serde_json::{json, Value};

use crate::config::{Config, Vars};
use crate::credentials::Redactor;
use crate::error::{Error, Result};
pub use crate::gate::is_own_post;
use crate::gate::{Condition, Outcome};
use crate::model::{same_commit, BuildSummary};
use crate::summary::Summary;

/// The report key (Bitbucket), status context (GitHub) and status name (GitLab) pr-status
/// posts under. A build of that key or name is never counted (`is_own_post`).
pub const NAME: &str = crate::gate::POSTED_NAME;
/// The report's title and reporter.
pub const TITLE: &str = "pr-status";
/// Longest message kept in a report's details (Data Center's limit; Cloud states none).
pub const MAX_DETAILS: usize = 2000;

/// The selected pull request's facts that a post shows.
#[derive(Debug, Clone, PartialEq)]
pub struct PrFacts {
    pub id: u64,
    pub url: Option<String>,
    pub source_branch: Option<String>,
    pub approvals: u32,
    /// The builds that count (ignored ones left out), as the summary gives them.
    pub builds: BuildSummary,
}

/// One decided gate, ready to post.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// `Pass`, `Fail` or `Pending`, never `Error`.
    pub outcome: Outcome,
    /// The commit the verdict is posted to: the one the lookup was for.
    pub commit: String,
    /// The gate's message, redacted.
    pub message: String,
    pub pr: Option<PrFacts>,
    /// The selected PR's unmet conditions (`pr` alone when no PR contains the commit).
    pub unmet: Vec<Condition>,
    /// The CI run that decided, when the CI says (http or https, no credentials).
    pub link: Option<String>,
    /// `CI_PIPELINE_ID` when that pipeline runs for `commit` (`CI_COMMIT_SHA`; not in merged
    /// results pipelines): GitLab files the status under the running pipeline, which the gate
    /// never counts, instead of another pipeline of the commit.
    pub gitlab_pipeline_id: Option<String>,
}

impl Verdict {
    /// The verdict of a finished lookup; `None` for an error, and `Err` naming why when the
    /// commit to post to is unknown.
    pub fn of(summary: &Summary, vars: &Vars, redactor: &Redactor) -> Option<std::result::Result<Verdict, String>> {
        if !matches!(summary.outcome, Outcome::Pass | Outcome::Fail | Outcome::Pending) || summary.error.is_some() {
            return None;
        }
        let selected = summary.selected();
        let head = selected.and_then(|e| e.pr.source_commit.clone());
        let commit = match (summary.commit.clone(), head) {
            // The PR's head names the same commit in full: Data Center takes full ids only.
            (Some(c), Some(h)) if same_commit(&c, &h) && h.len() > c.len() => Some(h),
            (Some(c), _) => Some(c),
            (None, h) => h,
        };
        let Some(commit) = commit.and_then(|c| crate::config::server_commit(&c)) else {
            return Some(Err(
                "the commit is unknown (no commit was given and the pull request's head commit was not sent)".into(),
            ));
        };
        let pr = selected.map(|e| PrFacts {
            id: e.pr.id,
            url: e.pr.url.as_deref().and_then(|u| web_link(u, redactor)),
            source_branch: e.pr.source_branch.clone(),
            approvals: e.pr.approvals,
            builds: e.build_summary,
        });
        let unmet = match selected {
            Some(e) => e.unmet.clone(),
            None if summary.require.contains(&Condition::Pr) => vec![Condition::Pr],
            None => Vec::new(),
        };
        Some(Ok(Verdict {
            outcome: summary.outcome,
            message: redactor.redact(&summary.message),
            pr,
            unmet,
            link: run_link(vars).and_then(|u| web_link(&u, redactor)),
            gitlab_pipeline_id: running_pipeline(vars, &commit),
            commit,
        }))
    }

    /// `pass`, `fail` or `pending`.
    pub fn word(&self) -> &'static str {
        self.outcome.as_str()
    }

    /// `pr-status pass: <message>`, at most `max` characters (GitHub takes 140, GitLab 255).
    pub fn description(&self, max: usize) -> String {
        clip(&format!("{} {}: {}", NAME, self.word(), self.message), max)
    }

    /// The counted builds of the selected PR, e.g. `2 successful, 1 failed, 0 in progress, 0 stopped`.
    pub fn builds_text(&self) -> Option<String> {
        self.pr.as_ref().map(|p| {
            let b = p.builds;
            format!(
                "{} successful, {} failed, {} in progress, {} stopped",
                b.successful, b.failed, b.in_progress, b.stopped
            )
        })
    }

    /// The unmet conditions, comma-separated, or `none`.
    pub fn unmet_text(&self) -> String {
        if self.unmet.is_empty() {
            return "none".into();
        }
        self.unmet.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// A Code Insights report's data rows: the gate, the PR (a link when its address is
    /// known), its approvals, its builds and the unmet conditions; at most 5, within Data
    /// Center's 6 and Cloud's 10. `link_text` is the LINK value's text member: `text` on
    /// Cloud, `linktext` on Data Center.
    pub fn data_rows(&self, link_text: &str) -> Vec<Value> {
        let mut rows = vec![json!({"title": "Gate", "type": "TEXT", "value": self.word()})];
        if let Some(p) = &self.pr {
            let label = format!("#{}", p.id);
            rows.push(match &p.url {
                Some(href) => {
                    json!({"title": "Pull request", "type": "LINK", "value": {link_text: label, "href": href}})
                }
                None => json!({"title": "Pull request", "type": "TEXT", "value": label}),
            });
            rows.push(json!({"title": "Approvals", "type": "NUMBER", "value": p.approvals}));
        }
        if let Some(builds) = self.builds_text() {
            rows.push(json!({"title": "Builds", "type": "TEXT", "value": builds}));
        }
        rows.push(json!({"title": "Unmet conditions", "type": "TEXT", "value": self.unmet_text()}));
        rows
    }
}

/// The running GitLab pipeline, when it was started for `commit`.
fn running_pipeline(vars: &Vars, commit: &str) -> Option<String> {
    let sha = vars.get("CI_COMMIT_SHA")?;
    let id = crate::ci::digits(vars, "CI_PIPELINE_ID")?;
    same_commit(sha.trim(), commit).then_some(id)
}

/// The web page of the CI run that decided, from the variables each CI sets: Bitbucket
/// Pipelines, GitHub Actions, GitLab CI, Jenkins (in this order).
pub fn run_link(vars: &Vars) -> Option<String> {
    let get = |n: &str| vars.get(n).map(str::trim).filter(|v| !v.is_empty());
    if let (Some(origin), Some(n)) = (get("BITBUCKET_GIT_HTTP_ORIGIN"), get("BITBUCKET_BUILD_NUMBER")) {
        return Some(format!("{}/pipelines/results/{n}", origin.trim_end_matches('/')));
    }
    if let (Some(server), Some(repo), Some(run)) =
        (get("GITHUB_SERVER_URL"), get("GITHUB_REPOSITORY"), get("GITHUB_RUN_ID"))
    {
        return Some(format!("{}/{repo}/actions/runs/{run}", server.trim_end_matches('/')));
    }
    get("CI_PIPELINE_URL").or_else(|| get("BUILD_URL")).map(String::from)
}

/// `text` as a link a forge accepts and shows: http or https, no user or password in it,
/// nothing the redactor would change. Anything else is left out, not posted.
fn web_link(text: &str, redactor: &Redactor) -> Option<String> {
    let url = reqwest::Url::parse(text.trim()).ok()?;
    let plain = matches!(url.scheme(), "http" | "https") && url.username().is_empty() && url.password().is_none();
    let s = url.to_string();
    (plain && redactor.redact(&s) == s).then_some(s)
}

/// At most `max` characters, the cut marked with `…`.
pub fn clip(text: &str, max: usize) -> String {
    let text = crate::text::folded(text, usize::MAX);
    if text.chars().count() <= max {
        return text;
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A refused post (401, 403, or a 404 that forges send instead of 403) as the warning says
/// it: what was refused and the write permission the post needs (`needs`), instead of the
/// read permissions the lookup's hint names.
pub fn refused(e: Error, needs: &str) -> Error {
    crate::http::rehint(e, &format!("Posting the verdict needs {needs}"))
}

/// The verdict to post once, when `POST_RESULT` is on and the gate decided (the caller hands
/// it to `Provider::post_result`, then to `report`). Whatever happens, the summary and the
/// exit code stay the gate's: a verdict that cannot be posted is one `pr-status: warning:`
/// line on stderr.
pub fn prepare(cfg: &Config, summary: &Summary, redactor: &Redactor) -> Option<Verdict> {
    if !cfg.post_result {
        return None;
    }
    match Verdict::of(summary, &cfg.vars, redactor)? {
        Err(why) => {
            warn(&why, redactor);
            None
        }
        Ok(v) => Some(v),
    }
}

/// What became of a post to the forge `provider`: a debug line, or the warning.
pub fn report(result: Result<()>, verdict: &Verdict, provider: &str, cfg: &Config, redactor: &Redactor) {
    match result {
        Ok(()) => {
            if cfg.http.debug {
                eprintln!(
                    "pr-status: debug: posted the verdict ({}) as {NAME} to {} commit {}",
                    verdict.word(),
                    provider,
                    &verdict.commit[..verdict.commit.len().min(12)]
                );
            }
        }
        Err(e) => warn(&e.to_string(), redactor),
    }
}

fn warn(why: &str, redactor: &Redactor) {
    let line = clip(&redactor.redact(why), 1000);
    eprintln!("pr-status: warning: the verdict was not posted: {line}");
}

/// A forge's `POST_RESULT`: posts the decided verdict once (docs/post-result.md); a refusal
/// names the write permission it needs (`refused`).
#[allow(async_fn_in_trait)]
pub(crate) trait Post {
    async fn post(&self, verdict: &Verdict) -> Result<()>;
}

/// What a provider without a forge (the demo) answers.
pub fn nowhere(kind: &str) -> Result<()> {
    Err(Error::config(format!(
        "{kind} has no forge to post to (POST_RESULT applies to the forges, not to the demo)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Build, BuildState};

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        Vars::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn run_links_of_each_ci() {
        let v = vars(&[
            ("BITBUCKET_GIT_HTTP_ORIGIN", "http://bitbucket.org/acme/widget"),
            ("BITBUCKET_BUILD_NUMBER", "12"),
        ]);
        assert_eq!(
            run_link(&v).as_deref(),
            Some("http://bitbucket.org/acme/widget/pipelines/results/12")
        );
        let v = vars(&[
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "o/r"),
            ("GITHUB_RUN_ID", "77"),
        ]);
        assert_eq!(run_link(&v).as_deref(), Some("https://github.com/o/r/actions/runs/77"));
        let v = vars(&[("CI_PIPELINE_URL", "https://gitlab.com/g/p/-/pipelines/5")]);
        assert_eq!(run_link(&v).as_deref(), Some("https://gitlab.com/g/p/-/pipelines/5"));
        let v = vars(&[("BUILD_URL", "https://ci.example/job/x/9/")]);
        assert_eq!(run_link(&v).as_deref(), Some("https://ci.example/job/x/9/"));
        assert_eq!(run_link(&vars(&[])), None);
    }

    #[test]
    fn links_with_credentials_or_other_schemes_are_left_out() {
        let r = Redactor::default();
        assert!(web_link("https://ci.example/run/1", &r).is_some());
        assert!(web_link("https://user:pw@ci.example/run/1", &r).is_none());
        assert!(web_link("javascript:alert(1)", &r).is_none());
        assert!(web_link("not a url", &r).is_none());
    }

    #[test]
    fn descriptions_are_clipped_to_the_forge_limit() {
        let v = Verdict {
            outcome: Outcome::Fail,
            commit: "0123456789abcdef0123456789abcdef01234567".into(),
            message: "x".repeat(500),
            pr: None,
            unmet: vec![Condition::Approved, Condition::BuildsPassed],
            link: None,
            gitlab_pipeline_id: None,
        };
        let d = v.description(140);
        assert_eq!(d.chars().count(), 140);
        assert!(d.starts_with("pr-status fail: x") && d.ends_with('…'), "{d}");
        assert_eq!(v.unmet_text(), "approved, builds-passed");
        assert_eq!(v.data_rows("text").len(), 2, "gate and unmet only without a PR");
    }

    #[test]
    fn own_posts_are_recognised_by_key_or_name() {
        let b = |k: &str, n: Option<&str>| Build::new(k, n.map(String::from), BuildState::Failed, None);
        assert!(is_own_post(&b("pr-status", None)));
        assert!(is_own_post(&b("x", Some("PR-Status"))));
        assert!(!is_own_post(&b("pr-status-lint", Some("lint"))));
    }

    #[test]
    fn refusals_name_the_write_permission_not_the_read_hint() {
        let e = Error::Auth {
            status: 403,
            message: "GitHub refused POST /repos/o/r/statuses/abc (403 Forbidden: Resource not accessible). the token lacks permission: read stuff".into(),
        };
        let m = refused(e, "`statuses: write`").to_string();
        assert!(
            m.contains("Resource not accessible)") && m.contains("`statuses: write`"),
            "{m}"
        );
        assert!(!m.contains("read stuff"), "{m}");
        let other = refused(Error::api(Some(500), "boom"), "x");
        assert_eq!(other.to_string(), "boom");
    }
}
