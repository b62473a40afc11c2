//! The repository's own merge rules on GitHub (docs/rules-github.md), read once per distinct
//! destination branch and only when an `auto` setting asks:
//! - `GET /repos/{o}/{r}/rules/branches/{branch}` (every page): the active rulesets' rules,
//!   readable with the workflow's `GITHUB_TOKEN`; `pull_request` gives the approvals and
//!   whether they reset on push, `required_status_checks` the required contexts;
//! - `GET /repos/{o}/{r}/branches/{branch}/protection`: the classic branch protection, which
//!   GitHub shows only to tokens with Administration: read;
//! - `GET /repos/{o}/{r}/branches/{branch}`: whether the branch is protected at all, which
//!   every token may read.
//!
//! The three go out at the same time. A protected branch whose classic protection cannot be
//! read has unknown rules: the `auto` settings then stop with exit 3 naming the permission,
//! never pass (a 403 or 404 there is never "nothing required").

use std::sync::{Arc, Mutex};

use serde::Deserialize;
use tokio::sync::OnceCell;

use super::{Github, PER_PAGE};
use crate::error::{Error, Result};
use crate::model::{AutoSettings, Rules};

/// One rule of `GET .../rules/branches/{branch}`; rule types not used here are skipped.
#[derive(Debug, Deserialize)]
struct ApiRule {
    #[serde(rename = "type")]
    kind: String,
    parameters: Option<RuleParameters>,
}

#[derive(Debug, Default, Deserialize)]
struct RuleParameters {
    required_approving_review_count: Option<u32>,
    dismiss_stale_reviews_on_push: Option<bool>,
    require_last_push_approval: Option<bool>,
    required_status_checks: Option<Vec<StatusCheck>>,
}

#[derive(Debug, Deserialize)]
struct StatusCheck {
    context: String,
}

/// The classic branch protection, only the members used.
#[derive(Debug, Deserialize)]
struct Protection {
    required_pull_request_reviews: Option<ProtectionReviews>,
    required_status_checks: Option<ProtectionChecks>,
}

#[derive(Debug, Deserialize)]
struct ProtectionReviews {
    required_approving_review_count: Option<u32>,
    dismiss_stale_reviews: Option<bool>,
    require_last_push_approval: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct ProtectionChecks {
    contexts: Option<Vec<String>>,
    checks: Option<Vec<StatusCheck>>,
}

#[derive(Debug, Deserialize)]
struct ApiBranch {
    protected: Option<bool>,
}

/// One branch's rules as read: the rulesets' and the classic protection's, combined (the
/// highest approval count, approvals reset if either says so, the union of the checks).
#[derive(Debug, Clone, Default)]
pub(super) struct BranchRules {
    branch: String,
    min_approvals: u32,
    fresh: bool,
    checks: Vec<String>,
    /// The classic protection of a protected branch could not be read (its status).
    unreadable: Option<u16>,
}

impl BranchRules {
    fn add_checks(&mut self, checks: impl IntoIterator<Item = String>) {
        for c in checks {
            if !self.checks.contains(&c) {
                self.checks.push(c);
            }
        }
    }

    fn add_rule(&mut self, rule: ApiRule) {
        let p = rule.parameters.unwrap_or_default();
        match rule.kind.as_str() {
            "pull_request" => {
                self.min_approvals = self.min_approvals.max(p.required_approving_review_count.unwrap_or(0));
                self.fresh |= p.dismiss_stale_reviews_on_push == Some(true) || p.require_last_push_approval == Some(true);
            }
            "required_status_checks" => {
                self.add_checks(p.required_status_checks.unwrap_or_default().into_iter().map(|c| c.context))
            }
            _ => {}
        }
    }

    fn add_protection(&mut self, p: Protection) {
        if let Some(r) = p.required_pull_request_reviews {
            self.min_approvals = self.min_approvals.max(r.required_approving_review_count.unwrap_or(0));
            self.fresh |= r.dismiss_stale_reviews == Some(true) || r.require_last_push_approval == Some(true);
        }
        if let Some(c) = p.required_status_checks {
            self.add_checks(c.contexts.unwrap_or_default());
            self.add_checks(c.checks.unwrap_or_default().into_iter().map(|c| c.context));
        }
    }

