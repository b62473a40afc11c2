//! The repository's own merge rules on Data Center (docs/rules-bitbucket-datacenter.md):
//! - `REQUIRE=mergeable`: `GET .../pull-requests/{id}/merge`, Data Center's own verdict
//!   (`canMerge`, `conflicted`, `outcome`, `vetoes`), one per open PR, beside the other per-PR
//!   reads;
//! - `MIN_APPROVALS=auto` and `FRESH_APPROVALS=auto`: the repository's pull-request settings
//!   (`GET .../settings/pull-requests`: the "Minimum approvals" merge check `requiredApprovers`
//!   and the "Unapprove automatically on new changes" setting `unapproveOnUpdate`);
//! - `REQUIRED_BUILDS=auto`: the required-builds merge checks
//!   (`GET /rest/required-builds/latest/.../conditions`, every page), matched to each PR's
//!   destination branch (`refMatcher`) and source branch (`exemptRefMatcher`).
//!
//! All of them need Repository read (REPO_READ) only. The settings and the checks are
//! repository-wide: they are read once per run, beside the first round trip, and shared by
//! every PR. The merge checks' own hook settings (`.../settings/hooks/...`) would need
//! Repository admin, so they are never read.

use reqwest::Url;
use serde::Deserialize;
use serde_json::Value;

use super::{BitbucketDatacenter, FORGE};
use crate::error::{Error, Result};
use crate::model::{MergeVeto, PullRequest, Rules};

const RULES_LIMIT: &str = "100";

/// Which of the rules this run needs (each from its own setting).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Needs {
    /// `MIN_APPROVALS=auto`.
    pub min_approvals: bool,
    /// `FRESH_APPROVALS=auto`.
    pub fresh: bool,
    /// `REQUIRED_BUILDS=auto`.
    pub builds: bool,
}

impl Needs {
    pub fn any(self) -> bool {
        self.min_approvals || self.fresh || self.builds
    }

    fn settings(self) -> bool {
        self.min_approvals || self.fresh
    }
}

/// What a refusal of each rules request means, for the exit-3 message.
const MERGE_NEEDS: &str =
    "REQUIRE=mergeable reads each pull request's merge verdict (GET .../pull-requests/{id}/merge), \
                           which needs Repository read (REPO_READ): `mergeable` needs it";
const SETTINGS_NEEDS: &str = "MIN_APPROVALS=auto and FRESH_APPROVALS=auto read the repository's pull-request settings \
                              (GET .../settings/pull-requests), which need Repository read (REPO_READ)";
const BUILDS_NEEDS: &str = "REQUIRED_BUILDS=auto reads the repository's required-builds merge checks \
                            (GET /rest/required-builds/latest/.../conditions), which need Repository read (REPO_READ)";

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

// ---- REQUIRE=mergeable ----

/// Data Center's verdict on one PR, as the PR is normalized with it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct MergeVerdict {
    pub mergeable: Option<bool>,
    pub vetoes: Vec<MergeVeto>,
    /// `outcome: UNKNOWN` and nothing else known: the server has not finished computing.
    pub pending: bool,
}

impl MergeVerdict {
    pub fn apply(self, pr: &mut PullRequest) {
        pr.mergeable = self.mergeable;
        pr.merge_vetoes = self.vetoes;
        pr.merge_pending = self.pending;
    }

    /// A PR that is not open: Data Center only judges open PRs (409), so none is asked for.
    fn not_open(id: u64, state: &str) -> MergeVerdict {
        MergeVerdict {
            mergeable: Some(false),
            vetoes: vec![MergeVeto::new(
                "not open",
                format!("pull request #{id} is {state}: only an open pull request can be merged"),
            )],
            pending: false,
        }
    }
}

/// `RestPullRequestMergeability`; `canMerge` is what real servers send beside the described
/// members.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Mergeability {
    can_merge: Option<bool>,
    conflicted: Option<bool>,
    outcome: Option<String>,
    vetoes: Option<Vec<Veto>>,
}

/// `RestRepositoryHookVeto`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Veto {
    summary_message: Option<String>,
    detailed_message: Option<String>,
}

fn text(s: &Option<String>) -> Option<String> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(String::from)
}

