//! `POST_RESULT`: the verdict as the commit status `pr-status` (docs/post-result.md).

use reqwest::Method;
use serde_json::json;

use crate::model::Outcome;
use crate::post::{self, Post, Verdict};

use super::Gitlab;
use crate::error::Result;

/// What posting a commit status needs, for a refusal.
const POST_NEEDS: &str = "GITLAB_TOKEN with the `api` scope (`read_api` cannot write) whose user has at least the \
                          Developer role in the project";
/// GitLab's longest `description`, `target_url` and `ref`.
const MAX_FIELD: usize = 255;

impl Post for Gitlab {
    /// `POST /projects/:id/statuses/:sha`: state success, failed or pending, name `pr-status`.
    /// Filed under the running pipeline when it runs for that commit (never counted by the
    /// gate), else on the MR's source branch.
    async fn post(&self, v: &Verdict) -> Result<()> {
        let state = match v.outcome {
            Outcome::Pass => "success",
            Outcome::Fail => "failed",
            _ => "pending",
        };
        let mut body = json!({
            "state": state,
            "name": post::NAME,
            "description": v.description(MAX_FIELD),
        });
        if let Some(link) = v.link.as_ref().filter(|l| l.len() <= MAX_FIELD) {
            body["target_url"] = json!(link);
        }
        match (
            &v.gitlab_pipeline_id,
            v.pr.as_ref().and_then(|p| p.source_branch.as_ref()),
        ) {
            (Some(id), _) => body["pipeline_id"] = json!(id.parse::<u64>().ok()),
            (None, Some(branch)) if branch.len() <= MAX_FIELD => body["ref"] = json!(branch),
            _ => {}
        }
        let url = self.project_url(&["statuses", &v.commit]);
        self.http
            .send(Method::POST, url, Some(("application/json", body.to_string())), None)
            .await
            .map_err(|e| post::refused(e, POST_NEEDS))?;
        Ok(())
    }
}
