//! `POST_RESULT`: the verdict as the status `pr-status` of the PR (docs/post-result.md), or of
//! the commit when no PR was found.

use reqwest::Method;
use serde_json::json;

use super::AzureDevops;
use crate::error::Result;
use crate::model::Outcome;
use crate::post::{self, Post, Verdict};

/// What posting a status needs, for a refusal.
const POST_NEEDS: &str = "a token that may write statuses: for SYSTEM_ACCESSTOKEN the build service identity needs \
                          \"Contribute to pull requests\" on the repository; AZURE_DEVOPS_PAT needs the Code (Status) scope \
                          (vso.code_status)";
/// The longest description kept.
const MAX_DESCRIPTION: usize = 255;

impl Post for AzureDevops {
    /// `POST .../pullrequests/{id}/statuses` (or `.../commits/{sha}/statuses`): state
    /// succeeded, failed or pending, context name `pr-status`.
    async fn post(&self, v: &Verdict) -> Result<()> {
        let state = match v.outcome {
            Outcome::Pass => "succeeded",
            Outcome::Fail => "failed",
            _ => "pending",
        };
        let mut body = json!({
            "state": state,
            "description": v.description(MAX_DESCRIPTION),
            "context": {"name": post::NAME},
        });
        if let Some(link) = &v.link {
            body["targetUrl"] = json!(link);
        }
        let url = match &v.pr {
            Some(pr) => self.repo_url(&["pullrequests", &pr.id.to_string(), "statuses"]),
            None => self.repo_url(&["commits", &v.commit, "statuses"]),
        };
        let resp = self
            .http
            .send(Method::POST, url, Some(("application/json", body.to_string())), None)
            .await
            .map_err(|e| post::refused(e, POST_NEEDS))?;
        self.accepted(resp).map_err(|e| post::refused(e, POST_NEEDS))?;
        Ok(())
    }
}
