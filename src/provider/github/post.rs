//! `POST_RESULT`: the verdict as the commit status `pr-status` (docs/post-result.md).

use reqwest::Method;
use serde_json::json;

use super::Github;
use crate::error::Result;
use crate::model::Outcome;
use crate::post::{self, Post, Verdict};

/// What posting a commit status needs, for a refusal.
const POST_NEEDS: &str =
    "GITHUB_TOKEN with the permission `statuses: write` (in a workflow add it under `permissions:`; \
                          a fine-grained token needs Commit statuses: Read and write)";
/// GitHub's longest commit status description.
const MAX_DESCRIPTION: usize = 140;

impl Post for Github {
    /// `POST /repos/{owner}/{repo}/statuses/{sha}`: state success, failure or pending, context
    /// `pr-status`, the gate's message as the description, the CI run as the target.
    async fn post(&self, v: &Verdict) -> Result<()> {
        let state = match v.outcome {
            Outcome::Pass => "success",
            Outcome::Fail => "failure",
            _ => "pending",
        };
        let mut body = json!({
            "state": state,
            "context": post::NAME,
            "description": v.description(MAX_DESCRIPTION),
        });
        if let Some(link) = &v.link {
            body["target_url"] = json!(link);
        }
        let url = self.repo_url(&["statuses", &v.commit]);
        self.http
            .send(Method::POST, url, Some(("application/json", body.to_string())), None)
            .await
            .map_err(|e| post::refused(e, POST_NEEDS))?;
        Ok(())
    }
}