impl Mergeability {
    /// Any veto or conflict blocks, whatever `canMerge` says; only `canMerge: true` passes.
    fn verdict(self) -> MergeVerdict {
        let mut vetoes: Vec<MergeVeto> = self
            .vetoes
            .unwrap_or_default()
            .iter()
            .map(|v| {
                let rule = text(&v.summary_message).unwrap_or_else(|| "merge check".into());
                let message = text(&v.detailed_message).unwrap_or_else(|| rule.clone());
                MergeVeto::new(rule, message)
            })
            .collect();
        let outcome = self.outcome.as_deref().map(str::to_ascii_uppercase);
        if self.conflicted == Some(true) || outcome.as_deref() == Some("CONFLICTED") {
            vetoes.push(MergeVeto::new(
                "conflicted",
                "the pull request has conflicts that must be resolved before it can be merged",
            ));
        }
        if !vetoes.is_empty() {
            return MergeVerdict {
                mergeable: Some(false),
                vetoes,
                pending: false,
            };
        }
        match (self.can_merge, outcome.as_deref()) {
            (Some(true), _) => MergeVerdict {
                mergeable: Some(true),
                ..MergeVerdict::default()
            },
            // Not computed yet: pending, never a pass or a failure.
            (_, Some("UNKNOWN")) => MergeVerdict {
                pending: true,
                ..MergeVerdict::default()
            },
            (Some(false), _) => MergeVerdict {
                mergeable: Some(false),
                ..MergeVerdict::default()
            },
            // No verdict at all: unknown, which `mergeable` never passes.
            (None, _) => MergeVerdict::default(),
        }
    }
}

impl BitbucketDatacenter {
    /// The verdict on one PR (`REQUIRE=mergeable`); a PR that is not open is not asked about.
    pub(super) async fn merge_verdict(&self, id: u64, state: Option<&str>) -> Result<MergeVerdict> {
        let state = state.unwrap_or("").to_ascii_uppercase();
        if state != "OPEN" {
            return Ok(MergeVerdict::not_open(id, &state));
        }
        let url = self.repo_url(&["pull-requests", &id.to_string(), "merge"]);
        match self.http.get(url).await {
            Ok(resp) => Ok(resp.json::<Mergeability>()?.verdict()),
            // Merged or declined since the list was read.
            Err(Error::Api { status: Some(409), .. }) => Ok(MergeVerdict::not_open(id, "no longer open")),
            Err(Error::Api {
                status: Some(404),
                message,
            }) => Err(self.pr_not_found(id, &message)),
            Err(e) => Err(refused(e, MERGE_NEEDS)),
        }
    }
}

// ---- MIN_APPROVALS=auto, FRESH_APPROVALS=auto, REQUIRED_BUILDS=auto ----

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
                crate::http::one_line(&v.as_ref().map(Value::to_string).unwrap_or_default(), 80)
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
                        crate::http::one_line(&v.to_string(), 80)
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

/// Data Center's branch patterns (Ant style): `?` one character and `*` any run of them within
/// a path segment, `**` any run of segments, a trailing `/` means `/**`, and the pattern needs
/// to match only a suffix (whole segments) of the full ref name `refs/heads/...`.
pub(super) fn ref_pattern(pattern: &str, full_ref: &str) -> bool {
    let mut p: Vec<&str> = pattern.trim().split('/').collect();
    if p.last() == Some(&"") {
        p.pop();
        p.push("**");
    }
    let s: Vec<&str> = full_ref.split('/').collect();
    (0..s.len()).any(|start| segments_match(&p, &s[start..]))
}

/// `**`-aware matching of segment lists, by dynamic programming (no backtracking blow-up on a
/// hostile pattern).
fn segments_match(p: &[&str], s: &[&str]) -> bool {
    // m[i][j]: p[i..] matches s[j..]
    let mut m = vec![vec![false; s.len() + 1]; p.len() + 1];
    m[p.len()][s.len()] = true;
    for i in (0..p.len()).rev() {
        for j in (0..=s.len()).rev() {
            m[i][j] = if p[i] == "**" {
                m[i + 1][j] || (j < s.len() && m[i][j + 1])
            } else {
                j < s.len() && m[i + 1][j + 1] && segment_match(p[i], s[j])
            };
        }
    }
    m[0][0]
}