    /// The rules the gate uses, or exit 3 when the classic protection of a protected branch
    /// was unreadable: then nothing is known about what it requires.
    pub fn for_needs(&self, needs: AutoSettings) -> Result<Rules> {
        if let Some(status) = self.unreadable {
            return Err(Error::Auth {
                status,
                message: format!(
                    "{}: branch {} is protected, but its branch protection (GET .../branches/{}/protection) answered {status}, \
                     so its required reviews and checks are unknown; that endpoint needs the repository permission \
                     Administration: read (a fine-grained token or a GitHub App; the workflow's GITHUB_TOKEN cannot have it). \
                     Give GITHUB_TOKEN such a token, move the rules to a ruleset, or set the values instead of auto",
                    needs.names(),
                    self.branch,
                    self.branch
                ),
            });
        }
        Ok(Rules {
            min_approvals: Some(self.min_approvals),
            required_builds: self.checks.clone(),
            fresh_approvals: Some(self.fresh),
            ..Rules::default()
        })
    }
}

/// The rules read so far, one cell per destination branch: PRs into the same branch share
/// one read.
#[derive(Debug, Default)]
pub(super) struct RulesCache(Mutex<Vec<(String, Arc<OnceCell<BranchRules>>)>>);

impl RulesCache {
    fn cell(&self, branch: &str) -> Arc<OnceCell<BranchRules>> {
        let mut cells = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, c)) = cells.iter().find(|(b, _)| b == branch) {
            return c.clone();
        }
        let c = Arc::new(OnceCell::new());
        cells.push((branch.to_string(), c.clone()));
        c
    }
}

/// A refusal (401/403) of a rules request says which setting needed it.
fn refused(e: Error, needs: &str) -> Error {
    match e {
        Error::Auth { status, message } => Error::Auth {
            status,
            message: format!("{}; {needs}", message.trim_end_matches('.')),
        },
        other => other,
    }
}

impl Github {
    /// The rules of `branch`, read once per run however many PRs merge into it.
    pub(super) async fn branch_rules(&self, branch: &str) -> Result<BranchRules> {
        let cell = self.rules.cell(branch);
        cell.get_or_try_init(|| self.read_rules(branch)).await.cloned()
    }

    async fn read_rules(&self, branch: &str) -> Result<BranchRules> {
        let mut url = self.repo_url(&["rules", "branches", branch]);
        url.query_pairs_mut().append_pair("per_page", PER_PAGE);
        let (rules, protection, info) = tokio::join!(
            self.pages(url, |p: Vec<ApiRule>| (p, None)),
            self.http.get(self.repo_url(&["branches", branch, "protection"])),
            self.http.get(self.repo_url(&["branches", branch]))
        );
        let names = self.needs.names();
        let rules = rules.map_err(|e| match e {
            e @ Error::Api { status: Some(404), .. } => e.explain_404(|| {
                format!(
                    "the rules of branch {branch} (GET .../rules/branches/{branch}) cannot be read, so {names} cannot be judged \
                     (GitHub Enterprise Server serves them since 3.9): set the values instead of auto"
                )
            }),
            other => refused(
                other,
                &format!("{names} reads the branch's rules (GET .../rules/branches/{branch}), which needs Metadata: read"),
            ),
        })?;
        let mut out = BranchRules {
            branch: branch.to_string(),
            ..BranchRules::default()
        };
        for r in rules {
            out.add_rule(r);
        }
        match protection {
            Ok(resp) => out.add_protection(resp.json()?),
            Err(Error::Auth { status, .. }) | Err(Error::Api { status: Some(status @ 404), .. }) => {
                // Unreadable, or (for an administrator) "Branch not protected": the branch
                // itself says which.
                let branch_info: ApiBranch = match info {
                    Ok(resp) => resp.json()?,
                    Err(e) => {
                        return Err(e.explain_404(|| format!("branch {branch} was not found, so its rules ({names}) cannot be judged")))
                    }
                };
                match branch_info.protected {
                    Some(false) => {}
                    _ => out.unreadable = Some(status),
                }
            }
            Err(e) => return Err(e),
        }
        self.http.debug(&format!("rules of branch {branch}: {out:?}"));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rulesets_and_protection_combine() {
        let mut b = BranchRules::default();
        let rule = |v: serde_json::Value| serde_json::from_value::<ApiRule>(v).unwrap();
        b.add_rule(rule(json!({"type": "pull_request", "parameters": {"required_approving_review_count": 1,
            "dismiss_stale_reviews_on_push": false, "require_last_push_approval": false}})));
        b.add_rule(rule(json!({"type": "required_status_checks", "parameters": {"required_status_checks": [{"context": "ci"}]}})));
        b.add_rule(rule(json!({"type": "deletion"})));
        b.add_protection(
            serde_json::from_value(json!({"required_pull_request_reviews": {"required_approving_review_count": 2,
                "dismiss_stale_reviews": true}, "required_status_checks": {"contexts": ["ci", "lint"]}}))
            .unwrap(),
        );
        let r = b.for_needs(AutoSettings::default()).unwrap();
        assert_eq!(r.min_approvals, Some(2));
        assert_eq!(r.fresh_approvals, Some(true));
        assert_eq!(r.required_builds, ["ci", "lint"]);
        b.unreadable = Some(403);
        assert!(matches!(b.for_needs(AutoSettings::default()), Err(Error::Auth { status: 403, .. })));
    }
}
