//! `REQUIRE=mergeable` on Data Center: `GET .../pull-requests/{id}/merge`, the server's own
//! verdict (`canMerge`, `conflicted`, `outcome`, `vetoes`), one request per open PR, beside the
//! other per-PR reads (docs/rules-bitbucket-datacenter.md). It needs Repository read only.

use serde::Deserialize;

use super::BitbucketDatacenter;
use crate::error::{Error, Result};
use crate::model::{MergeVerdict, MergeVeto};

/// What a refusal of the verdict means, for the exit-3 message.
const MERGE_NEEDS: &str =
    "REQUIRE=mergeable reads each pull request's merge verdict (GET .../pull-requests/{id}/merge), \
                           which needs Repository read (REPO_READ): `mergeable` needs it";

/// A refusal (401/403) of a rules request says which setting needed it.
pub(super) fn refused(e: Error, needs: &str) -> Error {
    crate::http::add_hint(e, needs)
}

/// A PR that is not open: Data Center only judges open PRs (409), so none is asked for.
fn not_open(id: u64, state: &str) -> MergeVerdict {
    MergeVerdict::blocked(
        "not open",
        format!("pull request #{id} is {state}: only an open pull request can be merged"),
    )
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
            return Ok(not_open(id, &state));
        }
        let url = self.repo_url(&["pull-requests", &id.to_string(), "merge"]);
        match self.http.get(url).await {
            Ok(resp) => Ok(resp.json::<Mergeability>()?.verdict()),
            // Merged or declined since the list was read.
            Err(Error::Api { status: Some(409), .. }) => Ok(not_open(id, "no longer open")),
            // Deleted since the list was read, or the resource hidden by a proxy: unknown.
            Err(e @ Error::Api { status: Some(404), .. }) => Err(e.explain_404(|| {
                format!("the merge verdict of pull request #{id} cannot be read, so REQUIRE=mergeable cannot be judged")
            })),
            Err(e) => Err(refused(e, MERGE_NEEDS)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

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
