//! The repository's own merge rules on Data Center (docs/rules-bitbucket-datacenter.md):
//! - `MIN_APPROVALS=auto` and `FRESH_APPROVALS=auto`: the repository's pull-request settings
//!   (`GET .../settings/pull-requests`: the "Minimum approvals" merge check `requiredApprovers`
//!   and the "Unapprove automatically on new changes" setting `unapproveOnUpdate`);
//! - `REQUIRED_BUILDS=auto`: the required-builds merge checks
//!   (`GET /rest/required-builds/latest/.../conditions`, every page), matched to each PR's
//!   destination branch (`refMatcher`) and source branch (`exemptRefMatcher`).
//!
//! Both need Repository read (REPO_READ) only. They are repository-wide: read once per run,
//! beside the first round trip, and shared by every PR. The merge checks' own hook settings
//! (`.../settings/hooks/...`) would need Repository admin, so they are never read.
//! `REQUIRE=mergeable` is in `verdict`.

use reqwest::Url;
use serde::Deserialize;
use serde_json::Value;

use super::patterns::ref_pattern;
use super::verdict::refused;
use super::{BitbucketDatacenter, FORGE};
use crate::error::{Error, Result};
use crate::model::{AutoSettings, PullRequest, Rules};

const RULES_LIMIT: &str = "100";

/// What a refusal of each rules request means, for the exit-3 message.
const SETTINGS_NEEDS: &str = "MIN_APPROVALS=auto and FRESH_APPROVALS=auto read the repository's pull-request settings \
                              (GET .../settings/pull-requests), which need Repository read (REPO_READ)";
const BUILDS_NEEDS: &str = "REQUIRED_BUILDS=auto reads the repository's required-builds merge checks \
                            (GET /rest/required-builds/latest/.../conditions), which need Repository read (REPO_READ)";
/// The repository's rules as read once per run; each PR takes its part (`for_pr`).
#[derive(Debug, Clone, Default)]
pub(super) struct RepoRules {
    /// The "Minimum approvals" merge check (0: disabled); `None`: not read.
    min_approvals: Option<u32>,
    /// "Unapprove automatically on new changes"; `None`: not read.
    fresh: Option<bool>,
    /// The required-builds merge checks; `None`: not read.
    builds: Option<Vec<BuildCondition>>,
}

/// The repository's pull-request settings, only the members used. Their shapes changed across
/// versions: `requiredApprovers` is a number on older servers and `{count, enabled}` on newer
/// ones (the 9.2 description, with `count` a string), beside `requiredApproversDeprecated` and
/// the merge check's own key; any of them may carry the minimum.
#[derive(Debug, Deserialize)]
struct PrSettings {
    #[serde(rename = "requiredApprovers")]
    required_approvers: Option<Value>,
    #[serde(rename = "requiredApproversDeprecated")]
    required_approvers_deprecated: Option<Value>,
    #[serde(rename = "com.atlassian.bitbucket.server.bundled-hooks.requiredApproversMergeHook")]
    hook: Option<Value>,
    #[serde(rename = "unapproveOnUpdate")]
    unapprove_on_update: Option<Value>,
}

/// A count as Data Center writes it: a number, or a string of digits.
fn count(v: &Value) -> Option<u32> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// One spelling of the minimum approvals: `Ok(None)` when absent or `null`, `Ok(Some(0))` when
/// the check is disabled, an error for any shape not known (never read as "no minimum").
fn min_of(name: &str, v: &Option<Value>) -> Result<Option<u32>> {
    let bad = || {
        Error::api(
            None,
            format!(
                "{FORGE} sent pull-request settings whose {name} is {} (expected a number, or {{\"enabled\", \"count\"}}), \
                 so MIN_APPROVALS=auto cannot know the minimum approvals: set MIN_APPROVALS to a number",
                crate::text::folded(&v.as_ref().map(Value::to_string).unwrap_or_default(), 80)
            ),
        )
    };
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => {
            let enabled = match o.get("enabled") {
                Some(Value::Bool(b)) => *b,
                None | Some(Value::Null) => true,
                _ => return Err(bad()),
            };
            if !enabled {
                return Ok(Some(0));
            }
            o.get("count").and_then(count).map(Some).ok_or_else(bad)
        }
        Some(other) => count(other).map(Some).ok_or_else(bad),
    }
}

