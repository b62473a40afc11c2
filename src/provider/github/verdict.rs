//! `REQUIRE=mergeable` on GitHub: the single pull request's `mergeable` and `mergeable_state`
//! (`GET /repos/{owner}/{repo}/pulls/{number}`), read only when the run asks for the verdict
//! (docs/rules-github.md). GitHub computes them in the background: `mergeable: null` (or
//! the state `unknown`) means not computed yet, so the PR is asked for again with the backoff
//! of the commit index (`INDEX_WAIT`), then reported pending, never passed.

use std::time::{Duration, Instant};

use super::api::ApiPr;
use super::Github;
use crate::error::Result;
use crate::model::MergeVerdict;

fn is_open(pr: &ApiPr) -> bool {
    pr.state.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("open"))
}

/// Whether GitHub is still computing the PR's verdict (only open PRs are computed).
pub(super) fn computing(pr: &ApiPr) -> bool {
    is_open(pr) && (pr.mergeable.is_none() || pr.mergeable_state.as_deref() == Some("unknown"))
}

/// The verdict from the single-PR answer. `clean`, `has_hooks` and `unstable` are mergeable
/// (GitHub: "mergeable with non-passing commit status" for `unstable`, the failing checks not
/// being required: `builds-passed` is the condition that holds them); `dirty`, `behind`,
/// `blocked`, `draft` and any state GitHub may add later are vetoes named after the state.
pub(super) fn verdict(pr: &ApiPr) -> MergeVerdict {
    let n = pr.number;
    if !is_open(pr) {
        let state = pr.state.as_deref().unwrap_or("(none)");
        return MergeVerdict::blocked(
            "not open",
            format!("pull request #{n} is {state}: only an open pull request can be merged"),
        );
    }
    if computing(pr) {
        return MergeVerdict {
            pending: true,
            ..MergeVerdict::default()
        };
    }
    let Some(state) = pr.mergeable_state.as_deref() else {
        // A verdict without its state: unknown, which `mergeable` never passes.
        return MergeVerdict::default();
    };
    let message = match state {
        "clean" | "has_hooks" | "unstable" if pr.mergeable == Some(true) => {
            return MergeVerdict {
                mergeable: Some(true),
                ..MergeVerdict::default()
            }
        }
        "clean" | "has_hooks" | "unstable" => {
            format!("GitHub reports pull request #{n} as not mergeable (mergeable: false, mergeable_state: {state})")
        }
        "dirty" => format!(
            "pull request #{n} has merge conflicts with its base branch: resolve them before it can be merged"
        ),
        "behind" => format!(
            "the head branch of pull request #{n} is out of date with its base branch, which the branch's rules require: \
             update the branch"
        ),
        "blocked" => format!(
            "merging pull request #{n} is blocked by the branch's rules: required approving reviews, required status \
             checks or another rule (resolved conversations, signed commits, a merge queue) are not met"
        ),
        "draft" => format!("pull request #{n} is a draft: mark it ready for review before it can be merged"),
        other => format!(
            "GitHub reports mergeable_state {other:?} for pull request #{n}, which pr-status does not know as mergeable"
        ),
    };
    MergeVerdict::blocked(state, message)
}

impl Github {
    /// With `REQUIRE=mergeable`, asks for an open PR again while GitHub is still computing
    /// its verdict, as the commit index's 202 is polled (`INDEX_WAIT`, the retry delay
    /// doubling up to 10 s); when the wait runs out the verdict is pending.
    pub(super) async fn until_computed(&self, mut pr: ApiPr) -> Result<ApiPr> {
        if !self.wants.verdict {
            return Ok(pr);
        }
        let started = Instant::now();
        let wait = self.http.settings().index_wait;
        let mut delay = self.http.settings().retry_delay.max(Duration::from_millis(50));
        while computing(&pr) {
            let elapsed = started.elapsed();
            if elapsed >= wait {
                self.http.debug(&format!(
                    "#{}: mergeable still null after {} s (INDEX_WAIT)",
                    pr.number,
                    wait.as_secs()
                ));
                break;
            }
            let pause = delay.min(wait - elapsed);
            self.http.debug(&format!(
                "#{}: GitHub is computing mergeable; asking again in {} ms",
                pr.number,
                pause.as_millis()
            ));
            tokio::time::sleep(pause).await;
            delay = (delay * 2).min(Duration::from_secs(10));
            pr = self.single_pr(pr.number, "").await?;
        }
        Ok(pr)
    }
}