/// `*` and `?` within one segment, by dynamic programming.
fn segment_match(p: &str, s: &str) -> bool {
    let p: Vec<char> = p.chars().collect();
    let s: Vec<char> = s.chars().collect();
    let mut m = vec![vec![false; s.len() + 1]; p.len() + 1];
    m[p.len()][s.len()] = true;
    for i in (0..p.len()).rev() {
        for j in (0..=s.len()).rev() {
            m[i][j] = match p[i] {
                '*' => m[i + 1][j] || (j < s.len() && m[i][j + 1]),
                '?' => j < s.len() && m[i + 1][j + 1],
                c => j < s.len() && s[j] == c && m[i + 1][j + 1],
            };
        }
    }
    m[0][0]
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
    pub(super) async fn read_rules(&self, needs: Needs) -> Result<RepoRules> {
        let settings = async {
            if !needs.settings() {
                return Ok(None);
            }
            let url = self.repo_url(&["settings", "pull-requests"]);
            match self.http.get(url).await {
                Ok(resp) => resp.json::<PrSettings>().map(Some),
                Err(Error::Api {
                    status: Some(404),
                    message,
                }) => Err(self.repo_not_found(&message, "its pull-request settings")),
                Err(e) => Err(refused(e, SETTINGS_NEEDS)),
            }
        };
        let builds = async {
            if !needs.builds {
                return Ok(None);
            }
            match self.pages::<BuildCondition>(self.conditions_url(), RULES_LIMIT).await {
                Ok(v) => Ok(Some(v)),
                Err(Error::Api {
                    status: Some(404),
                    message,
                }) => Err(Error::api(
                    Some(404),
                    format!(
                        "{}: the required-builds merge checks cannot be read (Data Center serves them since 7.14), \
                         so REQUIRED_BUILDS=auto cannot know which builds are required: list them in REQUIRED_BUILDS",
                        message.trim_end_matches('.')
                    ),
                )),
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

    fn repo_not_found(&self, message: &str, what: &str) -> Error {
        Error::api(
            Some(404),
            format!(
                "{}: {what} cannot be read; check BITBUCKET_PROJECT_KEY={} and BITBUCKET_REPO_SLUG={}",
                message.trim_end_matches('.'),
                self.project,
                self.slug
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_patterns_follow_data_center() {
        let full = |b: &str| format!("refs/heads/{b}");
        for (pattern, branch, want) in [
            ("*", "main", true),
            ("*", "feature/x", true),
            ("PROJECT-*", "stable/PROJECT-new", true),
            ("PROJECT-*", "PROJECT-1234", true),
            ("?.?", "stable/2.X", true),
            ("?.?", "1.10", false),
            ("heads/**/master", "master", true),
            ("heads/**/master", "stable/master", true),
            ("release/", "release/1.0/hotfix", true),
            ("release/*", "release/1.0", true),
            ("release/*", "release/1.0/hotfix", false),
            ("refs/heads/main", "main", true),
            ("main", "not-main", false),
            ("ster", "master", false),
        ] {
            assert_eq!(ref_pattern(pattern, &full(branch)), want, "{pattern} on {branch}");
        }
        // A hostile pattern is decided without blowing up.
        let hostile = "**/".repeat(40) + "x";
        assert!(!ref_pattern(&hostile, &format!("refs/heads/{}", "a/".repeat(60))));
    }

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

    #[test]
    fn verdicts() {
        let v = |j: Value| serde_json::from_value::<Mergeability>(j).unwrap().verdict();
        assert_eq!(
            v(serde_json::json!({"canMerge": true, "conflicted": false, "outcome": "CLEAN", "vetoes": []})).mergeable,
            Some(true)
        );
        let no = v(serde_json::json!({"canMerge": true, "conflicted": true, "outcome": "CONFLICTED", "vetoes": []}));
        assert_eq!((no.mergeable, no.vetoes[0].rule.as_str()), (Some(false), "conflicted"));
        let pending = v(serde_json::json!({"canMerge": false, "outcome": "UNKNOWN", "vetoes": []}));
        assert!(pending.pending && pending.mergeable.is_none());
        assert_eq!(v(serde_json::json!({"outcome": "CLEAN"})).mergeable, None);
    }
}