/// A boolean as Data Center writes it: a JSON boolean, or the strings "true"/"false".
fn flag(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

impl PrSettings {
    fn min_approvals(&self) -> Result<u32> {
        let all = [
            min_of("requiredApprovers", &self.required_approvers)?,
            min_of("requiredApproversDeprecated", &self.required_approvers_deprecated)?,
            min_of(
                "com.atlassian.bitbucket.server.bundled-hooks.requiredApproversMergeHook",
                &self.hook,
            )?,
        ];
        all.into_iter().flatten().max().ok_or_else(|| {
            Error::api(
                None,
                format!(
                    "{FORGE} sent pull-request settings without requiredApprovers, so MIN_APPROVALS=auto cannot know \
                     the minimum approvals: set MIN_APPROVALS to a number"
                ),
            )
        })
    }

    fn fresh(&self) -> Result<bool> {
        match &self.unapprove_on_update {
            Some(v) => flag(v).ok_or_else(|| {
                Error::api(
                    None,
                    format!(
                        "{FORGE} sent pull-request settings whose unapproveOnUpdate is {}, not true or false: \
                         set FRESH_APPROVALS to true or false",
                        crate::text::folded(&v.to_string(), 80)
                    ),
                )
            }),
            None => Err(Error::api(
                None,
                format!(
                    "{FORGE} sent pull-request settings without unapproveOnUpdate (\"Unapprove automatically on new changes\"), \
                     so FRESH_APPROVALS=auto cannot know whether approvals reset on push: set FRESH_APPROVALS to true or false"
                ),
            )),
        }
    }
}

/// `RestRequiredBuildCondition`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BuildCondition {
    id: Option<i64>,
    build_parent_keys: Option<Vec<String>>,
    ref_matcher: Option<RefMatcher>,
    exempt_ref_matcher: Option<RefMatcher>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RefMatcher {
    id: Option<String>,
    display_id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<MatcherType>,
}

#[derive(Debug, Clone, Deserialize)]
struct MatcherType {
    id: Option<String>,
}

impl RefMatcher {
    fn kind(&self) -> String {
        self.kind
            .as_ref()
            .and_then(|k| k.id.clone())
            .unwrap_or_default()
            .to_ascii_uppercase()
    }

    fn describe(&self) -> String {
        let what = self.display_id.as_deref().or(self.id.as_deref()).unwrap_or("?");
        format!("{} {what}", self.kind())
    }

    /// Whether the matcher takes `branch`; `None` when pr-status cannot tell (the branching
    /// model's categories and branches, which the 9.2 API description does not let it read).
    fn matches(&self, branch: &str) -> Option<bool> {
        let full = format!("refs/heads/{branch}");
        let id = self.id.as_deref().unwrap_or("");
        match self.kind().as_str() {
            "ANY_REF" => Some(true),
            "BRANCH" => Some(id == full || id == branch || self.display_id.as_deref() == Some(branch)),
            "PATTERN" => {
                let pattern = if id.is_empty() { self.display_id.as_deref()? } else { id };
                Some(ref_pattern(pattern, &full))
            }
            _ => None,
        }
    }
}

/// A matcher pr-status cannot evaluate: a configuration error naming the variable, since the
/// required builds would otherwise be guessed.
fn cannot_match(c: &BuildCondition, m: &RefMatcher) -> Error {
    Error::config(format!(
        "REQUIRED_BUILDS=auto: the required-builds merge check{} matches branches by {}, which pr-status cannot \
         evaluate (only ANY_REF, BRANCH and PATTERN): list the required builds in REQUIRED_BUILDS instead of auto",
        c.id.map(|i| format!(" #{i}")).unwrap_or_default(),
        m.describe()
    ))
}

impl BuildCondition {
    /// Whether the check applies to a PR from `source` into `destination`.
    fn applies(&self, destination: &str, source: Option<&str>) -> Result<bool> {
        let Some(m) = &self.ref_matcher else {
            return Err(Error::api(
                None,
                format!(
                    "{FORGE} sent a required-builds merge check{} without its refMatcher, so REQUIRED_BUILDS=auto cannot \
                     tell which branches it guards: list the required builds in REQUIRED_BUILDS",
                    self.id.map(|i| format!(" #{i}")).unwrap_or_default()
                ),
            ));
        };
        if !m.matches(destination).ok_or_else(|| cannot_match(self, m))? {
            return Ok(false);
        }
        let exempt = match (&self.exempt_ref_matcher, source) {
            // An exemption that names nothing exempts nothing.
            (Some(x), Some(src)) if x.id.is_some() || x.display_id.is_some() => {
                x.matches(src).ok_or_else(|| cannot_match(self, x))?
            }
            // No source branch known: not exempt (fail closed: its builds stay required).
            _ => false,
        };
        Ok(!exempt)
    }
}

impl RepoRules {
    /// The rules for one PR. `Ok(None)` when they depend on a destination branch the PR does
    /// not name: the gate then never passes the auto settings.
    pub fn for_pr(&self, pr: &PullRequest) -> Result<Option<Rules>> {
        let mut rules = Rules {
            min_approvals: self.min_approvals,
            fresh_approvals: self.fresh,
            ..Rules::default()
        };
        if let Some(conditions) = &self.builds {
            let Some(dest) = pr.destination_branch.as_deref() else {
                return Ok(None);
            };
            for c in conditions {
                if c.applies(dest, pr.source_branch.as_deref())? {
                    for key in c.build_parent_keys.iter().flatten() {
                        if !rules.required_builds.contains(key) {
                            rules.required_builds.push(key.clone());
                        }
                    }
                }
            }
        }
        Ok(Some(rules))
    }
}

impl BitbucketDatacenter {
    /// The repository's rules this run needs, each read once (both at the same time).
    pub(super) async fn read_rules(&self, needs: AutoSettings) -> Result<RepoRules> {
        let settings = async {
            if !needs.approvals() {
                return Ok(None);
            }
            let url = self.repo_url(&["settings", "pull-requests"]);
            match self.http.get(url).await {
                Ok(resp) => resp.json::<PrSettings>().map(Some),
                Err(e @ Error::Api { status: Some(404), .. }) => Err(self.repo_not_found(e, "its pull-request settings")),
                Err(e) => Err(refused(e, SETTINGS_NEEDS)),
            }
        };
        let builds = async {
            if !needs.builds {
                return Ok(None);
            }
            match self.pages::<BuildCondition>(self.conditions_url(), RULES_LIMIT).await {
                Ok(v) => Ok(Some(v)),
                Err(e @ Error::Api { status: Some(404), .. }) => Err(e.explain_404(|| {
                    "the required-builds merge checks cannot be read (Data Center serves them since 7.14), \
                     so REQUIRED_BUILDS=auto cannot know which builds are required: list them in REQUIRED_BUILDS"
                        .into()
                })),
                Err(e) => Err(refused(e, BUILDS_NEEDS)),
            }
        };
        let (settings, builds) = tokio::join!(settings, builds);
        let (settings, builds) = (settings?, builds?);
        let mut rules = RepoRules {
            builds,
            ..RepoRules::default()
        };
        if let Some(s) = settings {
            if needs.min_approvals {
                rules.min_approvals = Some(s.min_approvals()?);
            }
            if needs.fresh {
                rules.fresh = Some(s.fresh()?);
            }
        }
        Ok(rules)
    }

    /// `{base}/rest/required-builds/latest/projects/{key}/repos/{slug}/conditions`
    fn conditions_url(&self) -> Url {
        self.http.url(&[
            "rest",
            "required-builds",
            "latest",
            "projects",
            &self.project,
            "repos",
            &self.slug,
            "conditions",
        ])
    }

    fn repo_not_found(&self, e: Error, what: &str) -> Error {
        e.explain_404(|| {
            format!(
                "{what} cannot be read; check BITBUCKET_PROJECT_KEY={} and BITBUCKET_REPO_SLUG={}",
                self.project, self.slug
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimum_approvals_in_every_shape() {
        let s = |v: Value| serde_json::from_value::<PrSettings>(v).unwrap().min_approvals();
        assert_eq!(s(serde_json::json!({"requiredApprovers": 2})).unwrap(), 2);
        assert_eq!(
            s(serde_json::json!({"requiredApprovers": {"enabled": true, "count": "3"}})).unwrap(),
            3
        );
        assert_eq!(
            s(serde_json::json!({"requiredApprovers": {"enabled": false, "count": "3"}})).unwrap(),
            0
        );
        assert_eq!(
            s(serde_json::json!({"requiredApprovers": {"enabled": true, "count": "1"}, "requiredApproversDeprecated": 2}))
                .unwrap(),
            2
        );
        assert!(s(serde_json::json!({})).is_err(), "absent is not 'no minimum'");
        assert!(s(serde_json::json!({"requiredApprovers": {"enabled": true}})).is_err());
        assert!(s(serde_json::json!({"requiredApprovers": "two"})).is_err());
    }
}
